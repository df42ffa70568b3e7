// Virtual time for faults and pipelines, in the unit tests and the pipeline benchmark: sleepers
// wake in time order, and time jumps to the next sleeper only when nothing else can run, so a
// 100 ms latency costs its timer work, not 100 ms. Links against faultline_proxy alone (bench/
// builds it without the test suite).
#pragma once

#include <map>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include "faults/fault.hpp"
#include "proxy/time_source.hpp"

namespace faultline::test {

using faults::Clock;

class VirtualClock final : public proxy::TimeSource {
 public:
  explicit VirtualClock(asio::io_context& context) : context_(context) {}
  Clock::time_point now() const override { return now_; }
  asio::awaitable<void> sleep_until(Clock::time_point t) override;
  asio::awaitable<bool> wait(faults::Signal& signal, Clock::time_point deadline) override;
  // Runs the io_context until no handler is ready and no sleeper is left, or until the next
  // sleeper is due after `limit`.
  void run(Clock::time_point limit);
  Clock::time_point start() const { return start_; }

 private:
  struct Sleeper;
  asio::io_context& context_;
  const Clock::time_point start_ = Clock::time_point{} + std::chrono::hours(1);
  Clock::time_point now_ = start_;
  std::multimap<Clock::time_point, Sleeper*> sleepers_;
};

}  // namespace faultline::test
