// Worker threads: they survive SIGPIPE (splice(2) cannot suppress it), and the busy-poll
// window ends: a worker with nothing to do sleeps instead of spinning. By default they
// neither poll nor spin, and their timed sleeps carry no timer slack.
#include "proxy/worker_pool.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <future>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>

#include "tests/support/sanitizers.hpp"

#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace faultline::proxy {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPool, SigpipeOnAWorkerThreadDoesNotKillTheProcess) {
  auto previous = std::signal(SIGPIPE, SIG_DFL);  // what an embedding process may have
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::shutdown(fds[0], SHUT_WR);  // a write on fds[0] is now EPIPE, and raises SIGPIPE
  {
    WorkerPool pool(1, WorkerOptions{});
    std::promise<int> result;
    asio::post(pool.workers()[0]->context(), [&] {
      errno = 0;
      ssize_t n = ::write(fds[0], "x", 1);
      result.set_value(n < 0 ? errno : 0);
    });
    auto done = result.get_future();
    ASSERT_EQ(done.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(done.get(), EPIPE);
  }
  ::close(fds[0]);
  ::close(fds[1]);
  std::signal(SIGPIPE, previous);
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

TEST(WorkerPool, AWorkerSleepsOnceTheBusyPollWindowHasPassed) {
  for (auto window : {std::chrono::microseconds(0), std::chrono::microseconds(20'000)}) {
    WorkerOptions options;
    options.busy_poll = window;
    WorkerPool pool(2, options);
    for (auto& w : pool.workers()) {
      std::promise<void> ran;
      asio::post(w->context(), [&] { ran.set_value(); });
      ASSERT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
    }
    // Past the window, nothing happens: the workers must not be burning CPU. (Measured over
    // 300 ms of wall time; two spinning workers would use up to 600 ms.)
    std::this_thread::sleep_for(window + 50ms);
    double before = process_cpu_seconds();
    std::this_thread::sleep_for(300ms);
    double used = process_cpu_seconds() - before;
    EXPECT_LT(used, 0.03) << "busy_poll " << window.count() << "us: " << used << " s of CPU";
  }
}

TEST(WorkerPool, DefaultsNeitherPollNorSpin) {
  WorkerOptions defaults;
  EXPECT_EQ(defaults.busy_poll.count(), 0);
  EXPECT_EQ(defaults.timer_spin.count(), 0);
  // 100 fault-timer sleeps of 2 ms on a default worker: each is one timerfd wake-up, 50-100 us
  // of CPU on this VM, up to 200 us under AddressSanitizer (measured there: 20.3 ms for the
  // 100, thread start included). The old 500 us spin alone would take 50 ms here.
  WorkerPool pool(1, defaults);
  Worker& worker = *pool.workers()[0];
  double before = process_cpu_seconds();
  auto done = asio::co_spawn(
      worker.context(),
      [&worker]() -> asio::awaitable<faults::Clock::duration> {
        faults::Clock::duration late{};
        for (int i = 0; i < 100; ++i) {
          auto due = faults::Clock::now() + 2ms;
          co_await worker.time().sleep_until(due);
          late = std::max(late, faults::Clock::now() - due);
        }
        co_return late;
      },
      asio::use_future);
  ASSERT_EQ(done.wait_for(30s), std::future_status::ready);
  auto late = done.get();
  double used = process_cpu_seconds() - before;
  EXPECT_GE(late.count(), 0);
  EXPECT_LT(used, test::kSanitized ? 0.035 : 0.02) << used << " s of CPU for 100 sleeps of 2 ms";
}

#ifdef __linux__
TEST(WorkerPool, WorkerThreadsRunWithoutTimerSlack) {
  WorkerPool pool(2, WorkerOptions{});
  for (auto& w : pool.workers()) {
    std::promise<long> slack;
    asio::post(w->context(), [&] { slack.set_value(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)); });
    auto got = slack.get_future();
    ASSERT_EQ(got.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(got.get(), 1) << "ns of timer slack on a worker thread";
  }
}
#endif

}  // namespace
}  // namespace faultline::proxy
