// The catalogue of built-in faults. Each lives in its own file under faults/ and exposes a
// `register_<name>_fault(FaultRegistry&)`; this is the one place that lists them.
#include "faults/registry.hpp"

namespace faultline::faults {

// Declared here rather than in a header per fault: nothing else needs them.
// -- data shaping
void register_latency_fault(FaultRegistry&);
void register_bandwidth_fault(FaultRegistry&);
void register_slicer_fault(FaultRegistry&);
void register_coalesce_fault(FaultRegistry&);
// -- connection-ending
void register_drop_fault(FaultRegistry&);
void register_timeout_fault(FaultRegistry&);
void register_reset_peer_fault(FaultRegistry&);
void register_limit_data_fault(FaultRegistry&);
void register_slow_close_fault(FaultRegistry&);
// -- connection and listener
void register_connect_delay_fault(FaultRegistry&);
void register_backlog_fault(FaultRegistry&);

void register_builtin_faults(FaultRegistry& registry) {
  // -- data shaping (registrations)
  register_latency_fault(registry);
  register_bandwidth_fault(registry);
  register_slicer_fault(registry);
  register_coalesce_fault(registry);
  // -- connection-ending (registrations)
  register_drop_fault(registry);
  register_timeout_fault(registry);
  register_reset_peer_fault(registry);
  register_limit_data_fault(registry);
  register_slow_close_fault(registry);
  // -- connection and listener (registrations)
  register_connect_delay_fault(registry);
  register_backlog_fault(registry);
}

}  // namespace faultline::faults
