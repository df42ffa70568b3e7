// slicer on the virtual clock: exact piece sizes and times, random sizes, conditions, config.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"
#include "tests/support/net.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(SlicerFault, OneBytePiecesOneMillisecondApart) {
  FaultHarness h("- {type: slicer, average_size: 1, delay: 1ms}");
  h.send_at(0ms, "hello");
  h.eof_at(0ms);
  h.run();
  EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>(5, 1));
  EXPECT_EQ(h.delivered(), "hello");
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 1ms, 2ms, 3ms, 4ms}));
  // The reader waited for the last piece (no queue), then the EOF went on.
  EXPECT_EQ(h.write_accepted(), std::vector<Clock::duration>{4ms});
  EXPECT_EQ(h.events().back().kind, Kind::finish);
  EXPECT_EQ(h.events().back().at, 4ms);
  EXPECT_EQ(h.fired().at("slicer"), 1u);
}

TEST(SlicerFault, FixedSizeWithoutDelayLeavesARemainder) {
  FaultHarness h("- {type: split, average_size: 3}");
  h.send_at(0ms, "abcdefgh");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{3, 3, 2}));
  EXPECT_EQ(h.delivered(), "abcdefgh");
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 0ms, 0ms}));
}

TEST(SlicerFault, AChunkNoBiggerThanAPieceGoesWhole) {
  FaultHarness h("- {type: slicer, average_size: 64KiB}");
  h.send_at(0ms, "small");
  h.run();
  EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>{5});
}

TEST(SlicerFault, TheDelayAlsoSeparatesPiecesOfConsecutiveChunks) {
  FaultHarness h("- {type: slicer, average_size: 100, delay: 10ms}");
  h.send_at(0ms, "a");
  h.send_at(2ms, "b");   // 10 ms after "a"
  h.send_at(50ms, "c");  // long after: at once
  h.run();
  EXPECT_EQ(h.data_times(), (std::vector<Clock::duration>{0ms, 10ms, 50ms}));
  EXPECT_EQ(h.write_accepted(), (std::vector<Clock::duration>{0ms, 10ms, 50ms}));
}

TEST(SlicerFault, RandomSizesStayInRangeAndReplayWithTheSeed) {
  auto run = [](std::uint64_t seed) {
    FaultHarness h("- {type: slicer, average_size: 10, size_variation: 5}", seed);
    const std::string payload = random_bytes(20000, 5);
    h.send_at(0ms, payload);
    h.run();
    EXPECT_EQ(h.delivered(), payload);
    return h.piece_sizes();
  };
  auto sizes = run(1);
  ASSERT_GT(sizes.size(), 1000u);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    ASSERT_GE(sizes[i], 5u) << i;
    ASSERT_LE(sizes[i], 15u) << i;
  }
  EXPECT_LE(sizes.back(), 15u);  // the remainder may be smaller than 5
  EXPECT_EQ(*std::min_element(sizes.begin(), sizes.end() - 1), 5u);
  EXPECT_EQ(*std::max_element(sizes.begin(), sizes.end()), 15u);
  EXPECT_EQ(run(1), sizes);
  EXPECT_NE(run(2), sizes);
}

TEST(SlicerFault, ToxicityZeroAndOtherConnectionsHaveNoEffect) {
  for (auto [yaml, index] :
       {std::pair{"- {type: slicer, average_size: 1, delay: 1ms, toxicity: 0}", 1},
        std::pair{"- {type: slicer, average_size: 1, delay: 1ms, connections: {first: 1}}", 2}}) {
    FaultHarness h(yaml, 1, index);
    EXPECT_FALSE(h.stage_present()) << yaml;
    h.send_at(0ms, "hello");
    h.run();
    EXPECT_EQ(h.piece_sizes(), std::vector<std::size_t>{5}) << yaml;
  }
}

TEST(SlicerFault, AfterAndDurationBoundWhichChunksAreCut) {
  FaultHarness h("- {type: slicer, average_size: 2, after: 10ms, duration: 10ms}");
  h.send_at(0ms, "abcd");
  h.send_at(15ms, "efgh");
  h.send_at(20ms, "ijkl");  // active_until is exclusive
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{4, 2, 2, 4}));
  EXPECT_EQ(h.delivered(), "abcdefghijkl");
}

TEST(SlicerFault, RefusesBadSizes) {
  struct Case {
    const char* yaml;
    const char* field;
  };
  for (auto c : {Case{"- {type: slicer}", "average_size"},
                 Case{"- {type: slicer, average_size: 0}", "average_size"},
                 Case{"- {type: slicer, average_size: 1.5}", "average_size"},
                 Case{"- {type: slicer, average_size: 10, size_variation: 10}", "size_variation"},
                 Case{"- {type: slicer, average_size: 10, size_variation: 20}", "size_variation"},
                 Case{"- {type: slicer, average_size: 10, delay: 5}", "delay"}}) {
    auto e = error_of(c.yaml);
    EXPECT_NE(e.field().find(c.field), std::string::npos) << c.yaml << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(
      compile_fault("- {type: slicer, average_size: 10, size_variation: 9, delay: 10us}"));
}

}  // namespace
}  // namespace faultline::test
