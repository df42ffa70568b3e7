// MemoryBudget: bytes within the limit are taken at once; past it requests queue and are
// granted oldest first as bytes come back; a holder that holds nothing is never made to wait;
// a holder that goes away gives everything back. Under threads, every byte is accounted.
#include "proxy/memory_budget.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace faultline::proxy {
namespace {

TEST(MemoryBudget, TakesWithinTheLimitAndQueuesPastIt) {
  MemoryBudget budget(100);
  auto a = budget.holder();
  auto b = budget.holder();
  int woken = 0;
  EXPECT_TRUE(budget.take(a, 60, [&] { ++woken; }));
  EXPECT_TRUE(budget.take(b, 30, [&] { ++woken; }));
  EXPECT_TRUE(budget.take(a, 10, [&] { ++woken; }));  // exactly the limit
  EXPECT_FALSE(budget.take(b, 20, [&] { ++woken; }));
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_EQ(budget.waiting(), 1u);
  EXPECT_FALSE(budget.take(b, 20, [&] { ++woken; })) << "still queued";
  budget.give(*a, 10);  // room for 10: not enough for b's 20
  EXPECT_EQ(woken, 0);
  budget.give(*a, 10);
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(budget.take(b, 20, [&] { ++woken; })) << "granted: collected";
  EXPECT_EQ(budget.used(), 100u);
  EXPECT_EQ(b->held(), 50u);
  EXPECT_EQ(budget.peak(), 100u);
}

TEST(MemoryBudget, GrantsOldestFirstAndNobodyJumpsTheQueue) {
  MemoryBudget budget(100);
  auto full = budget.holder();
  auto first = budget.holder();
  auto second = budget.holder();
  ASSERT_TRUE(budget.take(full, 80, [] {}));
  ASSERT_TRUE(budget.take(first, 10, [] {}));
  ASSERT_TRUE(budget.take(second, 10, [] {}));
  std::vector<int> order;
  EXPECT_FALSE(budget.take(first, 30, [&] { order.push_back(1); }));
  EXPECT_FALSE(budget.take(second, 5, [&] { order.push_back(2); }));
  auto late = budget.holder();
  ASSERT_TRUE(budget.take(late, 1, [] {})) << "holds nothing: never waits";
  EXPECT_FALSE(budget.take(late, 1, [&] { order.push_back(3); }))
      << "would fit, but others wait first";
  budget.give(*full, 40);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(budget.used(), 40u + 10 + 10 + 30 + 5 + 1 + 1);
}

TEST(MemoryBudget, AHolderThatHoldsNothingIsNeverStarved) {
  // Peers that never read hold the whole budget: another connection still moves, a request at
  // a time, over the limit by at most that request.
  MemoryBudget budget(100);
  auto stalled = budget.holder();
  ASSERT_TRUE(budget.take(stalled, 100, [] {}));
  auto live = budget.holder();
  EXPECT_TRUE(budget.take(live, 64, [] {}));
  int woken = 0;
  EXPECT_FALSE(budget.take(live, 64, [&] { ++woken; }));
  budget.give(*live, 64);  // its first request drained: its queued one goes at once
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(budget.take(live, 64, [] {}));
  EXPECT_EQ(budget.used(), 164u);
}

TEST(MemoryBudget, AClosedHolderGivesEverythingBackAndLeavesTheQueue) {
  MemoryBudget budget(100);
  auto a = budget.holder();
  auto b = budget.holder();
  ASSERT_TRUE(budget.take(a, 90, [] {}));
  ASSERT_TRUE(budget.take(b, 10, [] {}));
  int woken_b = 0;
  EXPECT_FALSE(budget.take(b, 50, [&] { ++woken_b; }));
  budget.close(*b);  // its queued request is dropped, its 10 come back
  EXPECT_EQ(woken_b, 0);
  EXPECT_EQ(budget.used(), 90u);
  EXPECT_EQ(budget.waiting(), 0u);
  budget.close(*a);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(MemoryBudget, EveryByteIsAccountedUnderThreads) {
  MemoryBudget budget(1 << 20);
  std::atomic<bool> failed{false};
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    auto h = budget.holder();
    std::size_t mine = 0;
    for (int i = 0; i < 20000; ++i) {
      std::size_t n = 1 + rng() % (64 << 10);
      if (!budget.take(h, n, [] {})) {
        // Give back what this thread holds: holding nothing, its request is granted now (by
        // this give, or by another thread's just before).
        budget.give(*h, mine);
        mine = 0;
        if (!budget.take(h, n, [] {})) {
          failed = true;
          return;
        }
      }
      mine += n;
      if (rng() % 2) {
        budget.give(*h, mine);
        mine = 0;
      }
    }
    budget.close(*h);
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 4; ++i)
    threads.emplace_back(worker, i + 1);
  for (auto& t : threads)
    t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.waiting(), 0u);
}

}  // namespace
}  // namespace faultline::proxy
