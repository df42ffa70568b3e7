// Accepts a proxy's clients and hands each socket to a worker, where its Session runs.
#pragma once

#include <chrono>
#include <memory>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "proxy/proxy_state.hpp"

namespace faultline::proxy {

class WorkerPool;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& context, WorkerPool& workers, std::shared_ptr<ProxyState> proxy);

  // Binds and listens; throws std::system_error (the caller names the proxy).
  void open();
  void start();  // the accept loop, on the control io_context
  void close();  // stops accepting; sessions already running are not touched

  asio::ip::tcp::endpoint local_endpoint() const;

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& context_;
  WorkerPool& workers_;
  std::shared_ptr<ProxyState> proxy_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::endpoint bound_;
  std::chrono::steady_clock::time_point last_accept_error_log_{};
};

}  // namespace faultline::proxy
