#include "proxy/server.hpp"

#include <random>

#include <fmt/format.h>

#include "proxy/logging.hpp"

namespace faultline::proxy {

std::shared_ptr<const FaultSet> compile_faults(const std::vector<config::FaultSpec>& specs,
                                               const faults::FaultRegistry& registry) {
  auto set = std::make_shared<FaultSet>();
  for (const auto& spec : specs) set->faults.push_back(registry.compile(spec));
  return set;
}

void validate(const config::Config& config, const faults::FaultRegistry& registry) {
  for (const auto& p : config.proxies) compile_faults(p.faults, registry);
}

Server::Server(asio::io_context& control, const faults::FaultRegistry& registry,
               std::size_t threads)
    : control_(control), registry_(registry), workers_(threads) {}

Server::~Server() { stop(); }

void Server::start(const config::Config& config) {
  seed_ = config.seed_given ? config.seed : std::random_device{}();
  if (!config.seed_given) {
    log_proxy().info("no seed in the config; using seed {} (put `seed: {}` in the file to replay)",
                     seed_, seed_);
  }
  std::map<std::string, Proxy> opened;
  for (const auto& pc : config.proxies) {
    auto state = std::make_shared<ProxyState>(pc, seed_, compile_faults(pc.faults, registry_));
    Proxy proxy{state, nullptr};
    if (pc.enabled) {
      auto listener = std::make_shared<Listener>(control_, workers_, state);
      try {
        listener->open();
      } catch (const std::system_error& e) {
        for (auto& [name, p] : opened) {
          if (p.listener) p.listener->close();
        }
        throw StartError(fmt::format("proxy \"{}\": cannot listen on {}: {}", pc.name,
                                     pc.listen.to_string(), e.code().message()));
      }
      proxy.listener = std::move(listener);
    }
    opened.emplace(pc.name, std::move(proxy));
  }
  for (auto& [name, p] : opened) {
    if (p.listener) {
      p.listener->start();
      auto ep = p.listener->local_endpoint();
      log_proxy().info("proxy {} listening on {}:{} -> upstream {} ({} fault{})", name,
                       ep.address().to_string(), ep.port(), p.state->config().upstream.to_string(),
                       p.state->faults()->faults.size(),
                       p.state->faults()->faults.size() == 1 ? "" : "s");
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

std::shared_ptr<ProxyState> Server::proxy(const std::string& name) const {
  auto it = proxies_.find(name);
  return it == proxies_.end() ? nullptr : it->second.state;
}

std::vector<std::shared_ptr<ProxyState>> Server::proxies() const {
  std::vector<std::shared_ptr<ProxyState>> out;
  for (const auto& [name, p] : proxies_) out.push_back(p.state);
  return out;
}

asio::ip::tcp::endpoint Server::listen_endpoint(const std::string& name) const {
  const Proxy& p = proxies_.at(name);
  if (!p.listener) throw std::out_of_range("proxy " + name + " is disabled");
  return p.listener->local_endpoint();
}

}  // namespace faultline::proxy
