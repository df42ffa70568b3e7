// One direction's chain of faults, built per connection from the proxy's fault set:
//   pump -> [stage] -> [stage] -> ... -> terminal sink (the socket)
// The pipeline knows no fault by name: a stage applies a fault's conditions (connections,
// toxicity, after/duration) and, when the fault asks for one, a bounded queue in front of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "faults/fault.hpp"
#include "proxy/memory_budget.hpp"
#include "proxy/proxy_state.hpp"
#include "proxy/task_spawner.hpp"
#include "proxy/time_source.hpp"

namespace faultline::proxy {

struct ConnectionInfo {
  std::uint64_t id = 0;     // process-wide, "[C42]" in logs
  std::uint64_t index = 0;  // 1-based accept order within the proxy (for `connections`)
  faults::Clock::time_point connected_at;
  std::shared_ptr<ProxyState> proxy;
  MemoryBudget* budget = nullptr;  // the process's; none: only the per-fault caps hold
};

class Pipeline {
 public:
  Pipeline(asio::any_io_executor executor, TimeSource& time, const FaultSet& faults,
           Direction direction, const ConnectionInfo& connection, faults::Sink& terminal);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  faults::Sink& head() { return *head_; }
  bool empty() const { return head_ == &terminal_; }  // no fault is on for this connection

  // Starts the stages' coroutines (drainers, watchers).
  void start(TaskSpawner& spawner);
  // Connection-scoped hooks run before the upstream dial (e.g. connect_delay), in order.
  asio::awaitable<void> before_dial();

  // Moves an open connection to a new fault set, between two chunks: what the old stages
  // hold is handed on first, stages whose fault is unchanged are kept with their state
  // (counters, timers, the toxicity draw), removed ones are stopped, new ones start. Call
  // only from the pump, between writes.
  asio::awaitable<void> rebuild(const FaultSet& faults, TaskSpawner& spawner);

  // Stages alive in this process (for tests: live changes must not accumulate them).
  static std::int64_t live_stages();

 private:
  class Stage;
  std::shared_ptr<Stage> make_stage(const faults::CompiledFault& fault, std::size_t index);
  void link();

  asio::any_io_executor executor_;
  TimeSource& time_;
  Direction direction_;
  const ConnectionInfo& connection_;
  faults::Sink& terminal_;
  std::vector<std::shared_ptr<Stage>> stages_;  // head to tail
  faults::Sink* head_;
};

// Seeds are derived, not drawn: the same seed, config and connection order give the same
// decisions on every run.
std::uint64_t derive_seed(std::uint64_t seed, std::string_view proxy, std::uint64_t connection,
                          Direction direction, std::size_t stage);

}  // namespace faultline::proxy
