// RealTime, the proxy's clock for faults: a sleep (or a wait's deadline) never ends before it
// is due, with or without the lead's early stop or the spin before it; only long sleeps take
// the lead's extra wake-up; a wait ends as soon as its signal is notified, in either stage of
// the lead and in the spin; and the spin ends at once when the connection is cancelled.
#include "proxy/pipeline.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

namespace faultline::proxy {
namespace {

using namespace std::chrono_literals;
using faults::Clock;

// Sleeps through `time` to each deadline in turn; returns how late each wake-up was.
std::vector<Clock::duration> lateness(RealTime& time, const std::vector<Clock::duration>& sleeps) {
  asio::io_context context(1);
  std::vector<Clock::duration> late;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        for (auto d : sleeps) {
          auto due = Clock::now() + d;
          co_await time.sleep_until(due);
          late.push_back(Clock::now() - due);
        }
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  context.run_for(10s);
  return late;
}

TEST(RealTime, NeverWakesBeforeTheDeadlineWithOrWithoutLeadOrSpin) {
  // 25 ms and 40 ms are long enough for the lead's early stop.
  const std::vector<Clock::duration> sleeps{100us, 400us, 600us, 1ms, 25ms, 3ms, 0us, 40ms, 50us};
  const std::vector<std::pair<std::chrono::microseconds, std::chrono::microseconds>> settings{
      {0us, RealTime::kDefaultLead}, {0us, 0us}, {0us, 5000us}, {500us, 0us}, {5000us, 0us}};
  for (auto [spin, lead] : settings) {
    RealTime time(spin, lead);
    auto late = lateness(time, sleeps);
    ASSERT_EQ(late.size(), sleeps.size()) << "spin " << spin.count() << "us";
    for (std::size_t i = 0; i < late.size(); ++i) {
      EXPECT_GE(late[i].count(), 0)
          << "spin " << spin.count() << "us, lead " << lead.count() << "us, sleep " << i;
      EXPECT_LT(late[i], 100ms) << "spin " << spin.count() << "us, lead " << lead.count()
                                << "us, sleep " << i;
    }
  }
}

// How many handlers the thread ran for these sleeps, all started at once: each wake-up of a
// timer is one.
int handlers_for(RealTime& time, const std::vector<Clock::duration>& sleeps) {
  asio::io_context context(1);
  for (Clock::duration d : sleeps) {
    asio::co_spawn(context, time.sleep_until(Clock::now() + d), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  int handlers = 0;
  while (context.run_one_for(5s) > 0)
    ++handlers;
  return handlers;
}

TEST(RealTime, OnlyALongSleepWakesOnceMoreForTheLead) {
  RealTime plain(0us, 0us);
  RealTime lead(0us, 5ms);
  EXPECT_EQ(handlers_for(lead, {30ms}), handlers_for(plain, {30ms}) + 1)
      << "a 30 ms sleep wakes 5 ms early, then once more when due";
  EXPECT_EQ(handlers_for(lead, {10ms}), handlers_for(plain, {10ms}))
      << "a sleep shorter than kLeadFrom wakes once";
  RealTime spin(500us, 5ms);  // the spin replaces the lead
  EXPECT_EQ(handlers_for(spin, {0us}), handlers_for(plain, {0us}));
}

TEST(RealTime, OnlyTheFirstOfTwoPendingSleepsTakesTheLead) {
  // The first sleep starts alone and wakes early once; the second starts while the first is
  // pending, and this worker wakes for that one anyway.
  RealTime plain(0us, 0us);
  RealTime lead(0us, 5ms);
  EXPECT_EQ(handlers_for(lead, {30ms, 40ms}), handlers_for(plain, {30ms, 40ms}) + 1);
}

TEST(RealTime, ASpinningSleepEndsAsSoonAsItIsCancelled) {
  // The spin covers the whole 5 s sleep: only the cancellation check can end it early.
  RealTime time(std::chrono::seconds(5));
  asio::io_context context(1);
  asio::cancellation_signal cancel;
  std::optional<asio::error_code> ended;
  auto started = Clock::now();
  asio::co_spawn(context, time.sleep_until(Clock::now() + 5s),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                   ended = asio::error_code{};
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const asio::system_error& err) {
                     ended = err.code();
                   }
                 }));
  asio::steady_timer later(context, 20ms);
  later.async_wait(
      [&](const asio::error_code&) { cancel.emit(asio::cancellation_type::terminal); });
  context.run_for(3s);
  ASSERT_TRUE(ended) << "the sleep was still spinning 3 s later";
  EXPECT_EQ(*ended, asio::error::operation_aborted);
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST(RealTime, OtherWorkRunsWhileASleepSpins) {
  // A sleep in its spin must leave the thread to the other connections on it.
  RealTime time(std::chrono::seconds(1));
  asio::io_context context(1);
  bool slept = false;
  int turns_meanwhile = 0;
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        co_await time.sleep_until(Clock::now() + 50ms);
        slept = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  std::function<void()> other = [&] {
    if (slept) return;
    ++turns_meanwhile;
    asio::post(context, other);
  };
  asio::post(context, other);
  context.run_for(5s);
  EXPECT_TRUE(slept);
  EXPECT_GT(turns_meanwhile, 100) << "the spin held the thread";
}

// Runs `time.wait(signal, now + deadline)`, notifying the signal after `notify_after` (on the
// same thread, as a fault's other coroutine would); returns the result and how long it took.
std::pair<bool, Clock::duration> timed_wait(RealTime& time, Clock::duration deadline,
                                            std::optional<Clock::duration> notify_after) {
  asio::io_context context(1);
  faults::Signal signal;
  bool result = false;
  auto started = Clock::now();
  Clock::duration took{};
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        result = co_await time.wait(signal, started + deadline);
        took = Clock::now() - started;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  // Checked on every turn of the executor, so it fires within the spin too. (Declared here:
  // the posted copies refer to it while the context runs.)
  std::function<void()> poke = [&] {
    if (Clock::now() - started >= *notify_after) {
      signal.notify();
    } else {
      asio::post(context, poke);
    }
  };
  if (notify_after) asio::post(context, poke);
  context.run_for(10s);
  return {result, took};
}

TEST(RealTime, AWaitEndsAtItsDeadlineNotBeforeWithOrWithoutLeadOrSpin) {
  for (auto [spin, lead] :
       std::vector<std::pair<std::chrono::microseconds, std::chrono::microseconds>>{
           {0us, RealTime::kDefaultLead}, {0us, 5000us}, {500us, 0us}, {5000us, 0us}}) {
    RealTime time(spin, lead);
    for (Clock::duration deadline : {Clock::duration(2ms), Clock::duration(25ms)}) {
      auto [notified, took] = timed_wait(time, deadline, std::nullopt);
      EXPECT_FALSE(notified) << "spin " << spin.count() << "us, lead " << lead.count() << "us";
      EXPECT_GE(took, deadline) << "spin " << spin.count() << "us, lead " << lead.count() << "us";
      EXPECT_LT(took, deadline + 100ms)
          << "spin " << spin.count() << "us, lead " << lead.count() << "us";
    }
  }
}

TEST(RealTime, AWaitEndsWhenTheSignalComesBeforeOrAfterTheLeadsEarlyStop) {
  // A 1 s deadline with a 600 ms lead stops early at 400 ms: a signal at 20 ms comes in the
  // first sleep, one at 500 ms in the second; each must end the wait then, not at the stop.
  RealTime time(0us, 600ms);
  for (Clock::duration at : {Clock::duration(20ms), Clock::duration(500ms)}) {
    auto [notified, took] = timed_wait(time, 1s, at);
    EXPECT_TRUE(notified) << "signal at " << at.count() << " ns";
    EXPECT_GE(took, at);
    EXPECT_LT(took, at + 200ms) << "the wait went on after its signal";
  }
}

TEST(RealTime, AWaitInItsSpinEndsWhenTheSignalComes) {
  // A 5 s spin covers the whole 2 s deadline: only the signal, at 20 ms, can end it early.
  RealTime time(std::chrono::seconds(5));
  auto [notified, took] = timed_wait(time, 2s, 20ms);
  EXPECT_TRUE(notified);
  EXPECT_GE(took, 20ms);
  EXPECT_LT(took, 1s);
}

}  // namespace
}  // namespace faultline::proxy
