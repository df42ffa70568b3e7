// The control API: Toxiproxy's HTTP API (proxies, toxics, populate, reset, version) plus
// /metrics and /reload, served by cpp-httplib on its own threads. Every change is handed to the
// Server on its control io_context thread (posted, then awaited), so the relay never waits on
// HTTP and HTTP never races the relay. See docs/api.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "api/errors.hpp"
#include "control/server.hpp"

namespace faultline::api {

using control::Server;

// What GET /version reports: the Toxiproxy release whose API this one follows. A plain
// semantic version, so that every client parses it (see docs/api.md).
inline constexpr const char* kToxiproxyApiVersion = "2.12.0";

struct ApiOptions {
  config::Endpoint listen{"127.0.0.1", 8474};  // port 0: the kernel chooses (see port())
  std::string token;                           // when set, every request must carry it
  std::string config_path;        // what POST /reload re-reads; empty: nothing to reload
  std::string version = "0.0.0";  // Faultline's own, for /version and /metrics
  std::size_t threads = 8;        // HTTP threads started at once
  // More start while every thread is busy, up to this many: a connection holds a thread for
  // as long as it is open (httplib's read timeout is per recv, so a client trickling a byte now
  // and then holds it for ever), and stalled clients must not starve the others.
  std::size_t max_threads = 128;
  std::size_t max_body = 1 << 20;                   // larger request bodies get 413
  std::chrono::milliseconds control_timeout{5000};  // waiting for the control thread: 503
};

class ApiServer {
 public:
  ApiServer(Server& server, ApiOptions options);
  ~ApiServer();  // stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds, logs the address (and a warning when it is reachable from other machines), and
  // serves on its own threads. Throws StartError when the address cannot be bound.
  void start();
  // Stops accepting and waits for the HTTP threads; requests waiting on the control thread
  // are answered 503 at once. Safe to call from the control thread.
  void stop();

  std::uint16_t port() const;   // the bound port (after start)
  std::string address() const;  // "127.0.0.1:8474"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True for 127.0.0.0/8, ::1 and "localhost": addresses other machines cannot reach.
bool is_loopback_host(const std::string& host);

}  // namespace faultline::api
