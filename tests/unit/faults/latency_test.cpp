// latency on the virtual clock: exact delivery times, order, EOF, jitter bounds, conditions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(LatencyFault, DelaysEachChunkAndTheEof) {
  FaultHarness h("- {type: latency, latency: 100ms}");
  h.send_at(0ms, "hello");
  h.send_at(5ms, "world");
  h.eof_at(10ms);
  h.run();
  ASSERT_EQ(h.events().size(), 3u);
  EXPECT_EQ(h.events()[0].bytes, "hello");
  EXPECT_EQ(h.events()[0].at, 100ms);
  EXPECT_EQ(h.events()[1].bytes, "world");
  EXPECT_EQ(h.events()[1].at, 105ms);
  EXPECT_EQ(h.events()[2].kind, Kind::finish);
  EXPECT_EQ(h.events()[2].at, 110ms);
  EXPECT_EQ(h.fired().at("latency"), 1u);
}

TEST(LatencyFault, DelaysOverlapSoThroughputIsNotCapped) {
  // 200 chunks 1 ms apart: each leaves 100 ms after it came, not 100 ms after the previous one.
  FaultHarness h("- {type: latency, latency: 100ms}");
  for (int i = 0; i < 200; ++i)
    h.send_at(std::chrono::milliseconds(i), std::to_string(i) + ";");
  h.eof_at(200ms);
  h.run();
  auto times = h.data_times();
  ASSERT_EQ(times.size(), 200u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(times[i], std::chrono::milliseconds(100 + i)) << i;
  // The reader was never held back by the sleeps (the queue took every chunk at once).
  auto accepted = h.write_accepted();
  ASSERT_EQ(accepted.size(), 200u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(accepted[i], std::chrono::milliseconds(i)) << i;
  EXPECT_EQ(h.events().back().kind, Kind::finish);
  EXPECT_EQ(h.events().back().at, 300ms);
}

TEST(LatencyFault, AliasDelayAndZeroLatencyPassAtOnce) {
  FaultHarness h("- {type: delay}");
  h.send_at(3ms, "x");
  h.eof_at(4ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].at, 3ms);
  EXPECT_EQ(h.events()[1].at, 4ms);
}

TEST(LatencyFault, UniformJitterStaysInBoundsAndNeverReorders) {
  // Chunks 1 s apart, so the monotonic rule never shifts one: each delay is the raw draw.
  FaultHarness h("- {type: latency, latency: 100ms, jitter: 20ms}");
  const int n = 300;
  for (int i = 0; i < n; ++i)
    h.send_at(std::chrono::seconds(i), std::to_string(i));
  h.run();
  auto times = h.data_times();
  ASSERT_EQ(times.size(), static_cast<std::size_t>(n));
  Clock::duration lo = 1h, hi = -1h;
  std::set<Clock::duration> distinct;
  for (int i = 0; i < n; ++i) {
    Clock::duration delay = times[i] - std::chrono::seconds(i);
    EXPECT_GE(delay, 80ms) << i;
    EXPECT_LE(delay, 120ms) << i;
    lo = std::min(lo, delay);
    hi = std::max(hi, delay);
    distinct.insert(delay);
  }
  // Uniform over ±20 ms: 300 draws reach both ends' outer 4 ms.
  EXPECT_LT(lo, 84ms);
  EXPECT_GT(hi, 116ms);
  EXPECT_GT(distinct.size(), 290u);
}

TEST(LatencyFault, JitterNeverDeliversEarlyOrOutOfOrder) {
  // jitter > latency: a draw below zero is clamped to "on arrival"; 1 ms apart, chunks that
  // drew a shorter delay than the one before wait for it.
  FaultHarness h("- {type: latency, latency: 10ms, jitter: 50ms}");
  const int n = 100;
  std::string sent;
  for (int i = 0; i < n; ++i) {
    std::string piece = std::to_string(i) + ",";
    sent += piece;
    h.send_at(std::chrono::milliseconds(i), piece);
  }
  h.eof_at(100ms);
  h.run();
  EXPECT_EQ(h.delivered(), sent);  // in order
  auto times = h.data_times();
  ASSERT_EQ(times.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_GE(times[i], std::chrono::milliseconds(i)) << i;
    if (i > 0) {
      EXPECT_GE(times[i], times[i - 1]) << i;
    }
  }
  // The EOF comes after every chunk, even one that drew +50 ms.
  EXPECT_EQ(h.events().back().kind, Kind::finish);
  EXPECT_GE(h.events().back().at, times.back());
  EXPECT_GE(h.events().back().at, 110ms);
}

TEST(LatencyFault, NormalJitterIsClampedAtThreeSigma) {
  FaultHarness h("- {type: latency, latency: 500ms, jitter: 10ms, distribution: normal}");
  const int n = 2000;
  for (int i = 0; i < n; ++i)
    h.send_at(std::chrono::seconds(i), "x");
  h.run();
  auto times = h.data_times();
  ASSERT_EQ(times.size(), static_cast<std::size_t>(n));
  double sum = 0, sum2 = 0;
  int beyond_one_sigma = 0;
  for (int i = 0; i < n; ++i) {
    double ms =
        std::chrono::duration<double, std::milli>(times[i] - std::chrono::seconds(i) - 500ms)
            .count();
    EXPECT_GE(ms, -30.0) << i;
    EXPECT_LE(ms, 30.0) << i;
    sum += ms;
    sum2 += ms * ms;
    if (std::abs(ms) > 10.0) ++beyond_one_sigma;
  }
  double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 1.5);
  EXPECT_NEAR(sd, 10.0, 1.0);
  // ~31.7 % beyond 1σ for a normal; a uniform ±10 ms would give 0.
  EXPECT_GT(beyond_one_sigma, n / 4);
  EXPECT_LT(beyond_one_sigma, n * 4 / 10);
}

