// Fuzz target: the YAML config loader and the fault registry behind `faultline --check`.
#include <cmath>
#include <string_view>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "control/server.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace faultline::fuzz {

const faults::FaultRegistry& builtin_registry() {
  static const faults::FaultRegistry* r = [] {
    auto* reg = new faults::FaultRegistry;
    faults::register_builtin_faults(*reg);
    return reg;
  }();
  return *r;
}

void fuzz_config(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::Config cfg;
  try {
    cfg = config::load_config_string(text, "fuzz.yaml");
  } catch (const config::ConfigError& e) {
    // A refusal must say where: "fuzz.yaml..." and never be empty.
    std::string_view what = e.what();
    FUZZ_CHECK(what.starts_with("fuzz.yaml"), std::string(what));
    FUZZ_CHECK(!e.expected().empty(), std::string(what));
    FUZZ_CHECK(e.pos().line >= 0 && e.pos().column >= 0, std::string(what));
    return;
  }
  // What the loader promises about a Config it returns.
  // Something to serve: proxies, or the API of an empty server (issue 13).
  FUZZ_CHECK(!cfg.proxies.empty() || cfg.api.enabled, "a loaded config serves something");
  for (const auto& p : cfg.proxies) {
    FUZZ_CHECK(!p.name.empty(), "proxy name");
    FUZZ_CHECK(p.upstream.port != 0, "upstream port");
    FUZZ_CHECK(p.connect_timeout.count() > 0, "connect_timeout > 0");
    for (const auto& f : p.faults) {
      FUZZ_CHECK(!f.type.empty() && !f.name.empty(), f.field);
      FUZZ_CHECK(std::isfinite(f.toxicity) && f.toxicity >= 0 && f.toxicity <= 1, f.field);
      FUZZ_CHECK(f.after.count() >= 0, f.field);
      FUZZ_CHECK(!f.duration || f.duration->count() > 0, f.field);
    }
  }
  // --check's second half: every fault's type and attributes. Then one instance of each,
  // as a connection (or the listener) would make it.
  try {
    control::validate(cfg, builtin_registry());
  } catch (const config::ConfigError&) {
    return;
  }
  for (const auto& p : cfg.proxies) {
    for (const auto& f : p.faults) {
      faults::CompiledFault c = builtin_registry().compile(f);
      FUZZ_CHECK(c.factory != nullptr, f.field);
      if (c.scope == faults::FaultScope::listener) {
        (void)c.factory->create_listener();
      } else {
        (void)c.factory->create();
      }
    }
  }
}

}  // namespace faultline::fuzz
