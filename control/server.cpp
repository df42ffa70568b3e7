#include "control/server.hpp"

#include <algorithm>
#include <random>
#include <set>

#include <asio/post.hpp>
#include <fmt/format.h>

#include "config/loops.hpp"
#include "proxy/logging.hpp"
#include "proxy/session.hpp"

using faultline::proxy::log_proxy;
using faultline::proxy::Session;

namespace faultline::control {

namespace {

std::vector<config::FaultSpec> specs_of(const FaultSet& set) {
  std::vector<config::FaultSpec> out;
  for (const auto& f : set.faults)
    out.push_back(f.spec);
  return out;
}

std::vector<config::FaultSpec>::iterator find_spec(std::vector<config::FaultSpec>& specs,
                                                   const std::string& name) {
  return std::find_if(specs.begin(), specs.end(), [&](const auto& f) { return f.name == name; });
}

}  // namespace

void validate(const config::Config& config, const faults::FaultRegistry& registry) {
  for (const auto& p : config.proxies)
    compile_faults(p.faults, registry);
}

Server::Server(asio::io_context& control, const faults::FaultRegistry& registry,
               std::size_t threads, WorkerOptions options)
    : control_(control), registry_(registry), workers_(threads, options) {}

Server::~Server() {
  stop();
}

std::shared_ptr<const FaultSet> Server::compile(
    const std::vector<config::FaultSpec>& faults) const {
  try {
    return compile_faults(faults, registry_);
  } catch (const config::ConfigError& e) {
    throw ControlError(ControlErrorKind::invalid, e.what());
  }
}

void Server::refuse_loops(const std::map<std::string, Proxy>& next) const {
  std::vector<config::LoopNode> nodes;
  for (const auto& [name, p] : next)
    nodes.push_back({name, p.listen, p.state->config().upstream});
  if (auto loop = config::find_loop(nodes)) {
    throw ControlError(
        ControlErrorKind::invalid,
        fmt::format("proxy \"{}\": upstream: {}", nodes[loop->proxy].name, loop->message));
  }
}

std::shared_ptr<const FaultSet> Server::compile_edit(const std::vector<config::FaultSpec>& faults,
                                                     const config::FaultSpec& edited) const {
  try {
    registry_.compile(edited);
  } catch (const config::ConfigError& e) {
    // The attribute as the caller named it, without the YAML place the spec came from.
    std::string field = e.field();
    if (!edited.field.empty() && field.rfind(edited.field + ".", 0) == 0) {
      field = field.substr(edited.field.size() + 1);
    }
    throw ControlError(ControlErrorKind::invalid,
                       field.empty() ? e.expected() : fmt::format("{}: {}", field, e.expected()));
  }
  return compile(faults);
}

bool Server::same_listen(const Proxy& p, const config::Endpoint& listen) {
  return listen == p.listen || listen == p.state->config().listen;
}

Server::Proxy Server::fresh(const config::ProxyConfig& config,
                            std::shared_ptr<const FaultSet> faults,
                            const config::Endpoint& listen) const {
  return Proxy{std::make_shared<ProxyState>(config, seed_, std::move(faults)), nullptr, listen,
               config.enabled};
}

std::shared_ptr<Listener> Server::open_listener(Proxy& p) {
  auto listener = std::make_shared<Listener>(control_, workers_, p.state);
  listener->open(p.listen);  // throws std::system_error
  auto ep = listener->local_endpoint();
  p.listen = config::Endpoint{ep.address().to_string(), ep.port()};
  return listener;
}

void Server::start_listener(const std::string& name, Proxy& p) {
  p.listener->start();
  auto ep = p.listener->local_endpoint();
  auto faults = p.state->faults()->faults.size();
  const config::Endpoint bound{ep.address().to_string(), ep.port()};  // [v6]:port
  log_proxy().info("proxy {} listening on {} -> upstream {} ({} fault{})", name, bound.to_string(),
                   p.state->config().upstream.to_string(), faults, faults == 1 ? "" : "s");
}

void Server::start(const config::Config& config, std::string_view seed_hint) {
  seed_ = config.seed_given ? config.seed : std::random_device{}();
  if (!config.seed_given) {
    log_proxy().info("no seed given; using seed {} (to replay: {})", seed_,
                     fmt::format(fmt::runtime(seed_hint), seed_));
  }
  std::map<std::string, Proxy> opened;
  for (const auto& pc : config.proxies) {
    Proxy proxy = fresh(pc, compile_faults(pc.faults, registry_), pc.listen);
    if (pc.enabled) {
      try {
        proxy.listener = open_listener(proxy);
      } catch (const std::system_error& e) {
        for (auto& [name, p] : opened) {
          if (p.listener) p.listener->close();
        }
        throw StartError(fmt::format("proxy \"{}\": cannot listen on {}: {}", pc.name,
                                     pc.listen.to_string(), e.code().message()));
      }
    }
    opened.emplace(pc.name, std::move(proxy));
  }
  for (auto& [name, p] : opened) {
    if (p.listener) {
      start_listener(name, p);
    } else {
      log_proxy().info("proxy {} is disabled", name);
    }
  }
  proxies_ = std::move(opened);
}

void Server::stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [name, p] : proxies_) {
    if (p.listener) p.listener->close();
  }
  workers_.shutdown(grace);
}

