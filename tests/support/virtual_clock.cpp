#include "tests/support/virtual_clock.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace faultline::test {

// A sleeper parks on a timer that never expires by itself: run() (or a signal) cancels it.
struct VirtualClock::Sleeper {
  asio::steady_timer timer;
  bool woken = false;
};

asio::awaitable<void> VirtualClock::sleep_until(Clock::time_point t) {
  if (t <= now_) co_return;
  Sleeper sleeper{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
  auto it = sleepers_.emplace(t, &sleeper);
  co_await sleeper.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (!sleeper.woken) {
    sleepers_.erase(it);
    throw asio::system_error(asio::error::operation_aborted);
  }
}

asio::awaitable<bool> VirtualClock::wait(faults::Signal& signal, Clock::time_point deadline) {
  if (signal.consume()) co_return true;
  if (deadline <= now_) co_return false;
  Sleeper sleeper{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
  auto it = sleepers_.emplace(deadline, &sleeper);
  signal.set_waker([&] {
    if (sleeper.woken) return;
    sleeper.woken = true;
    sleepers_.erase(it);
    sleeper.timer.cancel();
  });
  co_await sleeper.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  signal.set_waker(nullptr);
  if (!sleeper.woken) {
    sleepers_.erase(it);
    throw asio::system_error(asio::error::operation_aborted);
  }
  co_return signal.consume();
}

void VirtualClock::run(Clock::time_point limit) {
  for (;;) {
    context_.restart();
    context_.poll();
    if (sleepers_.empty()) return;
    auto it = sleepers_.begin();
    if (it->first > limit) return;
    now_ = it->first;
    it->second->woken = true;
    it->second->timer.cancel();
    sleepers_.erase(it);
  }
}

}  // namespace faultline::test
