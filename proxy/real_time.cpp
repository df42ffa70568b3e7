#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/time_source.hpp"

namespace faultline::proxy {

namespace {
// Counts a sleep as pending for as long as it is in its timer (however it ends).
struct Pending {
  explicit Pending(int& count) : count_(count) { ++count_; }
  ~Pending() { --count_; }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  int& count_;
};
}  // namespace

RealTime::Stops RealTime::stops(faults::Clock::time_point t) const {
  if (lead_.count() > 0 && sleeping_ == 0 && t - faults::Clock::now() >= kLeadFrom) {
    return {{t - lead_, t}, 2};
  }
  return {{t, {}}, 1};
}

asio::awaitable<void> RealTime::sleep_until(faults::Clock::time_point t) {
  if (t <= faults::Clock::now()) co_return;
  if (t - faults::Clock::now() > spin_) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const Stops at_stops = stops(t - spin_);
    Pending pending(sleeping_);
    for (auto at : at_stops) {
      timer.expires_at(at);
      co_await timer.async_wait(asio::use_awaitable);  // throws when the connection ends
    }
  }
  co_await spin_until(t, nullptr);
}

asio::awaitable<bool> RealTime::wait(faults::Signal& signal, faults::Clock::time_point deadline) {
  if (signal.consume()) co_return true;
  if (deadline <= faults::Clock::now()) co_return false;
  if (deadline - faults::Clock::now() > spin_) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    signal.set_waker([&timer] { timer.cancel(); });
    const Stops at_stops = stops(deadline - spin_);
    Pending pending(sleeping_);
    for (auto at : at_stops) {
      timer.expires_at(at);
      auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      const bool notified = signal.consume();
      if (notified || ec) {
        signal.set_waker(nullptr);
        if (notified) co_return true;
        throw asio::system_error(ec);  // cancelled: the connection is ending
      }
    }
    signal.set_waker(nullptr);
  }
  co_return co_await spin_until(deadline, &signal);
}

asio::awaitable<bool> RealTime::spin_until(faults::Clock::time_point t, faults::Signal* signal) {
  // Each turn goes to the back of the executor's queue, so every other connection on this
  // thread (and the socket poll) runs in between.
  auto executor = co_await asio::this_coro::executor;
  while (faults::Clock::now() < t) {
    if (signal && signal->consume()) co_return true;
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      throw asio::system_error(asio::error::operation_aborted);
    }
    co_await asio::post(executor, asio::use_awaitable);
  }
  co_return signal && signal->consume();
}

}  // namespace faultline::proxy
