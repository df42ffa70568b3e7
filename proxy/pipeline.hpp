// One direction's chain of faults, built per connection from the proxy's fault set:
//   pump -> [stage] -> [stage] -> ... -> terminal sink (the socket)
// The pipeline knows no fault by name: a stage applies a fault's conditions (connections,
// toxicity, after/duration) and, when the fault asks for one, a bounded queue in front of it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "faults/fault.hpp"
#include "proxy/proxy_state.hpp"

namespace faultline::proxy {

// Where a pipeline's time comes from: the steady clock and Asio timers in the proxy, a virtual
// clock in unit tests (so a fault's pieces and times can be checked exactly).
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual faults::Clock::time_point now() const = 0;
  virtual asio::awaitable<void> sleep_until(faults::Clock::time_point t) = 0;  // throws on cancel
  // true when `signal` was notified, false at the deadline; throws on cancel.
  virtual asio::awaitable<bool> wait(faults::Signal& signal, faults::Clock::time_point deadline) = 0;
};

// The steady clock and asio::steady_timer on the current coroutine's executor.
class RealTime final : public TimeSource {
 public:
  static RealTime& instance();
  faults::Clock::time_point now() const override { return faults::Clock::now(); }
  asio::awaitable<void> sleep_until(faults::Clock::time_point t) override;
  asio::awaitable<bool> wait(faults::Signal& signal, faults::Clock::time_point deadline) override;
};

struct ConnectionInfo {
  std::uint64_t id = 0;     // process-wide, "[C42]" in logs
  std::uint64_t index = 0;  // 1-based accept order within the proxy (for `connections`)
  faults::Clock::time_point connected_at;
  std::shared_ptr<ProxyState> proxy;
};

class Pipeline {
 public:
  // A coroutine to run beside the pump. Data-path tasks (queue drainers) end when EOF has
  // passed through; the others (watchers) are cancelled when the connection ends.
  struct Task {
    std::function<asio::awaitable<void>()> run;
    bool data_path;
  };

  Pipeline(asio::any_io_executor executor, TimeSource& time, const FaultSet& faults,
           Direction direction, const ConnectionInfo& connection, faults::Sink& terminal);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  faults::Sink& head() { return *head_; }
  bool empty() const { return stages_.empty(); }
  std::vector<Task> tasks();
  // Connection-scoped hooks run before the upstream dial (e.g. connect_delay), in order.
  asio::awaitable<void> before_dial();

 private:
  class Stage;
  std::vector<std::unique_ptr<Stage>> stages_;
  faults::Sink* head_;
};

// Seeds are derived, not drawn: the same seed, config and connection order give the same
// decisions on every run.
std::uint64_t derive_seed(std::uint64_t seed, std::string_view proxy, std::uint64_t connection,
                          Direction direction, std::size_t stage);

}  // namespace faultline::proxy
