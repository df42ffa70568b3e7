// reset_peer on the virtual clock: which trigger fires when, what passes before, and the RST's
// target.
#include <gtest/gtest.h>

#include <string>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;
using faults::Abort;
using faults::Peer;

void expect_reset(const SinkEvent& e, Clock::duration at, Peer who) {
  EXPECT_EQ(e.kind, Kind::abort);
  EXPECT_EQ(e.how, Abort::reset);
  EXPECT_EQ(e.who, who);
  EXPECT_EQ(e.at, at);
}

TEST(ResetPeerFault, AfterBytesPassesThemCutsTheChunkThenResetsTheClient) {
  FaultHarness h("- {type: reset_peer, after_bytes: 5}");
  h.send_at(0ms, "hello world");
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "hello");
  expect_reset(h.events()[1], 0ms, Peer::client);
  EXPECT_EQ(h.fired().at("reset_peer"), 1u);
}

TEST(ResetPeerFault, AfterBytesCountsAcrossChunks) {
  FaultHarness h("- {type: reset, after_bytes: 8}");
  h.send_at(0ms, "hello");
  h.send_at(10ms, "world");
  h.send_at(20ms, "never");
  h.run();
  EXPECT_EQ(h.piece_sizes(), (std::vector<std::size_t>{5, 3}));
  ASSERT_EQ(h.events().size(), 3u);
  expect_reset(h.events()[2], 10ms, Peer::client);
}

TEST(ResetPeerFault, AfterBytesThenTimeoutDiscardsMeanwhile) {
  FaultHarness h("- {type: reset_peer, after_bytes: 5, timeout: 100ms}");
  h.send_at(0ms, "hello world");
  h.send_at(50ms, "more");
  h.eof_at(60ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u) << "nothing between the limit and the reset, not the EOF";
  EXPECT_EQ(h.events()[0].bytes, "hello");
  expect_reset(h.events()[1], 100ms, Peer::client);
}

TEST(ResetPeerFault, AStreamEndingBeforeTheByteLimitClosesNormally) {
  FaultHarness h("- {type: reset_peer, after_bytes: 100}");
  h.send_at(0ms, "hello");
  h.eof_at(10ms);
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
  EXPECT_FALSE(h.aborted());
}

TEST(ResetPeerFault, ToxiproxyTriggerTheFirstChunkIsNotDelivered) {
  FaultHarness h("- {type: rst}");
  h.send_at(10ms, "first");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  expect_reset(h.events()[0], 10ms, Peer::client);
}

TEST(ResetPeerFault, ToxiproxyTriggerResetsTimeoutAfterTheFirstChunk) {
  FaultHarness h("- {type: reset_peer, timeout: 100ms}");
  h.send_at(10ms, "first");
  h.send_at(50ms, "second");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  expect_reset(h.events()[0], 110ms, Peer::client);
}

TEST(ResetPeerFault, ToxiproxyTriggerAnEofTriggersLikeAChunk) {
  FaultHarness h("- {type: reset_peer, timeout: 50ms}");
  h.eof_at(20ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u) << "the FIN is replaced by the RST";
  expect_reset(h.events()[0], 70ms, Peer::client);
}

TEST(ResetPeerFault, ToxiproxyTriggerLeavesAnIdleConnectionAlone) {
  FaultHarness h("- {type: reset_peer, timeout: 50ms}");
  h.run();
  EXPECT_TRUE(h.events().empty());
}

TEST(ResetPeerFault, AfterResetsAnIdleConnectionOnTime) {
  FaultHarness h("- {type: reset_peer, after: 300ms}");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  expect_reset(h.events()[0], 300ms, Peer::client);
  EXPECT_EQ(h.fired().at("reset_peer"), 1u);
}

TEST(ResetPeerFault, AfterPlusTimeoutLetsEarlyDataPassAndDropsTheRest) {
  FaultHarness h("- {type: reset_peer, after: 300ms, timeout: 100ms}");
  h.send_at(100ms, "early");
  h.send_at(350ms, "late");
  h.run();
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "early");
  expect_reset(h.events()[1], 400ms, Peer::client);
}

