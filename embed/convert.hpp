// Between the public Fault and the config's FaultSpec. Faults go through the YAML loader, so
// the embedded API accepts and refuses exactly what a config file does.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "faultline/faultline.hpp"
#include "faults/registry.hpp"

namespace faultline::embed {

// Every built-in fault type.
const faults::FaultRegistry& builtin_registry();

// The faults rendered as YAML, then `yaml` (more items), loaded as a config file's `faults:`
// and each checked against its type, as --check does. Throws faultline::Error; positions in
// `yaml` are its own lines and columns.
std::vector<config::FaultSpec> to_specs(const std::vector<Fault>& faults,
                                        std::string_view yaml = {});
Fault from_spec(const config::FaultSpec& spec);

}  // namespace faultline::embed
