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
#include <string_view>
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
  std::string listen;  // where it listens: once bound, the bound address (port 0 resolved),
                       // kept while disabled
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

// One entry of populate(): a proxy, and whether its fault list is given (a kept proxy then
// gets exactly those faults) or not (a kept proxy keeps its own).
struct PopulateEntry {
  config::ProxyConfig config;
  bool faults_given = false;
};

// How faultline's own command line gives a drawn seed back ({} is the seed).
inline constexpr std::string_view kConfigFileSeedHint = "put `seed: {}` in the config file";

// Run-time changes are all-or-nothing: each is prepared whole (faults compiled, every new
// listener bound) before anything live changes, then committed whole; a refused change throws
// ControlError and leaves every proxy, listener, fault and connection as it was.
//
// A proxy keeps its address for its life: a listen of port 0 becomes the port the kernel gave
// (written back, as Toxiproxy does), and re-enabling, reset and a new upstream listen there
// again. A listen equal to the proxy's address or to the one it first asked for is no move;
// only another one moves it.
//
// An address given up by the same change (a proxy moved, replaced, disabled or removed) cannot
// be bound before the old listener closes: such a bind waits for the commit, which closes the
// old listeners first (SO_REUSEADDR lets the port be bound again at once, connections on it
// included), then binds. If that bind fails the commit rolls back: the new listeners close and
// the old proxies listen again on their addresses (their listener faults start over, and
// clients queued unaccepted in the closed listeners' backlog were reset).
class Server {
 public:
  Server(asio::io_context& control, const faults::FaultRegistry& registry, std::size_t threads,
         WorkerOptions options = {});
  ~Server();

  // Opens every enabled proxy's listener, or none: on the first failure the ones already
  // opened are closed again and StartError names the proxy. Without a seed in `config` one is
  // drawn and logged with `seed_hint`, how this command line gives it back ({} is the seed).
  void start(const config::Config& config, std::string_view seed_hint = kConfigFileSeedHint);
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

  // Run-time changes (the control API). Each is all-or-nothing and throws ControlError:
  // not_found (no such proxy or fault), conflict (the name is taken), invalid (a fault that
  // does not compile, a duplicate in a batch), failed (an address cannot be bound).
  std::vector<ProxyView> views() const;
  ProxyView view(const std::string& name) const;

  // One proxy.
  ProxyView create_proxy(config::ProxyConfig config);
  // A new listen or upstream makes a new proxy behind the same name: its connections end, its
  // faults stay. Disabling closes the listener and ends the connections.
  ProxyView update_proxy(const std::string& name, const ProxyPatch& patch);
  void delete_proxy(const std::string& name);
  // Creates new proxies, keeps those whose listen and upstream are unchanged (with their
  // faults and connections, and exactly the given faults when an entry gives them), replaces
  // the others; proxies not listed stay.
  std::vector<ProxyView> populate(std::vector<PopulateEntry> entries);

  // One fault of a proxy, by name. Open connections move to the new fault list before their
  // next chunk. A fault that does not compile is `invalid`, with "<attribute>: <expected>".
  config::FaultSpec fault(const std::string& proxy, const std::string& name) const;
  void add_fault(const std::string& proxy, config::FaultSpec fault);
  void update_fault(const std::string& proxy, const std::string& name, config::FaultSpec fault);
  void remove_fault(const std::string& proxy, const std::string& name);
  // A proxy's whole fault list at once.
  void set_faults(const std::string& name, std::vector<config::FaultSpec> faults);

  // Every proxy enabled, every fault removed.
  void reset();
  // Applies a whole new config (reload): proxies whose listen, upstream and connection
  // settings are unchanged keep their connections and get the new faults; the others are
  // replaced, and proxies the config no longer lists are removed.
  void apply(const config::Config& config);

 private:
  struct Proxy {
    std::shared_ptr<ProxyState> state;
    std::shared_ptr<Listener> listener;  // null while disabled
    config::Endpoint listen;             // see ProxyView::listen
    bool enabled = true;
  };

  // A change being prepared: the proxies as they will be, and the kept proxies whose fault
  // set changes. An entry that is enabled without a listener gets a new one.
  struct Change {
    std::map<std::string, Proxy> next;
    std::map<std::string, std::shared_ptr<const FaultSet>> faults;
  };

  Proxy& find(const std::string& name);
  const Proxy& find(const std::string& name) const;
  ProxyView view_of(const Proxy& p) const;
  // Whether `listen` names the proxy's address (as bound, or as first asked for).
  static bool same_listen(const Proxy& p, const config::Endpoint& listen);
  // A new proxy behind a name: its own state (counters start at 0), no listener yet.
  Proxy fresh(const config::ProxyConfig& config, std::shared_ptr<const FaultSet> faults,
              const config::Endpoint& listen) const;
  Change begin() const { return Change{proxies_, {}}; }
  // Binds what the change needs and makes it live, or throws ControlError (failed) and
  // leaves everything as it was. See the class comment.
  void commit(Change change);
  // Opens (binds) a listener for the proxy at its address, which becomes the bound one.
  std::shared_ptr<Listener> open_listener(Proxy& p);
  void start_listener(const std::string& name, Proxy& p);
  // Ends every session of the proxy with a FIN (on their workers).
  void end_sessions(const std::shared_ptr<ProxyState>& state);
  // The proxy's fault set was swapped: its sessions and (when it keeps it) its listener follow.
  void faults_changed(Proxy& p, bool restart_listener);
  std::shared_ptr<const FaultSet> compile(const std::vector<config::FaultSpec>& faults) const;
  // One fault's list, checked: the fault alone names what is wrong with it.
  std::shared_ptr<const FaultSet> compile_edit(const std::vector<config::FaultSpec>& faults,
                                               const config::FaultSpec& edited) const;
  // Refuses (ControlError invalid) a change after which a proxy would dial itself, directly or
  // through others (config::find_loop), at the addresses it listens on (bound, or asked for).
  void refuse_loops(const std::map<std::string, Proxy>& next) const;

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
// rethrown; so does a file whose listeners cannot all be bound (ControlError, failed).
// Returns a one-line summary.
std::string reload_config(Server& server, const std::string& path);

}  // namespace faultline::control
