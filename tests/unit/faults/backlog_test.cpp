// backlog on a virtual clock: when the listener is stalled, reset or closed, and when it
// resumes, exactly; and connect_delay's hold on the dial.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "config/config_error.hpp"
#include "faults/listener_fault.hpp"
#include "tests/support/fault_harness.hpp"

namespace faultline::test {
namespace {

// Records what the fault asks of the listener, at which virtual time.
class RecordingListener final : public faults::ListenerControl {
 public:
  explicit RecordingListener(VirtualClock& clock) : clock_(clock) {}

  Clock::time_point now() const override { return clock_.now(); }
  asio::awaitable<void> sleep_until(Clock::time_point t) override {
    co_await clock_.sleep_until(t);
  }
  Clock::time_point started_at() const override { return clock_.start(); }
  std::uint64_t active_connections() const override { return active_; }
  asio::awaitable<bool> wait_connections(bool at_least, std::uint64_t n,
                                         Clock::time_point deadline) override {
    for (;;) {
      if (at_least ? active_ >= n : active_ < n) co_return true;
      if (clock_.now() >= deadline) co_return false;
      co_await clock_.wait(changed_, deadline);
    }
  }
  void stall(int backlog) override { log("stall " + std::to_string(backlog)); }
  void reset_on_accept() override { log("reset"); }
  void refuse() override { log("refuse"); }
  void resume() override { log("resume"); }
  void fired(std::string_view) override {}

  // Scripted connection count changes.
  asio::awaitable<void> set_active_at(Clock::duration at, std::uint64_t n) {
    co_await clock_.sleep_until(clock_.start() + at);
    active_ = n;
    changed_.notify();
  }

  std::vector<std::string> actions;

 private:
  void log(const std::string& what) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - clock_.start());
    actions.push_back(what + " @" + std::to_string(ms.count()) + "ms");
  }

  VirtualClock& clock_;
  std::uint64_t active_ = 0;
  faults::Signal changed_;
};

struct ListenerRun {
  asio::io_context context;
  VirtualClock clock{context};
  RecordingListener listener{clock};
  std::unique_ptr<faults::ListenerFault> fault;

  explicit ListenerRun(const std::string& yaml) {
    fault = compile_fault(yaml).factory->create_listener();
  }
  void run(Clock::duration limit = 10s) {
    asio::co_spawn(context, fault->run(listener), asio::detached);
    clock.run(clock.start() + limit);
  }
};

TEST(BacklogFault, StallsAtOnceAndForEverByDefault) {
  ListenerRun r("- {type: backlog}");
  r.run();
  EXPECT_EQ(r.listener.actions, (std::vector<std::string>{"stall 1 @0ms"}));
}

TEST(BacklogFault, WindowFromAfterAndDuration) {
  ListenerRun r("- {type: backlog, mode: refuse, after: 2s, duration: 500ms}");
  r.run();
  EXPECT_EQ(r.listener.actions, (std::vector<std::string>{"refuse @2000ms", "resume @2500ms"}));
}

TEST(BacklogFault, StartsWhenMaxConnectionsAreOpenAndEndsWhenOneCloses) {
  ListenerRun r("- {type: backlog_exhaustion, mode: reset, max_connections: 2}");
  asio::co_spawn(r.context, r.listener.set_active_at(100ms, 1), asio::detached);
  asio::co_spawn(r.context, r.listener.set_active_at(300ms, 2), asio::detached);
  asio::co_spawn(r.context, r.listener.set_active_at(700ms, 1), asio::detached);
  r.run();
  EXPECT_EQ(r.listener.actions, (std::vector<std::string>{"reset @300ms", "resume @700ms"}));
}

TEST(BacklogFault, StallBacklogIsConfigurable) {
  ListenerRun r("- {type: backlog, mode: stall, backlog: 0, duration: 1s}");
  r.run();
  EXPECT_EQ(r.listener.actions, (std::vector<std::string>{"stall 0 @0ms", "resume @1000ms"}));
}

TEST(BacklogFault, BadAttributesAreConfigErrors) {
  EXPECT_THROW(compile_fault("- {type: backlog, mode: jam}"), config::ConfigError);
  EXPECT_THROW(compile_fault("- {type: backlog, backlog: -1}"), config::ConfigError);
  EXPECT_THROW(compile_fault("- {type: backlog, backlog: 1.5}"), config::ConfigError);
  EXPECT_THROW(compile_fault("- {type: backlog, max_connections: many}"), config::ConfigError);
  try {
    compile_fault("- {type: backlog, mode: jam}");
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("proxies[0].faults[0].mode: expected one of stall, "
                                         "reset, refuse"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConnectDelayFault, HoldsTheDialThenRelaysUntouched) {
  FaultHarness h("- {type: connect_delay, delay: 250ms}");
  h.send_at(0ms, "early bytes");
  h.run();
  ASSERT_EQ(h.events().size(), 1u);
  EXPECT_EQ(h.events()[0].at, 250ms);  // the feeder waited for the dial, as the session does
  EXPECT_EQ(h.delivered(), "early bytes");
  EXPECT_EQ(h.fired().at("connect_delay"), 1u);
}

TEST(ConnectDelayFault, ActsOncePerConnectionWhateverTheStream) {
  FaultHarness up("- {type: slow_open, stream: upstream, delay: 1s}", 1, 1,
                  proxy::Direction::upstream);
  EXPECT_FALSE(up.stage_present()) << "connection-scoped faults sit in the downstream pipeline";
  FaultHarness down("- {type: connect_delay, stream: upstream, delay: 1s}");
  EXPECT_TRUE(down.stage_present());
}

TEST(ConnectDelayFault, DelayIsRequired) {
  try {
    compile_fault("- {type: connect_delay}");
    FAIL() << "accepted a connect_delay without a delay";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("test.yaml:6:9: proxies[0].faults[0].delay: expected"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace faultline::test