TEST(LatencyFault, SameSeedSameTimesOtherSeedOtherTimes) {
  auto run = [](std::uint64_t seed) {
    FaultHarness h("- {type: latency, latency: 100ms, jitter: 30ms}", seed);
    for (int i = 0; i < 50; ++i)
      h.send_at(std::chrono::seconds(i), "x");
    h.run();
    return h.data_times();
  };
  EXPECT_EQ(run(11), run(11));
  EXPECT_NE(run(11), run(12));
}

TEST(LatencyFault, StackedLatenciesAdd) {
  FaultHarness h(
      "- {type: latency, name: first, latency: 100ms}\n"
      "- {type: latency, name: second, latency: 50ms}");
  h.send_at(0ms, "a");
  h.send_at(10ms, "b");
  h.eof_at(20ms);
  h.run();
  ASSERT_EQ(h.events().size(), 3u);
  EXPECT_EQ(h.events()[0].at, 150ms);
  EXPECT_EQ(h.events()[1].at, 160ms);
  EXPECT_EQ(h.events()[2].kind, Kind::finish);
  EXPECT_EQ(h.events()[2].at, 170ms);
}

TEST(LatencyFault, ToxicityZeroHasNoEffect) {
  FaultHarness h("- {type: latency, latency: 100ms, toxicity: 0}");
  EXPECT_FALSE(h.stage_present());
  h.send_at(0ms, "a");
  h.eof_at(1ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].at, 0ms);
  EXPECT_EQ(h.events()[1].at, 1ms);
}

TEST(LatencyFault, OtherConnectionsAreNotDelayed) {
  FaultHarness h("- {type: latency, latency: 100ms, connections: {first: 1}}", 1, 2);
  EXPECT_FALSE(h.stage_present());
  h.send_at(0ms, "a");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].at, 0ms);
}

TEST(LatencyFault, AfterAndDurationBoundWhichChunksAreDelayed) {
  {
    FaultHarness h("- {type: latency, latency: 100ms, after: 50ms}");
    h.send_at(0ms, "early");
    h.send_at(60ms, "late");
    h.run();
    ASSERT_EQ(h.events().size(), 2u);
    EXPECT_EQ(h.events()[0].at, 0ms);
    EXPECT_EQ(h.events()[1].at, 160ms);
  }
  {
    FaultHarness h("- {type: latency, latency: 100ms, duration: 50ms}");
    h.send_at(0ms, "in");
    h.send_at(60ms, "out");
    h.send_at(200ms, "later");
    h.run();
    ASSERT_EQ(h.events().size(), 3u);
    EXPECT_EQ(h.events()[0].at, 100ms);
    // Not delayed, but not ahead of the chunk before it either: it waited behind it.
    EXPECT_EQ(h.events()[1].at, 100ms);
    EXPECT_EQ(h.events()[2].at, 200ms);
    EXPECT_EQ(h.delivered(), "inoutlater");
  }
}

TEST(LatencyFault, AFullQueueHoldsTheReaderBackUntilAChunkLeaves) {
  // 600-byte chunks, all sent at once. With `queue: 1KiB` one fits; the next is taken only
  // when the first has been delivered, so the reader (and, for real, TCP) waits.
  for (const std::string queue : {"", ", queue: 1KiB"}) {
    FaultHarness h("- {type: latency, latency: 100ms" + queue + "}");
    for (int i = 0; i < 3; ++i)
      h.send_at(0ms, std::string(600, static_cast<char>('a' + i)));
    h.eof_at(0ms);
    h.run();
    auto accepted = h.write_accepted();
    ASSERT_EQ(accepted.size(), 3u) << queue;
    auto times = h.data_times();
    ASSERT_EQ(times.size(), 3u) << queue;
    EXPECT_EQ(h.delivered(), std::string(600, 'a') + std::string(600, 'b') + std::string(600, 'c'));
    if (queue.empty()) {
      // The default (128 MiB) takes them all at once.
      for (int i = 0; i < 3; ++i)
        EXPECT_EQ(accepted[i], 0ms) << i;
    } else {
      // The second, read at 0 ms, is taken when the first leaves at 100 ms and is already due;
      // the third is read only then, so it leaves at 200 ms.
      EXPECT_EQ(accepted[0], 0ms);
      EXPECT_EQ(accepted[1], 100ms);
      EXPECT_EQ(accepted[2], 100ms);
      EXPECT_EQ(times[0], 100ms);
      EXPECT_EQ(times[1], 100ms);
      EXPECT_EQ(times[2], 200ms);
    }
  }
}

TEST(LatencyFault, RefusesBadAttributes) {
  {
    auto e = error_of("- {type: latency, latency: 100}");
    EXPECT_NE(e.field().find("latency"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  {
    auto e = error_of("- {type: latency, latency: 100ms, jitter: lots}");
    EXPECT_NE(e.field().find("jitter"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  {
    auto e = error_of("- {type: latency, latency: 1s, distribution: gaussian}");
    EXPECT_NE(e.field().find("distribution"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("uniform, normal"), std::string::npos) << e.what();
  }
  {
    auto e = error_of("- {type: latency, latncy: 1s}");
    EXPECT_NE(e.field().find("latncy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  for (const char* queue : {"0", "2GiB", "lots"}) {
    auto e = error_of(std::string("- {type: latency, latency: 1s, queue: ") + queue + "}");
    EXPECT_NE(e.field().find("queue"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected a size"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(compile_fault("- {type: delay, latency: 1s, jitter: 0s, distribution: normal}"));
  EXPECT_NO_THROW(compile_fault("- {type: latency, latency: 1s, queue: 256MiB}"));
}

}  // namespace
}  // namespace faultline::test
