// limit_data on the virtual clock: exactly `bytes` pass, then a close (FIN) both ways.
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

void expect_close(const SinkEvent& e, Clock::duration at) {
  EXPECT_EQ(e.kind, Kind::abort);
  EXPECT_EQ(e.how, faults::Abort::close);
  EXPECT_EQ(e.who, faults::Peer::both);
  EXPECT_EQ(e.at, at);
}

TEST(LimitDataFault, PassesExactlyTheLimitThenCloses) {
  FaultHarness h("- {type: limit_data, bytes: 10}");
  h.send_at(0ms, "0123456789abcdefghij");
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "0123456789");
  expect_close(h.events()[1], 0ms);
  EXPECT_EQ(h.fired().at("limit_data"), 1u);
}

TEST(LimitDataFault, CountsAcrossChunks) {
  FaultHarness h("- {type: limit_data, bytes: 10}");
  h.send_at(0ms, "abcd");
  h.send_at(5ms, "efgh");
  h.send_at(10ms, "ijkl");
  h.send_at(15ms, "mnop");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{4, 4, 2}));
  EXPECT_EQ(h.delivered(), "abcdefghij");
  ASSERT_EQ(h.events().size(), 4u);
  expect_close(h.events()[3], 10ms);
}

TEST(LimitDataFault, ALimitReachedOnAChunkBoundaryClosesAtOnce) {
  FaultHarness h("- {type: limit_data, bytes: 8}");
  h.send_at(0ms, "abcd");
  h.send_at(5ms, "efgh");
  h.send_at(10ms, "ijkl");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{4, 4}));
  ASSERT_EQ(h.events().size(), 3u);
  expect_close(h.events()[2], 5ms);
}

TEST(LimitDataFault, ZeroClosesOnTheFirstChunk) {
  FaultHarness h("- {type: limit_data, bytes: 0}");
  h.send_at(20ms, "abcd");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  expect_close(h.events()[0], 20ms);
}

TEST(LimitDataFault, AStreamShorterThanTheLimitEndsNormally) {
  FaultHarness h("- {type: limit_data, bytes: 1KiB}");
  h.send_at(0ms, "abcd");
  h.eof_at(5ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
  EXPECT_FALSE(h.aborted());
}

TEST(LimitDataFault, OnlyBytesInsideTheWindowCount) {
  FaultHarness h("- {type: limit_data, bytes: 3, after: 100ms}");
  h.send_at(0ms, "abcdef");
  h.send_at(150ms, "ghijk");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{6, 3}));
  EXPECT_EQ(h.delivered(), "abcdefghi");
  ASSERT_EQ(h.events().size(), 3u);
  expect_close(h.events()[2], 150ms);
}

TEST(LimitDataFault, ToxicityZeroChangesNothing) {
  FaultHarness h("- {type: limit_data, bytes: 2, toxicity: 0}");
  h.send_at(0ms, "abcd");
  h.eof_at(5ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "abcd");
  EXPECT_FALSE(h.aborted());
}

TEST(LimitDataFault, OtherConnectionsAreUntouched) {
  FaultHarness h("- {type: limit_data, bytes: 2, connections: {first: 1}}", 1, 2);
  h.send_at(0ms, "abcd");
  h.eof_at(5ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "abcd");
  EXPECT_FALSE(h.aborted());
}

TEST(LimitDataFault, BytesIsARequiredSize) {
  auto missing = error_of("- {type: limit_data}");
  EXPECT_NE(std::string(missing.what()).find("bytes"), std::string::npos) << missing.what();
  EXPECT_NE(std::string(missing.what()).find("expected a size"), std::string::npos);
  EXPECT_NE(std::string(missing.what()).find("missing"), std::string::npos);
  auto fractional = error_of("- {type: limit_data, bytes: 1.5}");
  EXPECT_NE(std::string(fractional.what()).find("bytes"), std::string::npos);
  EXPECT_NE(std::string(fractional.what()).find("expected"), std::string::npos);
  EXPECT_NO_THROW(compile_fault("- {type: limit_data, bytes: 64KiB}"));
}

}  // namespace
}  // namespace faultline::test
