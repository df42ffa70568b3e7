// Live changes to the fault set, applied to connections that are already open: the next
// chunk sees the new faults, an idle connection is reached at once, and no byte is lost or
// reordered by the change.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <vector>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

Ms echo_time(int fd, const std::string& msg) {
  auto start = std::chrono::steady_clock::now();
  send_all(fd, msg);
  ReadResult r = read_n(fd, msg.size(), 5s);
  EXPECT_EQ(r.data, msg);
  return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - start);
}

TEST(LiveChange, LatencyAddedToAnOpenConnectionDelaysItsNextEchoAndRemovalRestoresIt) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml(), echo.port());
  Fd c = connect_tcp(proxy.port());
  EXPECT_LT(echo_time(c.get(), "before"), 100ms);
  proxy.set_faults("- {type: latency, stream: downstream, latency: 200ms}");
  Ms delayed = echo_time(c.get(), "during");
  EXPECT_GE(delayed, 200ms);
  EXPECT_LT(delayed, 400ms);
  proxy.set_faults("");
  EXPECT_LT(echo_time(c.get(), "after"), 100ms);
}

TEST(LiveChange, ResetPeerAddedToAnIdleOpenConnectionSendsAnRst) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml(), echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_EQ(echo_time(c.get(), "hi").count() < 1000, true);
  // `after` counts from the connection's start, which is already past: it fires at once,
  // with no byte in flight.
  proxy.set_faults("- {type: reset_peer, after: 1ms, target: client}");
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_FALSE(r.eof) << "a FIN where an RST was due";
  EXPECT_EQ(r.error, ECONNRESET);
}

// Echoes 4 MiB while the fault set changes ten times, cycling through `sets`, each change
// landing while bytes are in flight; then checks every byte came back, in order.
void expect_exact_echo_across_changes(const std::vector<std::string>& sets) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml(), echo.port());
  Fd c = connect_tcp(proxy.port());
  const std::string payload = random_bytes(4 << 20, 9);
  auto sender = std::async(std::launch::async, [&] {
    // Send in slices so changes land between chunks, mid-stream.
    for (std::size_t off = 0; off < payload.size(); off += 64 * 1024) {
      if (!send_all(c.get(), payload.data() + off,
                    std::min<std::size_t>(64 * 1024, payload.size() - off)))
        return false;
    }
    shutdown_write(c.get());
    return true;
  });
  // The receiver reports progress, so each change lands while bytes are in flight.
  std::atomic<std::size_t> received{0};
  auto receiver = std::async(std::launch::async, [&] {
    ReadResult r;
    std::vector<char> buf(64 * 1024);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      long n = recv_some(c.get(), buf.data(), buf.size(), std::max(left, Ms(1)), &r.error);
      if (n <= 0) {
        r.eof = n == 0;
        return r;
      }
      r.data.append(buf.data(), static_cast<std::size_t>(n));
      received = r.data.size();
    }
  });
  auto changer = std::async(std::launch::async, [&] {
    for (int i = 0; i < 10; ++i) {
      auto deadline = std::chrono::steady_clock::now() + 20s;
      while (received < (i + 1) * payload.size() / 12 &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      proxy.set_faults(sets[static_cast<std::size_t>(i) % sets.size()]);
    }
    proxy.set_faults("");
  });
  ReadResult r = receiver.get();
  changer.get();
  ASSERT_TRUE(sender.get());
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  ASSERT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "bytes lost or reordered across live changes";
}

TEST(LiveChange, NoByteLostOrReorderedWhileFaultsComeAndGoUnderTraffic) {
  expect_exact_echo_across_changes(
      {"- {type: latency, stream: both, latency: 5ms, jitter: 2ms}\n"
       "- {type: slicer, stream: downstream, average_size: 4KiB}",
       "- {type: coalesce, stream: downstream, window: 2ms}"});
}

// With no fault on, a direction is spliced (in the kernel); with one, copied through the
// pipeline. Every change below switches both directions from one to the other mid-stream.
TEST(LiveChange, NoByteLostOrReorderedWhileTheRelaySwitchesBetweenSpliceAndCopy) {
  expect_exact_echo_across_changes(
      {"- {type: latency, stream: both, latency: 2ms}", "",
       "- {type: slicer, stream: both, average_size: 1KiB}", "",
       "- {type: latency, stream: upstream, latency: 1ms, toxicity: 0}"});
}

TEST(LiveChange, NewConnectionsSeeTheNewSetAndUnchangedFaultsKeepTheirState) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: limit_data, stream: downstream, bytes: 10}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  EXPECT_EQ(echo_time(c.get(), "123456").count() < 1000, true);  // 6 of 10 bytes used
  // Adding an unrelated fault keeps limit_data's count: 4 more bytes pass, then FIN.
  proxy.set_faults(
      "- {type: limit_data, stream: downstream, bytes: 10}\n"
      "- {type: latency, stream: upstream, latency: 1ms}");
  send_all(c.get(), "abcdefgh");
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data, "abcd");
  EXPECT_TRUE(r.eof);
}

}  // namespace
}  // namespace faultline::test