Server::Proxy& Server::find(const std::string& name) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) throw ControlError(ControlErrorKind::not_found, "proxy not found");
  return it->second;
}

const Server::Proxy& Server::find(const std::string& name) const {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) throw ControlError(ControlErrorKind::not_found, "proxy not found");
  return it->second;
}

std::shared_ptr<ProxyState> Server::proxy(const std::string& name) const {
  auto it = proxies_.find(name);
  return it == proxies_.end() ? nullptr : it->second.state;
}

std::vector<std::shared_ptr<ProxyState>> Server::proxies() const {
  std::vector<std::shared_ptr<ProxyState>> out;
  for (const auto& [name, p] : proxies_)
    out.push_back(p.state);
  return out;
}

asio::ip::tcp::endpoint Server::listen_endpoint(const std::string& name) const {
  const Proxy& p = proxies_.at(name);
  if (!p.listener) throw std::out_of_range("proxy " + name + " is disabled");
  return p.listener->local_endpoint();
}

ProxyView Server::view_of(const Proxy& p) const {
  ProxyView v;
  v.name = p.state->name();
  v.listen = p.listen.to_string();
  v.upstream = p.state->config().upstream.to_string();
  v.enabled = p.enabled;
  v.faults = specs_of(*p.state->faults());
  v.state = p.state;
  return v;
}

std::vector<ProxyView> Server::views() const {
  std::vector<ProxyView> out;
  for (const auto& [name, p] : proxies_)
    out.push_back(view_of(p));
  return out;
}

ProxyView Server::view(const std::string& name) const {
  return view_of(find(name));
}

void Server::end_sessions(const std::shared_ptr<ProxyState>& state) {
  for (auto& w : workers_.workers()) {
    Worker* worker = w.get();
    asio::post(worker->context(), [worker, state] {
      worker->for_each_session([&](Session& s) {
        if (&s.proxy() == state.get()) s.shutdown();
      });
    });
  }
}

void Server::faults_changed(Proxy& p, bool restart_listener) {
  if (restart_listener) p.listener->restart_faults();
  for (auto& w : workers_.workers()) {
    Worker* worker = w.get();
    asio::post(worker->context(), [worker, state = p.state] {
      worker->for_each_session([&](Session& s) {
        if (&s.proxy() == state.get()) s.faults_changed();
      });
    });
  }
}

