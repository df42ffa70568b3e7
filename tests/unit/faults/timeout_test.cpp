// timeout on the virtual clock: data stops, the close comes `timeout` after the last chunk.
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(TimeoutFault, ClosesTimeoutAfterTheLastChunkAndDeliversNothing) {
  FaultHarness h("- {type: timeout, timeout: 200ms}");
  h.send_at(0ms, "a");
  h.send_at(100ms, "b");
  h.send_at(150ms, "c");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].kind, Kind::abort);
  EXPECT_EQ(h.events()[0].at, 350ms) << "each chunk restarts the clock";
  EXPECT_EQ(h.events()[0].how, faults::Abort::close);
  EXPECT_EQ(h.events()[0].who, faults::Peer::both);
  EXPECT_EQ(h.fired().at("timeout"), 1u);
}

TEST(TimeoutFault, AnIdleConnectionClosesTimeoutAfterTheStart) {
  FaultHarness h("- {type: timeout, timeout: 200ms}");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].kind, Kind::abort);
  EXPECT_EQ(h.events()[0].at, 200ms);
}

TEST(TimeoutFault, TheEofIsSwallowedAndTheCloseStillComes) {
  FaultHarness h("- {type: timeout, timeout: 200ms}");
  h.send_at(30ms, "a");
  h.eof_at(50ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].kind, Kind::abort);
  EXPECT_EQ(h.events()[0].at, 230ms);
}

TEST(TimeoutFault, ZeroNeverClosesTheDataJustStops) {
  FaultHarness h("- {type: timeout}");
  h.send_at(0ms, "a");
  h.send_at(1000ms, "b");
  h.eof_at(2000ms);
  h.run();
  EXPECT_TRUE(h.events().empty());
  EXPECT_FALSE(h.aborted());
  EXPECT_EQ(h.fired().at("timeout"), 1u);
}

TEST(TimeoutFault, AfterDelaysTheStartAndTheClock) {
  FaultHarness h("- {type: timeout, timeout: 200ms, after: 1s}");
  h.send_at(500ms, "early");
  h.send_at(1100ms, "late");
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "early");
  EXPECT_EQ(h.events()[1].kind, Kind::abort);
  EXPECT_EQ(h.events()[1].at, 1300ms);
}

TEST(TimeoutFault, AnIdleConnectionWithAfterClosesAfterPlusTimeout) {
  FaultHarness h("- {type: timeout, timeout: 200ms, after: 1s}");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].at, 1200ms);
}

TEST(TimeoutFault, AWindowShorterThanTheTimeoutNeverCloses) {
  FaultHarness h("- {type: timeout, timeout: 200ms, duration: 100ms}");
  h.send_at(50ms, "lost");
  h.send_at(150ms, "found");
  h.eof_at(400ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "found");
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
  EXPECT_FALSE(h.aborted());
}

TEST(TimeoutFault, ToxicityZeroChangesNothing) {
  FaultHarness h("- {type: timeout, timeout: 10ms, toxicity: 0}");
  h.send_at(0ms, "a");
  h.send_at(100ms, "b");
  h.eof_at(200ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "ab");
  EXPECT_FALSE(h.aborted());
  ASSERT_EQ(h.events().size(), 3u);
  EXPECT_EQ(h.events()[2].kind, Kind::finish);
}

TEST(TimeoutFault, OtherConnectionsAreUntouched) {
  FaultHarness h("- {type: timeout, timeout: 10ms, connections: {first: 1}}", 1, 2);
  h.send_at(100ms, "a");
  h.eof_at(200ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "a");
  EXPECT_FALSE(h.aborted());
}

TEST(TimeoutFault, TheTimeoutIsADurationWithAUnit) {
  auto bad = error_of("- {type: timeout, timeout: 5}");
  EXPECT_NE(std::string(bad.what()).find("timeout"), std::string::npos) << bad.what();
  EXPECT_NE(std::string(bad.what()).find("expected a duration"), std::string::npos) << bad.what();
  auto negative = error_of("- {type: timeout, timeout: -1s}");
  EXPECT_NE(std::string(negative.what()).find("expected"), std::string::npos);
  EXPECT_NO_THROW(compile_fault("- {type: timeout, timeout: 0}"));
}

}  // namespace
}  // namespace faultline::test
