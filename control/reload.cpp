#include <fmt/format.h>

#include "control/server.hpp"
#include "proxy/logging.hpp"

namespace faultline::control {

using proxy::log_config;

std::string reload_config(Server& server, const std::string& path) {
  config::Config cfg;
  try {
    cfg = config::load_config_file(path);
    validate(cfg, server.registry());
  } catch (const config::ConfigError& e) {
    log_config().error("reload refused, the running configuration is unchanged: {}", e.what());
    throw;
  }
  try {
    server.apply(cfg);  // all-or-nothing: a listener that cannot be bound changes nothing
  } catch (const ControlError& e) {
    log_config().error("reload refused, the running configuration is unchanged: {}", e.what());
    throw;
  }
  std::size_t faults = 0;
  for (const auto& p : cfg.proxies)
    faults += p.faults.size();
  std::string summary =
      fmt::format("reloaded {}: {} prox{}, {} fault{}", path, cfg.proxies.size(),
                  cfg.proxies.size() == 1 ? "y" : "ies", faults, faults == 1 ? "" : "s");
  log_config().info("{}", summary);
  return summary;
}

}  // namespace faultline::control