TEST(ResetPeerFault, AfterHoldsAnEofUntilTheReset) {
  FaultHarness h("- {type: reset_peer, after: 300ms, timeout: 100ms}");
  h.eof_at(350ms);
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  expect_reset(h.events()[0], 400ms, Peer::client);
}

TEST(ResetPeerFault, AWindowEndingBeforeTheResetNeverFiresAndChangesNothing) {
  FaultHarness h("- {type: reset_peer, after: 300ms, timeout: 200ms, duration: 100ms}");
  h.send_at(350ms, "lost");
  h.send_at(450ms, "found");
  h.eof_at(600ms);
  h.run();
  EXPECT_FALSE(h.aborted());
  EXPECT_EQ(h.delivered(), "lostfound") << "a reset that cannot happen drops nothing either";
  EXPECT_EQ(h.events().back().kind, Kind::finish);
}

TEST(ResetPeerFault, TargetPicksTheSocketThatGetsTheRst) {
  for (auto [name, peer] : {std::pair{"client", Peer::client},
                            std::pair{"upstream", Peer::upstream}, std::pair{"both", Peer::both}}) {
    FaultHarness h(std::string("- {type: reset_peer, target: ") + name + "}");
    h.send_at(0ms, "x");
    h.run();
    ASSERT_EQ(h.events().size(), 1u) << name;
    expect_reset(h.events()[0], 0ms, peer);
  }
}

TEST(ResetPeerFault, ToxicityZeroChangesNothing) {
  FaultHarness h("- {type: reset_peer, toxicity: 0}");
  h.send_at(0ms, "hello");
  h.eof_at(5ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  ASSERT_EQ(h.events().size(), 2u);
  EXPECT_EQ(h.events()[0].bytes, "hello");
  EXPECT_EQ(h.events()[1].kind, Kind::finish);
}

TEST(ResetPeerFault, OtherConnectionsAreUntouched) {
  FaultHarness h("- {type: reset_peer, after: 10ms, connections: {first: 1}}", 1, 2);
  h.send_at(20ms, "hello");
  h.eof_at(30ms);
  h.run();
  EXPECT_FALSE(h.stage_present());
  EXPECT_EQ(h.delivered(), "hello");
  EXPECT_FALSE(h.aborted());
}

TEST(ResetPeerFault, HalfTheConnectionsWithTheSameSeedAreTheSameHalf) {
  auto pattern = [](std::uint64_t seed) {
    std::string hits;
    for (std::uint64_t i = 1; i <= 32; ++i) {
      FaultHarness h("- {type: reset_peer, toxicity: 0.5}", seed, i);
      h.send_at(0ms, "x");
      h.run();
      hits += h.aborted() ? '1' : '0';
    }
    return hits;
  };
  const std::string a = pattern(42);
  EXPECT_EQ(a, pattern(42));
  EXPECT_NE(a.find('1'), std::string::npos);
  EXPECT_NE(a.find('0'), std::string::npos);
}

TEST(ResetPeerFault, AttributesAreTypedAndChecked) {
  EXPECT_EQ(compile_fault("- {type: rst}").spec.type, "reset_peer");
  EXPECT_EQ(
      compile_fault("- {type: reset, target: both, after_bytes: 1KiB, timeout: 2s}").spec.type,
      "reset_peer");
  auto target = error_of("- {type: reset_peer, target: server}");
  EXPECT_NE(std::string(target.what()).find("target"), std::string::npos) << target.what();
  EXPECT_NE(std::string(target.what()).find("expected one of client, upstream, both"),
            std::string::npos)
      << target.what();
  auto timeout = error_of("- {type: reset_peer, timeout: 100}");
  EXPECT_NE(std::string(timeout.what()).find("timeout"), std::string::npos) << timeout.what();
  EXPECT_NE(std::string(timeout.what()).find("expected a duration"), std::string::npos);
  auto bytes = error_of("- {type: reset_peer, after_bytes: lots}");
  EXPECT_NE(std::string(bytes.what()).find("after_bytes"), std::string::npos) << bytes.what();
  EXPECT_NE(std::string(bytes.what()).find("expected a size"), std::string::npos);
}

}  // namespace
}  // namespace faultline::test
