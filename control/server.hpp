// The live proxies of one process (the proxy registry): each proxy's shared state and
// listener, the worker threads their sessions run on, start/stop as a whole, and the changes
// the control API makes at run time. Every method runs on the control io_context's thread
// (the API posts to it); sessions are reached by posting to their workers.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
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

namespace faultline::control {

// The relay's types this layer drives.
using proxy::compile_faults;
using proxy::FaultSet;
using proxy::Listener;
using proxy::ProxyState;
using proxy::Worker;
using proxy::WorkerOptions;
using proxy::WorkerPool;

// A proxy that could not start, e.g. `proxy "echo": cannot listen on 127.0.0.1:7000: Address
// already in use`.
class StartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A refused run-time change. The kind says why; the API maps it to a status (api/errors.hpp),
// the messages are Toxiproxy's ("proxy not found", "proxy already exists", ...).
enum class ControlErrorKind {
  not_found,  // no such proxy or fault
  conflict,   // the name is taken
  invalid,    // a bad value (a fault's attribute, a duplicate in a batch)
  failed,     // well-formed, but the system refused it (the port is taken)
};

class ControlError : public std::runtime_error {
 public:
  ControlError(ControlErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ControlErrorKind kind() const { return kind_; }

 private:
  ControlErrorKind kind_;
};

// Everything --check verifies beyond the loader: each fault's type and attributes.
void validate(const config::Config& config, const faults::FaultRegistry& registry);

// What the API shows of a proxy.
struct ProxyView {
  std::string name;
  std::string listen;  // the address actually bound (port 0 resolved), or as configured
  std::string upstream;
  bool enabled = true;
  std::vector<config::FaultSpec> faults;
  std::shared_ptr<ProxyState> state;  // counters
};

// A partial update: fields left empty keep their values.
struct ProxyPatch {
  std::optional<config::Endpoint> listen;
  std::optional<config::Endpoint> upstream;
  std::optional<bool> enabled;
};

class Server {
 public:
  Server(asio::io_context& control, const faults::FaultRegistry& registry, std::size_t threads,
         WorkerOptions options = {});
  ~Server();

  // Opens every enabled proxy's listener, or none: on the first failure the ones already
  // opened are closed again and StartError names the proxy.
  void start(const config::Config& config);
  // Stops accepting, ends every connection (FIN) and stops the workers within `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));

  const faults::FaultRegistry& registry() const { return registry_; }
  asio::io_context& control() { return control_; }
  std::uint64_t seed() const { return seed_; }
  // The worker threads (an embedded proxy learns them to keep its log lines apart).
  WorkerPool& workers() { return workers_; }
  std::shared_ptr<ProxyState> proxy(const std::string& name) const;
  std::vector<std::shared_ptr<ProxyState>> proxies() const;
  // The address actually bound (port 0 resolved); throws std::out_of_range for an unknown
  // or disabled proxy.
  asio::ip::tcp::endpoint listen_endpoint(const std::string& name) const;

  // Run-time changes (the control API). Each is all-or-nothing and throws ControlError.
  std::vector<ProxyView> views() const;
  ProxyView view(const std::string& name) const;
  ProxyView create_proxy(config::ProxyConfig config);
  ProxyView update_proxy(const std::string& name, const ProxyPatch& patch);
  void delete_proxy(const std::string& name);
  // Creates new proxies, keeps those whose listen and upstream are unchanged (with their
  // faults and connections), replaces the others; every entry is checked before any change.
  std::vector<ProxyView> populate(std::vector<config::ProxyConfig> configs);
  // Replaces a proxy's whole fault list; open connections move to it before their next chunk.
  void set_faults(const std::string& name, std::vector<config::FaultSpec> faults);
  // Every proxy enabled, every fault removed.
  void reset();
  // Applies a whole new config (reload): proxies whose listen and upstream are unchanged keep
  // their connections.
  void apply(const config::Config& config);

 private:
  struct Proxy {
    std::shared_ptr<ProxyState> state;
    std::shared_ptr<Listener> listener;  // null while disabled
    bool enabled = true;
  };

  Proxy& find(const std::string& name);
  const Proxy& find(const std::string& name) const;
  ProxyView view_of(const Proxy& p) const;
  // Opens (binds) a listener for the state; throws StartError.
  std::shared_ptr<Listener> open_listener(const std::shared_ptr<ProxyState>& state);
  void start_listener(Proxy& p);
  // Ends every session of the proxy with a FIN (on their workers).
  void end_sessions(const std::shared_ptr<ProxyState>& state);
  void close(Proxy& p);
  std::shared_ptr<const FaultSet> compile(const std::vector<config::FaultSpec>& faults) const;

  asio::io_context& control_;
  const faults::FaultRegistry& registry_;
  WorkerPool workers_;
  std::uint64_t seed_ = 0;
  std::map<std::string, Proxy> proxies_;
  bool stopped_ = false;
};

// Re-reads `path` and applies it to the running proxies (call on the control thread): proxies
// whose listen and upstream are unchanged keep their connections and get the new faults. A bad
// file changes nothing: config::ConfigError (FILE:LINE:COL: field: expected) is logged and
// rethrown. Returns a one-line summary.
std::string reload_config(Server& server, const std::string& path);

}  // namespace faultline::control
