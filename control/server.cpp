#include "control/server.hpp"

#include <random>

#include <asio/post.hpp>
#include <fmt/format.h>

#include "proxy/logging.hpp"
#include "proxy/session.hpp"

using faultline::proxy::log_proxy;
using faultline::proxy::Session;

namespace faultline::control {

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

std::shared_ptr<Listener> Server::open_listener(const std::shared_ptr<ProxyState>& state) {
  auto listener = std::make_shared<Listener>(control_, workers_, state);
  try {
    listener->open();
  } catch (const std::system_error& e) {
    throw StartError(fmt::format("proxy \"{}\": cannot listen on {}: {}", state->name(),
                                 state->config().listen.to_string(), e.code().message()));
  }
  return listener;
}

void Server::start_listener(Proxy& p) {
  p.listener->start();
  auto ep = p.listener->local_endpoint();
  auto faults = p.state->faults()->faults.size();
  log_proxy().info("proxy {} listening on {}:{} -> upstream {} ({} fault{})", p.state->name(),
                   ep.address().to_string(), ep.port(), p.state->config().upstream.to_string(),
                   faults, faults == 1 ? "" : "s");
}

void Server::start(const config::Config& config) {
  seed_ = config.seed_given ? config.seed : std::random_device{}();
  if (!config.seed_given) {
    log_proxy().info("no seed in the config; using seed {} (put `seed: {}` in the file to replay)",
                     seed_, seed_);
  }
  std::map<std::string, Proxy> opened;
  for (const auto& pc : config.proxies) {
    Proxy proxy{std::make_shared<ProxyState>(pc, seed_, compile_faults(pc.faults, registry_)),
                nullptr, pc.enabled};
    if (pc.enabled) {
      try {
        proxy.listener = open_listener(proxy.state);
      } catch (const StartError&) {
        for (auto& [name, p] : opened) {
          if (p.listener) p.listener->close();
        }
        throw;
      }
    }
    opened.emplace(pc.name, std::move(proxy));
  }
  for (auto& [name, p] : opened) {
    if (p.listener) {
      start_listener(p);
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
  v.listen = p.state->config().listen.to_string();
  if (p.listener) {
    auto ep = p.listener->local_endpoint();
    config::Endpoint bound{ep.address().to_string(), ep.port()};
    v.listen = bound.to_string();
  }
  v.upstream = p.state->config().upstream.to_string();
  v.enabled = p.enabled;
  for (const auto& f : p.state->faults()->faults)
    v.faults.push_back(f.spec);
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

void Server::close(Proxy& p) {
  if (p.listener) p.listener->close();
  p.listener.reset();
  end_sessions(p.state);
}

ProxyView Server::create_proxy(config::ProxyConfig pc) {
  if (proxies_.count(pc.name))
    throw ControlError(ControlErrorKind::conflict, "proxy already exists");
  Proxy p{std::make_shared<ProxyState>(pc, seed_, compile(pc.faults)), nullptr, pc.enabled};
  if (pc.enabled) {
    try {
      p.listener = open_listener(p.state);
    } catch (const StartError& e) {
      throw ControlError(ControlErrorKind::failed, e.what());
    }
    start_listener(p);
  }
  log_proxy().info("proxy {} created", pc.name);
  auto& stored = proxies_[pc.name] = std::move(p);
  return view_of(stored);
}

ProxyView Server::update_proxy(const std::string& name, const ProxyPatch& patch) {
  Proxy& p = find(name);
  config::ProxyConfig pc = p.state->config();
  bool moved = false;
  if (patch.listen && !(*patch.listen == pc.listen)) {
    pc.listen = *patch.listen;
    moved = true;
  }
  if (patch.upstream && !(*patch.upstream == pc.upstream)) {
    pc.upstream = *patch.upstream;
    moved = true;
  }
  const bool enabled = patch.enabled.value_or(p.enabled);
  if (moved) {
    // A new address is a new proxy behind the same name: its connections end, its faults stay.
    pc.faults.clear();
    for (const auto& f : p.state->faults()->faults)
      pc.faults.push_back(f.spec);
    auto state = std::make_shared<ProxyState>(pc, seed_, p.state->faults());
    std::shared_ptr<Listener> listener;
    if (enabled) {
      if (p.listener && pc.listen == p.state->config().listen) p.listener->close();
      try {
        listener = open_listener(state);
      } catch (const StartError& e) {
        throw ControlError(ControlErrorKind::failed, e.what());
      }
    }
    close(p);
    p.state = state;
    p.listener = listener;
    p.enabled = enabled;
    if (p.listener) start_listener(p);
    log_proxy().info("proxy {} now {} -> {}", name, pc.listen.to_string(), pc.upstream.to_string());
  } else if (enabled != p.enabled) {
    if (enabled) {
      // Listen again where it listened before (the same port, even if the config said 0).
      std::shared_ptr<Listener> listener;
      try {
        listener = open_listener(p.state);
      } catch (const StartError& e) {
        throw ControlError(ControlErrorKind::failed, e.what());
      }
      p.listener = listener;
      start_listener(p);
    } else {
      close(p);
      log_proxy().info("proxy {} disabled: listener closed, connections ended", name);
    }
    p.enabled = enabled;
  }
  return view_of(p);
}

void Server::delete_proxy(const std::string& name) {
  Proxy& p = find(name);
  close(p);
  proxies_.erase(name);
  log_proxy().info("proxy {} deleted", name);
}

std::vector<ProxyView> Server::populate(std::vector<config::ProxyConfig> configs) {
  // Check everything first: a bad entry changes nothing.
  std::map<std::string, std::shared_ptr<const FaultSet>> compiled;
  for (const auto& pc : configs) {
    if (compiled.count(pc.name)) {
      throw ControlError(ControlErrorKind::invalid,
                         fmt::format("duplicate proxy name in populate: {}", pc.name));
    }
    compiled[pc.name] = compile(pc.faults);
  }
  std::vector<ProxyView> out;
  for (auto& pc : configs) {
    auto it = proxies_.find(pc.name);
    if (it != proxies_.end() && it->second.state->config().listen == pc.listen &&
        it->second.state->config().upstream == pc.upstream) {
      out.push_back(view_of(it->second));  // unchanged: keeps its faults and connections
      continue;
    }
    if (it != proxies_.end()) delete_proxy(pc.name);
    out.push_back(create_proxy(pc));
  }
  return out;
}

void Server::set_faults(const std::string& name, std::vector<config::FaultSpec> specs) {
  Proxy& p = find(name);
  auto set = compile(specs);
  p.state->set_faults(set);
  if (p.listener) p.listener->restart_faults();
  for (auto& w : workers_.workers()) {
    Worker* worker = w.get();
    asio::post(worker->context(), [worker, state = p.state] {
      worker->for_each_session([&](Session& s) {
        if (&s.proxy() == state.get()) s.faults_changed();
      });
    });
  }
}

void Server::reset() {
  for (auto& [name, p] : proxies_) {
    if (!p.state->faults()->faults.empty()) set_faults(name, {});
    if (!p.enabled) update_proxy(name, ProxyPatch{std::nullopt, std::nullopt, true});
  }
}

void Server::apply(const config::Config& config) {
  std::map<std::string, const config::ProxyConfig*> wanted;
  for (const auto& pc : config.proxies)
    wanted[pc.name] = &pc;
  for (auto it = proxies_.begin(); it != proxies_.end();) {
    if (!wanted.count(it->first)) {
      close(it->second);
      log_proxy().info("proxy {} removed by reload", it->first);
      it = proxies_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& pc : config.proxies) {
    auto it = proxies_.find(pc.name);
    if (it == proxies_.end()) {
      create_proxy(pc);
      continue;
    }
    const auto& old = it->second.state->config();
    if (old.listen == pc.listen && old.upstream == pc.upstream &&
        old.connect_timeout == pc.connect_timeout &&
        old.on_upstream_failure == pc.on_upstream_failure) {
      set_faults(pc.name, pc.faults);
      update_proxy(pc.name, ProxyPatch{std::nullopt, std::nullopt, pc.enabled});
    } else {
      delete_proxy(pc.name);
      create_proxy(pc);
    }
  }
}

}  // namespace faultline::control
