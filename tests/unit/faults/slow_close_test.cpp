// slow_close on the virtual clock: data untouched, the EOF `delay` late.
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

TEST(SlowCloseFault, DataPassesAtOnceTheEofDelayLater) {
  FaultHarness h("- {type: slow_close, delay: 300ms}");
  h.send_at(0ms, "bye");
  h.send_at(5ms, "!");
  h.eof_at(10ms);
  h.run();
  ASSERT_EQ(h.events().size(), 3u);
  EXPECT_EQ(h.events()[0].bytes, "bye");
  EXPECT_EQ(h.events()[0].at, 0ms);
  EXPECT_EQ(h.events()[1].at, 5ms);
  EXPECT_EQ(h.events()[2].kind, Kind::finish);
  EXPECT_EQ(h.events()[2].at, 310ms);
  EXPECT_FALSE(h.aborted());
  EXPECT_EQ(h.fired().at("slow_close"), 1u);
}

TEST(SlowCloseFault, AnEofBeforeTheStartIsNotHeld) {
  FaultHarness h("- {type: slow_close, delay: 300ms, after: 1s}");
  h.send_at(0ms, "bye");
  h.eof_at(10ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
  EXPECT_EQ(h.events()[1].at, 10ms);
}

TEST(SlowCloseFault, ToxicityZeroChangesNothing) {
  FaultHarness h("- {type: slow_close, delay: 300ms, toxicity: 0}");
  h.eof_at(10ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].at, 10ms);
}

TEST(SlowCloseFault, OtherConnectionsAreUntouched) {
  FaultHarness h("- {type: slow_close, delay: 300ms, connections: {first: 1}}", 1, 2);
  h.eof_at(10ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].at, 10ms);
}

TEST(SlowCloseFault, DelayIsARequiredDuration) {
  auto missing = error_of("- {type: slow_close}");
  EXPECT_NE(std::string(missing.what()).find("delay"), std::string::npos) << missing.what();
  EXPECT_NE(std::string(missing.what()).find("expected a duration"), std::string::npos);
  auto unitless = error_of("- {type: slow_close, delay: 300}");
  EXPECT_NE(std::string(unitless.what()).find("delay"), std::string::npos) << unitless.what();
  EXPECT_NE(std::string(unitless.what()).find("expected a duration"), std::string::npos);
}

}  // namespace
}  // namespace faultline::test
