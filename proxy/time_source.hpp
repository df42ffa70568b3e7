// Where a pipeline's time comes from: the steady clock and Asio timers in the proxy, a virtual
// clock in unit tests (so a fault's pieces and times can be checked exactly).
#pragma once

#include <chrono>

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
// coroutine's executor. With a `spin` (opt-in, `--profile low-latency`), a sleep (or a wait's
// deadline) wakes `spin` early and then polls the executor until it is due: on a VM an idle
// thread's timer wakes it 0.1-0.5 ms late, which every delay a fault makes would otherwise
// carry. The cost is up to `spin` of CPU per timer; zero (the default) turns it off.
class RealTime final : public TimeSource {
 public:
  explicit RealTime(std::chrono::microseconds spin = {}) : spin_(spin) {}
  faults::Clock::time_point now() const override { return faults::Clock::now(); }
  asio::awaitable<void> sleep_until(faults::Clock::time_point t) override;
  asio::awaitable<bool> wait(faults::Signal& signal, faults::Clock::time_point deadline) override;

 private:
  // Polls until t, or until `signal` (when given) is notified: true if it was.
  asio::awaitable<bool> spin_until(faults::Clock::time_point t, faults::Signal* signal);

  std::chrono::microseconds spin_;
};

}  // namespace faultline::proxy
