// drop on the virtual clock: the bytes that pass, the cut, silence after (EOF included).
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(DropFault, PassesAfterBytesCutsTheCrossingChunkThenDiscardsEverything) {
  FaultHarness h("- {type: drop, after_bytes: 4}");
  h.send_at(0ms, "12345678");
  h.send_at(10ms, "more");
  h.eof_at(20ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u) << "nothing after the first 4 bytes, not even the EOF";
  EXPECT_EQ(h.events()[0].kind, Kind::data);
  EXPECT_EQ(h.events()[0].bytes, "1234");
  EXPECT_EQ(h.events()[0].at, 0ms);
  EXPECT_FALSE(h.aborted()) << "the connection stays open";
  EXPECT_EQ(h.fired().at("drop"), 1u);
}

TEST(DropFault, WholeChunksPassUntilTheLimit) {
  FaultHarness h("- {type: drop, after_bytes: 10}");
  h.send_at(0ms, "abc");
  h.send_at(5ms, "defg");
  h.send_at(10ms, "hijkl");
  h.send_at(15ms, "mno");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{3, 4, 3}));
  EXPECT_EQ(h.delivered(), "abcdefghij");
  EXPECT_EQ(h.events()[2].at, 10ms);
}

TEST(DropFault, ALimitReachedExactlyDropsFromTheNextChunk) {
  FaultHarness h("- {type: drop, after_bytes: 5}");
  h.send_at(0ms, "hello");
  h.send_at(5ms, "world");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{5}));
  EXPECT_EQ(h.fired().at("drop"), 1u);
}

TEST(DropFault, DefaultDropsEverythingFromTheStart) {
  FaultHarness h("- {type: blackhole}");
  h.send_at(0ms, "hello");
  h.eof_at(5ms);
  h.run();
  EXPECT_TRUE(h.events().empty());
  EXPECT_FALSE(h.aborted());
}

TEST(DropFault, AnEofBeforeTheLimitIsStillSwallowed) {
  // Silence is the point: a FIN would end the peer's wait instead of letting it time out.
  FaultHarness h("- {type: drop, after_bytes: 100}");
  h.send_at(0ms, "hello");
  h.eof_at(5ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].bytes, "hello");
  EXPECT_EQ(h.fired().at("drop"), 1u);
}

TEST(DropFault, ToxicityZeroChangesNothing) {
  FaultHarness h("- {type: drop, toxicity: 0}");
  h.send_at(0ms, "hello");
  h.eof_at(5ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "hello");
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
  EXPECT_EQ(h.events()[1].at, 5ms);
}

TEST(DropFault, OtherConnectionsAreUntouched) {
  FaultHarness h("- {type: drop, connections: {first: 1}}", 1, 2);
  h.send_at(0ms, "hello");
  h.eof_at(5ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "hello");
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
}

TEST(DropFault, AfterLetsEarlyBytesThrough) {
  FaultHarness h("- {type: drop, after: 100ms}");
  h.send_at(0ms, "early");
  h.send_at(150ms, "late");
  h.eof_at(200ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].bytes, "early");
}

TEST(DropFault, DurationEndsTheSilence) {
  FaultHarness h("- {type: drop, duration: 100ms}");
  h.send_at(50ms, "lost");
  h.send_at(150ms, "found");
  h.eof_at(200ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "found");
  EXPECT_EQ(h.events()[0].at, 150ms);
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
}

TEST(DropFault, AttributesAreTypedAndChecked) {
  EXPECT_EQ(compile_fault("- {type: blackhole, after_bytes: 1KiB}").spec.type, "drop");
  auto bad = error_of("- {type: drop, after_bytes: -1}");
  EXPECT_NE(std::string(bad.what()).find("after_bytes"), std::string::npos) << bad.what();
  EXPECT_NE(std::string(bad.what()).find("expected"), std::string::npos) << bad.what();
  EXPECT_NE(std::string(bad.what()).find("test.yaml:"), std::string::npos) << bad.what();
  auto typo = error_of("- {type: drop, after_byte: 4}");
  EXPECT_NE(std::string(typo.what()).find("after_byte"), std::string::npos) << typo.what();
}

}  // namespace
}  // namespace faultline::test
