// The resolver that keeps name lookups off the workers: answers arrive on the caller's
// executor, the same name is looked up once for concurrent callers and then cached, a
// cancelled wait completes at once, and after shutdown nothing is delivered. (A resolver that
// never answers is tested with the real binary: tests/integration/resolver_test.cpp.)
#include "proxy/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>

namespace faultline::proxy {
namespace {

using namespace std::chrono_literals;
using Endpoints = std::vector<asio::ip::tcp::endpoint>;

struct Outcome {
  bool called = false;
  asio::error_code error;
  Endpoints endpoints;
  std::thread::id thread;
};

auto record(Outcome& out) {
  return [&out](asio::error_code ec, Endpoints eps) {
    out.called = true;
    out.error = ec;
    out.endpoints = std::move(eps);
    out.thread = std::this_thread::get_id();
  };
}

// Runs the context until `done` or 5 s.
template <typename Done>
void run_until(asio::io_context& io, Done done) {
  auto until = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < until) {
    io.run_for(10ms);
    io.restart();
  }
}

TEST(Resolver, AnswersOnTheCallersThreadAndSharesOneLookupPerName) {
  Resolver resolver;
  asio::io_context io;
  Outcome a, b;
  resolver.async_resolve("localhost", 7000, asio::bind_executor(io, record(a)));
  resolver.async_resolve("localhost", 7000, asio::bind_executor(io, record(b)));
  EXPECT_LE(resolver.running(), 1u) << "two threads for one name";
  run_until(io, [&] { return a.called && b.called; });
  ASSERT_TRUE(a.called && b.called);
  ASSERT_FALSE(a.error) << a.error.message();
  ASSERT_FALSE(a.endpoints.empty());
  EXPECT_EQ(a.endpoints, b.endpoints);
  EXPECT_EQ(a.endpoints.front().port(), 7000);
  EXPECT_TRUE(a.endpoints.front().address().is_loopback());
  EXPECT_EQ(a.thread, std::this_thread::get_id());  // posted to the caller's executor
  // Cached: the next answer needs no thread.
  Outcome c;
  resolver.async_resolve("localhost", 7000, asio::bind_executor(io, record(c)));
  EXPECT_EQ(resolver.running(), 0u);
  run_until(io, [&] { return c.called; });
  EXPECT_EQ(c.endpoints, a.endpoints);
}

// A lookup that blocks until released: a resolver that never answers, under the test's control.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> entered{0};

  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

Resolver::LookupFunction hanging_on(std::shared_ptr<Gate> gate, const std::string& hung_name) {
  return [gate, hung_name](const std::string& host, std::uint16_t port) {
    if (host == hung_name) {
      ++gate->entered;
      std::unique_lock lock(gate->mutex);
      gate->cv.wait(lock, [&] { return gate->open; });
      return ResolveResult{asio::error::host_not_found_try_again, {}};
    }
    return Resolver::system_lookup(host, port);
  };
}

TEST(Resolver, AHungLookupHoldsOnlyItsOwnCallersAndACancelEndsTheWaitAtOnce) {
  auto gate = std::make_shared<Gate>();
  Resolver resolver(hanging_on(gate, "hung.example"));
  asio::io_context io;
  asio::cancellation_signal cancel;
  Outcome hung, other;
  resolver.async_resolve(
      "hung.example", 1,
      asio::bind_cancellation_slot(cancel.slot(), asio::bind_executor(io, record(hung))));
  // Another name is answered while the first hangs.
  resolver.async_resolve("localhost", 1, asio::bind_executor(io, record(other)));
  run_until(io, [&] { return other.called; });
  ASSERT_TRUE(other.called);
  EXPECT_FALSE(other.error) << other.error.message();
  EXPECT_FALSE(hung.called);
  // The caller's deadline: cancelling completes its wait at once.
  cancel.emit(asio::cancellation_type::terminal);
  run_until(io, [&] { return hung.called; });
  ASSERT_TRUE(hung.called);
  EXPECT_EQ(hung.error, asio::error::operation_aborted);
  // When the lookup finally ends, its answer is dropped, not delivered a second time.
  gate->release();
  run_until(io, [&] { return resolver.running() == 0; });
  EXPECT_EQ(resolver.running(), 0u);
  io.poll();
  EXPECT_EQ(hung.error, asio::error::operation_aborted);
}

TEST(Resolver, ShutdownNeitherWaitsForAHungLookupNorDeliversItsAnswer) {
  auto gate = std::make_shared<Gate>();
  asio::io_context io;
  Outcome hung, late;
  auto t = std::chrono::steady_clock::now();
  {
    Resolver resolver(hanging_on(gate, "hung.example"));
    resolver.async_resolve("hung.example", 1, asio::bind_executor(io, record(hung)));
    auto until = std::chrono::steady_clock::now() + 5s;
    while (gate->entered == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
    ASSERT_EQ(gate->entered, 1);
    resolver.shutdown();
    resolver.async_resolve("localhost", 1, asio::bind_executor(io, record(late)));
  }  // ~Resolver with the lookup still hung
  EXPECT_LT(std::chrono::steady_clock::now() - t, 1s);
  gate->release();  // the abandoned thread ends on its own
  io.run_for(100ms);
  EXPECT_FALSE(hung.called);
  EXPECT_FALSE(late.called);
}

TEST(Resolver, ManyHungNamesQueueBeyondTheThreadCapAndCancelsStillEndTheirWaits) {
  auto gate = std::make_shared<Gate>();
  Resolver resolver([gate](const std::string&, std::uint16_t) {
    ++gate->entered;
    std::unique_lock lock(gate->mutex);
    gate->cv.wait(lock, [&] { return gate->open; });
    return ResolveResult{asio::error::host_not_found, {}};
  });
  asio::io_context io;
  constexpr std::size_t kNames = Resolver::kMaxLookupThreads + 4;
  std::vector<asio::cancellation_signal> cancels(kNames);
  std::vector<Outcome> outs(kNames);
  for (std::size_t i = 0; i < kNames; ++i) {
    resolver.async_resolve(
        "n" + std::to_string(i), 1,
        asio::bind_cancellation_slot(cancels[i].slot(), asio::bind_executor(io, record(outs[i]))));
  }
  EXPECT_EQ(resolver.running(), Resolver::kMaxLookupThreads);
  for (auto& c : cancels)
    c.emit(asio::cancellation_type::terminal);
  run_until(io, [&] {
    return std::all_of(outs.begin(), outs.end(), [](const Outcome& o) { return o.called; });
  });
  for (const Outcome& o : outs)
    EXPECT_EQ(o.error, asio::error::operation_aborted);
  gate->release();
  run_until(io, [&] { return resolver.running() == 0; });
  EXPECT_EQ(gate->entered, static_cast<int>(kNames));  // the queued ones ran in turn
}

}  // namespace
}  // namespace faultline::proxy
