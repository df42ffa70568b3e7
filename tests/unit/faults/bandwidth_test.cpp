// bandwidth on the virtual clock: exact pieces and pacing times, backpressure, conditions.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"
#include "tests/support/net.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(BandwidthFault, CutsAChunkIntoTenMillisecondPiecesAtTheRate) {
  // 1MB/s = 10 000 bytes per 10 ms.
  FaultHarness h("- {type: bandwidth, rate: 1MB/s}");
  const std::string payload = random_bytes(100000, 3);
  h.send_at(0ms, payload);
  h.eof_at(0ms);
  h.run();
  EXPECT_EQ(h.delivered(), payload);
  EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>(10, 10000));
  auto times = h.data_times();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(times[i], std::chrono::milliseconds(10 * i)) << i;
  // Backpressure: the write (and so the reader) was held until the last piece went.
  EXPECT_EQ(h.write_accepted(), std::vector<Clock::duration>{90ms});
  // The EOF follows the last piece (it waited behind the write).
  EXPECT_EQ(h.events().back().kind, Kind::finish);
  EXPECT_EQ(h.events().back().at, 90ms);
  EXPECT_EQ(h.fired().at("bandwidth"), 1u);
}

TEST(BandwidthFault, ExactRateOverSeveralSecondsOfReads) {
  // 3 MiB in 64 KiB reads through 500KiB/s (512 000 B/s, 5 120 B pieces): every piece starts
  // exactly when the bytes before it have had their time.
  FaultHarness h("- {type: bandwidth, rate: 500KiB/s}");
  const std::size_t chunk = 64 * 1024, chunks = 48;
  for (std::size_t i = 0; i < chunks; ++i)
    h.send_at(0ms, std::string(chunk, 'a' + i % 26));
  h.eof_at(0ms);
  h.run();
  std::size_t before = 0;
  const auto& events = h.events();
  for (const auto& e : events) {
    if (e.kind != Kind::data) continue;
    ASSERT_LE(e.bytes.size(), 5120u);
    auto due = std::chrono::nanoseconds(std::llround(before * 1e9 / 512000.0));
    ASSERT_EQ(e.at, due) << "after " << before << " bytes";
    before += e.bytes.size();
  }
  EXPECT_EQ(before, chunk * chunks);
  // 3 MiB at 512 000 B/s is 6.144 s; the last piece (4 096 B: 64 KiB = 12 x 5 120 + 4 096)
  // starts its 8 ms before that, and the EOF follows it.
  EXPECT_EQ(events.back().kind, Kind::finish);
  EXPECT_EQ(events.back().at, 6136ms);
  EXPECT_EQ(events[events.size() - 2].bytes.size(), 4096u);
}

TEST(BandwidthFault, AnIdleSpellSavesNoMoreThanOnePiece) {
  FaultHarness h("- {type: bandwidth, rate: 1MB/s}");
  h.send_at(0ms, std::string(10000, 'a'));
  h.send_at(1s, std::string(30000, 'b'));
  h.run();
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 1000ms, 1010ms, 1020ms}));
}

TEST(BandwidthFault, APauseShorterThanAPieceContinuesTheSchedule) {
  // The schedule ran out at 10 ms. A chunk at 15 ms (5 ms behind, less than a piece's 10 ms)
  // catches up: two pieces at once. One at 25 ms (15 ms behind) starts a new schedule.
  for (auto [at, expected] :
       {std::pair{15ms, std::vector<Clock::duration>{0ms, 15ms, 20ms, 30ms}},
        std::pair{25ms, std::vector<Clock::duration>{0ms, 25ms, 35ms, 45ms}}}) {
    FaultHarness h("- {type: bandwidth, rate: 1MB/s}");
    h.send_at(0ms, std::string(10000, 'a'));
    h.send_at(at, std::string(30000, 'b'));
    h.run();
    EXPECT_EQ(h.data_times(), expected) << "second chunk at " << at.count() << " ms";
  }
}

TEST(BandwidthFault, SmallWritesShareTheSchedule) {
  // 5 000 B then 5 000 B 1 ms later: the second waits until the first has had its 5 ms.
  FaultHarness h("- {type: bandwidth, rate: 1MB/s}");
  h.send_at(0ms, std::string(5000, 'a'));
  h.send_at(1ms, std::string(5000, 'b'));
  h.send_at(2ms, std::string(5000, 'c'));
  h.run();
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 5ms, 10ms}));
  EXPECT_EQ(h.write_accepted(), (std::vector<Clock::duration>{0ms, 5ms, 10ms}));
}

TEST(BandwidthFault, TinyRatesSendOneByteAtATimeWithoutDrift) {
  // 3 B/s: a 10 ms piece would be 0.03 bytes, so pieces are 1 byte, 333 333 333.3 ns apart.
  FaultHarness h("- {type: bandwidth, rate: 3B/s}");
  h.send_at(0ms, "abcd");
  h.run();
  EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>(4, 1));
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ns, 333333333ns, 666666667ns, 1s}));
}

TEST(BandwidthFault, ASlowReaderIsNotGivenABurstAfterwards) {
  // The sink takes 50 ms per write: the rate is the sink's, and no credit piles up meanwhile.
  FaultHarness h("- {type: bandwidth, rate: 1MB/s}");
  h.set_sink_write_time(50ms);
  h.send_at(0ms, std::string(30000, 'x'));
  h.run();
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{50ms, 100ms, 150ms}));
}

TEST(BandwidthFault, ToxicityZeroAndOtherConnectionsHaveNoEffect) {
  for (auto [yaml, index] :
       {std::pair{"- {type: bandwidth, rate: 1KB/s, toxicity: 0}", 1},
        std::pair{"- {type: bandwidth, rate: 1KB/s, connections: {first: 1}}", 2}}) {
    FaultHarness h(yaml, 1, index);
    EXPECT_FALSE(h.stage_present()) << yaml;
    h.send_at(0ms, std::string(5000, 'x'));
    h.run();
    EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>{5000}) << yaml;
    EXPECT_EQ(h.data_times(), std::vector<Clock::duration>{0ms}) << yaml;
  }
}

TEST(BandwidthFault, AfterAndDurationBoundWhichChunksArePaced) {
  FaultHarness h("- {type: bandwidth, rate: 1MB/s, after: 100ms, duration: 1s}");
  h.send_at(0ms, std::string(20000, 'a'));     // before: whole, at once
  h.send_at(200ms, std::string(20000, 'b'));   // during: two pieces
  h.send_at(2000ms, std::string(20000, 'c'));  // after: whole, at once
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{20000, 10000, 10000, 20000}));
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 200ms, 210ms, 2000ms}));
}

TEST(BandwidthFault, RefusesAMissingOrBadRate) {
  for (const char* yaml :
       {"- {type: bandwidth}", "- {type: bandwidth, rate: 0B/s}",
        "- {type: bandwidth, rate: -1MB/s}", "- {type: bandwidth, rate: 1MB}",
        "- {type: bandwidth, rate: fast}", "- {type: bandwidth, rate: 4bit/s}"}) {
    auto e = error_of(yaml);
    EXPECT_NE(e.field().find("rate"), std::string::npos) << yaml << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  auto e = error_of("- {type: bandwidth, rate: 1MB/s, burst: 1MB}");
  EXPECT_NE(e.field().find("burst"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace faultline::test
