// latency through the real proxy, seen from a real client: each echo comes back 100 ms late
// (not sooner, not much later), the EOF too, and a bulk transfer is not capped by the delay.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using Steady = std::chrono::steady_clock;

TEST(Latency, EachEchoArrivesAHundredMillisecondsLate) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: latency, stream: downstream, latency: 100ms}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  // Tolerance: timers never fire early; 95 ms allows for clock granularity between the
  // proxy's stamp and the client's, 150 ms for a loaded 2-core machine.
  for (int i = 0; i < 5; ++i) {
    const std::string msg = "ping " + std::to_string(i);
    auto sent = Steady::now();
    ASSERT_TRUE(send_all(c.get(), msg));
    ReadResult r = read_n(c.get(), msg.size(), 2s);
    double took = ms_since(sent);
    ASSERT_EQ(r.data, msg) << "errno " << r.error;
    EXPECT_GE(took, 95.0) << "echo " << i;
    EXPECT_LE(took, 150.0) << "echo " << i;
    std::printf("[ latency  ] echo %d after %.1f ms (latency 100ms)\n", i, took);
  }
}

TEST(Latency, TheEofIsDelayedToo) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: latency, stream: downstream, latency: 100ms}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  auto sent = Steady::now();
  ASSERT_TRUE(send_all(c.get(), "last words"));
  shutdown_write(c.get());  // the echo server answers with its own FIN
  ReadResult r = read_to_eof(c.get(), 2s);
  double took = ms_since(sent);
  EXPECT_EQ(r.data, "last words");
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  EXPECT_GE(took, 95.0);
  EXPECT_LE(took, 150.0);
}

TEST(Latency, BulkTransferIsNotCappedByTheDelay) {
  // 32 MiB each way through 100 ms of latency on both streams. With one sleep after another
  // (no queue) 64 KiB reads would crawl at 64 KiB per 100 ms = 0.6 MiB/s: 50 s for this.
  // No speed is asserted (tests never do); the figure is printed.
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: latency, stream: both, latency: 100ms}\n"),
                     echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string payload = random_bytes(32 << 20, 9);
  auto started = Steady::now();
  auto sender = std::async(std::launch::async, [&] {
    bool ok = send_all(c.get(), payload);
    shutdown_write(c.get());
    return ok;
  });
  ReadResult r = read_to_eof(c.get(), 20s);
  double took = ms_since(started);
  ASSERT_TRUE(sender.get());
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  ASSERT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "bytes corrupted or reordered";
  EXPECT_GE(took, 190.0);  // 100 ms each way, at least
  double mb = payload.size() / 1e6;
  std::printf(
      "[ latency  ] 32 MiB echoed through 2 x 100ms in %.0f ms: %.0f MB/s each way "
      "(%.0f MB/s excluding the 200 ms of latency)\n",
      took, mb / (took / 1e3), mb / ((took - 200.0) / 1e3));
  ::testing::Test::RecordProperty("throughput_MBps", static_cast<int>(mb / (took / 1e3)));
}

}  // namespace
}  // namespace faultline::test