void Server::commit(Change change) {
  auto& next = change.next;
  refuse_loops(next);
  // What the change gives up: listeners the new state does not keep, and the connections of
  // proxies that are replaced, removed or disabled.
  std::set<const Listener*> kept;
  std::set<const ProxyState*> live;
  for (const auto& [name, p] : next) {
    if (p.listener) kept.insert(p.listener.get());
    if (p.enabled) live.insert(p.state.get());
  }
  std::vector<std::string> released;  // names in proxies_
  std::set<std::uint16_t> released_ports;
  for (const auto& [name, p] : proxies_) {
    if (p.listener && !kept.count(p.listener.get())) {
      released.push_back(name);
      released_ports.insert(p.listener->local_endpoint().port());
    }
  }

  // Prepare: bind every new listener that can be bound while the old ones still listen.
  std::vector<std::string> opened, deferred;
  auto close_opened = [&] {
    for (const auto& name : opened) {
      next[name].listener->close();
      next[name].listener.reset();
    }
  };
  auto refuse = [&](const std::string& name, const config::Endpoint& at,
                    const std::system_error& e) {
    close_opened();
    return ControlError(ControlErrorKind::failed,
                        fmt::format("proxy \"{}\": cannot listen on {}: {}", name, at.to_string(),
                                    e.code().message()));
  };
  for (auto& [name, p] : next) {
    if (!p.enabled || p.listener) continue;
    const config::Endpoint at = p.listen;
    try {
      p.listener = open_listener(p);
      opened.push_back(name);
    } catch (const std::system_error& e) {
      if (e.code() == asio::error::address_in_use && released_ports.count(at.port)) {
        deferred.push_back(name);  // bound in the commit, once the old listener closed
      } else {
        throw refuse(name, at, e);
      }
    }
  }

  // Commit. Only the deferred binds can still fail: on failure, roll back.
  for (const auto& name : released)
    proxies_[name].listener->close();
  for (const auto& name : deferred) {
    Proxy& p = next[name];
    const config::Endpoint at = p.listen;
    try {
      p.listener = open_listener(p);
      opened.push_back(name);
    } catch (const std::system_error& e) {
      ControlError error = refuse(name, at, e);
      for (const auto& old_name : released) {
        Proxy& old = proxies_[old_name];
        try {
          old.listener = open_listener(old);
          start_listener(old_name, old);
        } catch (const std::system_error& again) {
          // Someone else took the port in between: say so, the proxy is off.
          old.listener.reset();
          old.enabled = false;
          log_proxy().error("proxy {}: cannot listen again on {}: {}; it is disabled", old_name,
                            old.listen.to_string(), again.code().message());
        }
      }
      throw error;
    }
  }
  for (auto& [name, set] : change.faults) {
    Proxy& p = next[name];
    p.state->set_faults(set);
    faults_changed(p, kept.count(p.listener.get()) != 0);  // a new listener starts them itself
  }
  for (const auto& [name, p] : proxies_) {
    if (p.enabled && !live.count(p.state.get())) end_sessions(p.state);
  }
  for (const auto& name : opened)
    start_listener(name, next[name]);
  proxies_ = std::move(next);
}

ProxyView Server::create_proxy(config::ProxyConfig pc) {
  if (proxies_.count(pc.name))
    throw ControlError(ControlErrorKind::conflict, "proxy already exists");
  Change change = begin();
  change.next.emplace(pc.name, fresh(pc, compile(pc.faults), pc.listen));
  commit(std::move(change));
  log_proxy().info("proxy {} created", pc.name);
  return view_of(proxies_.at(pc.name));
}

ProxyView Server::update_proxy(const std::string& name, const ProxyPatch& patch) {
  const Proxy& current = find(name);
  config::ProxyConfig pc = current.state->config();
  config::Endpoint listen = current.listen;
  bool moved = false;
  if (patch.listen && !same_listen(current, *patch.listen)) {
    pc.listen = listen = *patch.listen;
    moved = true;
  }
  if (patch.upstream && !(*patch.upstream == pc.upstream)) {
    pc.upstream = *patch.upstream;
    moved = true;
  }
  const bool enabled = patch.enabled.value_or(current.enabled);
  if (!moved && enabled == current.enabled) return view_of(current);

  Change change = begin();
  Proxy& p = change.next.at(name);
  if (moved) {
    // A new address is a new proxy behind the same name: its connections end, its faults stay.
    pc.faults = specs_of(*current.state->faults());
    pc.enabled = enabled;
    p = fresh(pc, current.state->faults(), listen);
  } else {
    p.enabled = enabled;
    if (!enabled) p.listener.reset();
  }
  commit(std::move(change));
  const Proxy& now = proxies_.at(name);
  if (moved) {
    log_proxy().info("proxy {} now {} -> {}", name, now.listen.to_string(),
                     pc.upstream.to_string());
  } else if (!enabled) {
    log_proxy().info("proxy {} disabled: listener closed, connections ended", name);
  }
  return view_of(now);
}

void Server::delete_proxy(const std::string& name) {
  find(name);
  Change change = begin();
  change.next.erase(name);
  commit(std::move(change));
  log_proxy().info("proxy {} deleted", name);
}

