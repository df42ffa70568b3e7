// The catalogue of built-in faults. Each lives in its own file under faults/ and exposes a
// `register_<name>_fault(FaultRegistry&)`; this is the one place that lists them.
#include "faults/registry.hpp"

namespace faultline::faults {

void register_builtin_faults(FaultRegistry& /*registry*/) {}

}  // namespace faultline::faults
