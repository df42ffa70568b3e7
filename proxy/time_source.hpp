// Where a pipeline's time comes from: the steady clock and Asio timers in the proxy, a virtual
// clock in unit tests (so a fault's pieces and times can be checked exactly).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>

#include <asio/awaitable.hpp>

#include "faults/fault.hpp"

namespace faultline::proxy {

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual faults::Clock::time_point now() const = 0;
  virtual asio::awaitable<void> sleep_until(faults::Clock::time_point t) = 0;  // throws on cancel
  // true when `signal` was notified, false at the deadline; throws on cancel.
  virtual asio::awaitable<bool> wait(faults::Signal& signal,
                                     faults::Clock::time_point deadline) = 0;
};

// The steady clock and asio::steady_timer (a timerfd: an hrtimer, no slack) on the current
// coroutine's executor.
//
// On a VM, a vCPU that has been idle for long wakes late: a 100 ms timerfd sleep ends 0.16 ms
// after its time at p50 on the 2-core VM of docs/performance.md, and every delay a fault makes
// would carry that. Two ways to take it off, both here:
//  - the lead (the default): a sleep of kLeadFrom or more wakes `lead` early and sleeps again
//    until due. The second sleep is short, and a vCPU idle for a moment wakes faster (the same
//    sleep: 0.05 ms late with a 300 us lead). It costs one more wake-up per long sleep; nothing
//    polls. Only a worker with no other fault timer pending takes it: one whose timers are many
//    wakes often anyway, and the extra wake-ups of 200 connections under a 100 ms latency
//    doubled its p99 lateness (1.0-1.5 ms -> 1.8-3.4 ms).
//  - the spin (opt-in, `--profile low-latency`): a sleep (or a wait's deadline) wakes `spin`
//    early and then polls the executor until it is due. Up to `spin` of CPU per timer; with a
//    spin the lead is off.
class RealTime final : public TimeSource {
 public:
  static constexpr std::chrono::microseconds kDefaultLead{300};
  static constexpr std::chrono::milliseconds kLeadFrom{20};  // shorter sleeps: one wake-up

  explicit RealTime(std::chrono::microseconds spin = {},
                    std::chrono::microseconds lead = kDefaultLead)
      : spin_(spin), lead_(spin.count() > 0 ? std::chrono::microseconds{} : lead) {}
  faults::Clock::time_point now() const override { return faults::Clock::now(); }
  asio::awaitable<void> sleep_until(faults::Clock::time_point t) override;
  asio::awaitable<bool> wait(faults::Signal& signal, faults::Clock::time_point deadline) override;

 private:
  // Where the timer stops on the way to `t`: the lead's early stop first when `t` is far
  // enough and no other timer is pending, then `t` itself (no allocation: one runs per fault
  // timer).
  struct Stops {
    std::array<faults::Clock::time_point, 2> at{};
    std::size_t count = 0;
    const faults::Clock::time_point* begin() const { return at.data(); }
    const faults::Clock::time_point* end() const { return at.data() + count; }
  };
  Stops stops(faults::Clock::time_point t) const;
  // Polls until t, or until `signal` (when given) is notified: true if it was.
  asio::awaitable<bool> spin_until(faults::Clock::time_point t, faults::Signal* signal);

  std::chrono::microseconds spin_;
  std::chrono::microseconds lead_;
  // Sleeps and waits in their timer now. A RealTime belongs to one worker: one thread.
  int sleeping_ = 0;
};

}  // namespace faultline::proxy