std::vector<ProxyView> Server::populate(std::vector<PopulateEntry> entries) {
  // Check everything first: a bad entry changes nothing.
  Change change = begin();
  std::set<std::string> seen;
  std::vector<std::string> created;
  for (const auto& e : entries) {
    const config::ProxyConfig& pc = e.config;
    if (!seen.insert(pc.name).second) {
      throw ControlError(ControlErrorKind::invalid,
                         fmt::format("duplicate proxy name in populate: {}", pc.name));
    }
    auto set = compile(pc.faults);
    auto it = change.next.find(pc.name);
    if (it != change.next.end() && same_listen(it->second, pc.listen) &&
        it->second.state->config().upstream == pc.upstream) {
      // Unchanged: keeps its faults (unless given) and its connections.
      if (e.faults_given) change.faults[pc.name] = set;
      continue;
    }
    config::Endpoint listen = it != change.next.end() && same_listen(it->second, pc.listen)
                                  ? it->second.listen
                                  : pc.listen;
    change.next.insert_or_assign(pc.name, fresh(pc, set, listen));
    created.push_back(pc.name);
  }
  commit(std::move(change));
  for (const auto& name : created)
    log_proxy().info("proxy {} created", name);
  std::vector<ProxyView> out;
  for (const auto& e : entries)
    out.push_back(view_of(proxies_.at(e.config.name)));
  return out;
}

config::FaultSpec Server::fault(const std::string& proxy, const std::string& name) const {
  for (const auto& f : find(proxy).state->faults()->faults) {
    if (f.spec.name == name) return f.spec;
  }
  throw ControlError(ControlErrorKind::not_found, "toxic not found");
}

void Server::add_fault(const std::string& proxy, config::FaultSpec fault) {
  auto specs = specs_of(*find(proxy).state->faults());
  if (find_spec(specs, fault.name) != specs.end())
    throw ControlError(ControlErrorKind::conflict, "toxic already exists");
  specs.push_back(fault);
  Change change = begin();
  change.faults[proxy] = compile_edit(specs, fault);
  commit(std::move(change));
}

void Server::update_fault(const std::string& proxy, const std::string& name,
                          config::FaultSpec fault) {
  auto specs = specs_of(*find(proxy).state->faults());
  auto it = find_spec(specs, name);
  if (it == specs.end()) throw ControlError(ControlErrorKind::not_found, "toxic not found");
  fault.name = name;
  *it = fault;
  Change change = begin();
  change.faults[proxy] = compile_edit(specs, fault);
  commit(std::move(change));
}

void Server::remove_fault(const std::string& proxy, const std::string& name) {
  auto specs = specs_of(*find(proxy).state->faults());
  auto it = find_spec(specs, name);
  if (it == specs.end()) throw ControlError(ControlErrorKind::not_found, "toxic not found");
  specs.erase(it);
  Change change = begin();
  change.faults[proxy] = compile(specs);
  commit(std::move(change));
}

void Server::set_faults(const std::string& name, std::vector<config::FaultSpec> specs) {
  find(name);
  Change change = begin();
  change.faults[name] = compile(specs);
  commit(std::move(change));
}

void Server::reset() {
  Change change = begin();
  for (auto& [name, p] : change.next) {
    if (!p.state->faults()->faults.empty()) change.faults[name] = compile({});
    p.enabled = true;
  }
  commit(std::move(change));
}

void Server::apply(const config::Config& config) {
  Change change = begin();
  std::set<std::string> wanted;
  for (const auto& pc : config.proxies)
    wanted.insert(pc.name);
  std::vector<std::string> removed;
  for (auto it = change.next.begin(); it != change.next.end();) {
    if (wanted.count(it->first)) {
      ++it;
    } else {
      removed.push_back(it->first);
      it = change.next.erase(it);
    }
  }
  for (const auto& pc : config.proxies) {
    auto set = compile(pc.faults);
    auto it = change.next.find(pc.name);
    if (it == change.next.end()) {
      change.next.emplace(pc.name, fresh(pc, set, pc.listen));
      continue;
    }
    Proxy& p = it->second;
    const auto& old = p.state->config();
    const bool here = same_listen(p, pc.listen);
    if (here && old.upstream == pc.upstream && old.connect_timeout == pc.connect_timeout &&
        old.on_upstream_failure == pc.on_upstream_failure) {
      change.faults[pc.name] = set;
      p.enabled = pc.enabled;
      if (!p.enabled) p.listener.reset();
    } else {
      p = fresh(pc, set, here ? p.listen : pc.listen);
    }
  }
  commit(std::move(change));
  for (const auto& name : removed)
    log_proxy().info("proxy {} removed by reload", name);
}

}  // namespace faultline::control
