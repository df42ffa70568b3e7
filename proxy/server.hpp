// The live proxies of one process (the proxy registry): each proxy's shared state and
// listener, the worker threads their sessions run on, and start/stop as a whole.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "proxy/listener.hpp"
#include "proxy/proxy_state.hpp"
#include "proxy/worker_pool.hpp"

namespace faultline::proxy {

// A proxy that could not start, e.g. `proxy "echo": cannot listen on 127.0.0.1:7000: Address
// already in use`.
class StartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Compiles a proxy's fault specs through the registry; throws config::ConfigError.
std::shared_ptr<const FaultSet> compile_faults(const std::vector<config::FaultSpec>& specs,
                                               const faults::FaultRegistry& registry);

// Everything --check verifies beyond the loader: each fault's type and attributes.
void validate(const config::Config& config, const faults::FaultRegistry& registry);

class Server {
 public:
  // `control` runs the listeners (and later the API) on the caller's thread.
  Server(asio::io_context& control, const faults::FaultRegistry& registry, std::size_t threads);
  ~Server();

  // Opens every enabled proxy's listener, or none: on the first failure the ones already
  // opened are closed again and StartError names the proxy.
  void start(const config::Config& config);
  // Stops accepting, ends every connection (FIN) and stops the workers within `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

  std::uint64_t seed() const { return seed_; }
  std::shared_ptr<ProxyState> proxy(const std::string& name) const;
  std::vector<std::shared_ptr<ProxyState>> proxies() const;
  // The address actually bound (port 0 resolved); throws std::out_of_range for an unknown
  // or disabled proxy.
  asio::ip::tcp::endpoint listen_endpoint(const std::string& name) const;

 private:
  struct Proxy {
    std::shared_ptr<ProxyState> state;
    std::shared_ptr<Listener> listener;  // null while disabled
  };

  asio::io_context& control_;
  const faults::FaultRegistry& registry_;
  WorkerPool workers_;
  std::uint64_t seed_ = 0;
  std::map<std::string, Proxy> proxies_;
  bool stopped_ = false;
};

}  // namespace faultline::proxy
