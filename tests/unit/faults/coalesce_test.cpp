// coalesce on the virtual clock: merged writes, their exact times, backpressure, EOF, config.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

using Kind = SinkEvent::Kind;

struct Seen {
  Kind kind;
  Clock::duration at;
  std::string bytes;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << (s.kind == Kind::data ? "data \"" + s.bytes + "\"" : std::string("finish")) << " at "
            << std::chrono::duration<double, std::milli>(s.at).count() << "ms";
}

std::vector<Seen> seen(const FaultHarness& h) {
  std::vector<Seen> out;
  for (const auto& e : h.events())
    out.push_back({e.kind, e.at, e.bytes});
  return out;
}

Seen data(Clock::duration at, std::string bytes) {
  return {Kind::data, at, std::move(bytes)};
}
Seen finish(Clock::duration at) {
  return {Kind::finish, at, {}};
}

TEST(CoalesceFault, MergesWritesWithinTheWindowIntoOne) {
  FaultHarness h("- {type: coalesce, window: 50ms}");
  h.send_at(0ms, "first");
  h.send_at(5ms, "second");
  h.send_at(60ms, "third");  // a new window, from its own arrival
  h.eof_at(200ms);
  h.run();
  EXPECT_EQ(seen(h),
            (std::vector<Seen>{data(50ms, "firstsecond"), data(110ms, "third"), finish(200ms)}));
  // on_data only appends: the reader is never held while under max_bytes.
  EXPECT_EQ(h.write_accepted(), (std::vector<Clock::duration>{0ms, 5ms, 60ms}));
  EXPECT_EQ(h.fired().at("coalesce"), 1u);
}

TEST(CoalesceFault, HandsOnAsSoonAsMaxBytesAreHeld) {
  FaultHarness h("- {type: coalesce, window: 50ms, max_bytes: 10}");
  h.send_at(0ms, "12345");
  h.send_at(1ms, "67890");
  h.send_at(2ms, "abc");
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(1ms, "1234567890"), data(52ms, "abc")}));
}

TEST(CoalesceFault, NeverSplitsAChunkLargerThanMaxBytes) {
  FaultHarness h("- {type: coalesce, window: 50ms, max_bytes: 4}");
  h.send_at(0ms, "ab");
  h.send_at(1ms, "cdefgh");
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(1ms, "abcdefgh")}));
}

TEST(CoalesceFault, FullHoldingPushesBackOnTheReader) {
  // The sink takes 100 ms per write. "aaaa" fills the holding and goes at once; "bbbb" fills
  // it again and must wait until the sink took "aaaa"; the reader waits with it.
  FaultHarness h("- {type: coalesce, window: 1s, max_bytes: 4}");
  h.set_sink_write_time(100ms);
  h.send_at(0ms, "aaaa");
  h.send_at(1ms, "bbbb");
  h.send_at(2ms, "cc");
  h.run();
  EXPECT_EQ(h.write_accepted(), (std::vector<Clock::duration>{0ms, 100ms, 100ms}));
  // "cc" arrived at 100 ms (when the reader was let go), while "bbbb" was being written: it
  // starts a new window, handed on at 1100 ms and recorded when the sink is done with it.
  EXPECT_EQ(seen(h),
            (std::vector<Seen>{data(100ms, "aaaa"), data(200ms, "bbbb"), data(1200ms, "cc")}));
}

TEST(CoalesceFault, EofFlushesWhatIsHeldFirst) {
  FaultHarness h("- {type: coalesce, window: 1s}");
  h.send_at(0ms, "held");
  h.send_at(5ms, "+more");
  h.eof_at(10ms);
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(10ms, "held+more"), finish(10ms)}));
}

TEST(CoalesceFault, EofWithNothingHeldPassesAtOnce) {
  FaultHarness h("- {type: coalesce, window: 1s}");
  h.eof_at(10ms);
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{finish(10ms)}));
}

TEST(CoalesceFault, ToxicityZeroAndOtherConnectionsHaveNoEffect) {
  for (auto [yaml, index] :
       {std::pair{"- {type: coalesce, window: 50ms, toxicity: 0}", 1},
        std::pair{"- {type: coalesce, window: 50ms, connections: {first: 1}}", 2}}) {
    FaultHarness h(yaml, 1, index);
    EXPECT_FALSE(h.stage_present()) << yaml;
    h.send_at(0ms, "a");
    h.send_at(1ms, "b");
    h.run();
    EXPECT_EQ(seen(h), (std::vector<Seen>{data(0ms, "a"), data(1ms, "b")})) << yaml;
  }
}

TEST(CoalesceFault, AfterDelaysTheStart) {
  FaultHarness h("- {type: coalesce, window: 50ms, after: 100ms}");
  h.send_at(0ms, "a");
  h.send_at(1ms, "b");
  h.send_at(100ms, "c");
  h.send_at(120ms, "d");
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(0ms, "a"), data(1ms, "b"), data(150ms, "cd")}));
}

TEST(CoalesceFault, WhatIsHeldGoesWhenTheDurationEnds) {
  FaultHarness h("- {type: coalesce, window: 50ms, duration: 20ms}");
  h.send_at(0ms, "a");
  h.send_at(5ms, "b");
  h.send_at(30ms, "c");  // after the duration: passes straight on
  h.eof_at(40ms);
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(20ms, "ab"), data(30ms, "c"), finish(40ms)}));
}

TEST(CoalesceFault, ALiveChangeHandsOnWhatIsHeldFirst) {
  // The fault is removed at 10 ms: "a" (held) goes before "b" (which no longer waits).
  FaultHarness h("- {type: coalesce, window: 1s}");
  h.send_at(0ms, "a");
  h.change_faults_at(10ms, "- {type: latency, latency: 0s}");
  h.send_at(10ms, "b");
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(10ms, "a"), data(10ms, "b")}));
}

TEST(CoalesceFault, AKeptFaultFlushesAtAChangeAndGoesOnMerging) {
  // Another fault is added; the unchanged coalesce stage stays, after handing on "a".
  FaultHarness h("- {type: coalesce, window: 1s}");
  h.send_at(0ms, "a");
  h.change_faults_at(10ms,
                     "- {type: coalesce, window: 1s}\n"
                     "- {type: latency, latency: 0s}");
  h.send_at(10ms, "b");
  h.send_at(20ms, "c");
  h.eof_at(30ms);
  h.run();
  EXPECT_EQ(seen(h), (std::vector<Seen>{data(10ms, "a"), data(30ms, "bc"), finish(30ms)}));
}

TEST(CoalesceFault, RefusesBadAttributes) {
  struct Case {
    const char* yaml;
    const char* field;
  };
  for (auto c :
       {Case{"- {type: coalesce}", "window"}, Case{"- {type: coalesce, window: 0}", "window"},
        Case{"- {type: coalesce, window: 0ms}", "window"},
        Case{"- {type: coalesce, window: 50}", "window"},
        Case{"- {type: coalesce, window: 50ms, max_bytes: 0}", "max_bytes"},
        Case{"- {type: coalesce, window: 50ms, max_bytes: lots}", "max_bytes"},
        Case{"- {type: coalesce, window: 50ms, max: 1KiB}", "max"}}) {
    auto e = error_of(c.yaml);
    EXPECT_NE(e.field().find(c.field), std::string::npos) << c.yaml << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find("expected"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(compile_fault("- {type: coalesce, window: 1ms, max_bytes: 1}"));
}

}  // namespace
}  // namespace faultline::test
