// bandwidth through the real proxy, seen from real sockets: bytes arrive at the rate, both
// ways, and the sender is held back (backpressure) rather than the proxy buffering.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using Steady = std::chrono::steady_clock;

double seconds_between(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

TEST(Bandwidth, TwoHundredKilobytesAtOneMegabytePerSecond) {
  const std::string payload = random_bytes(200000, 4);
  ScriptedServer server([&](Fd s) {
    send_all(s.get(), payload);
    shutdown_write(s.get());
    read_to_eof(s.get(), 5s);
  });
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: bandwidth, stream: downstream, rate: 1MB/s}\n"),
      server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  // The first piece (10 ms worth, 10 000 B) goes at once; the last one starts when the bytes
  // before it have had their time: 190..200 ms later, depending on how the proxy's reads cut
  // the stream (each read is cut into pieces of its own).
  ReadResult first = read_n(c.get(), 1, 2s);
  auto t0 = Steady::now();
  ASSERT_EQ(first.data.size(), 1u);
  ReadResult rest = read_to_eof(c.get(), 5s);
  double took = seconds_between(t0, Steady::now());
  EXPECT_TRUE(rest.eof) << "errno " << rest.error;
  EXPECT_TRUE(first.data + rest.data == payload);
  // Timers fire late, never early: the lower bound is the schedule less 5 ms of slack between
  // the first recv and the proxy's clock, the upper one allows 50 ms of scheduling delay on a
  // loaded machine.
  EXPECT_GE(took, 0.185);
  EXPECT_LE(took, 0.25);
  std::printf("[bandwidth ] 200 KB at 1MB/s: first to last byte in %.3f s (paced: 0.19-0.20 s)\n",
              took);
}

TEST(Bandwidth, RateHoldsWithinFivePercentOverASecondUpstream) {
  // 1.2 MB from the client at 1MB/s: from its first byte to its last the server waits
  // 1.19..1.2 s (the first piece leaves at once, the last one's slot is not waited out).
  // send_all's time is printed: kernel buffers on loopback can hold all 1.2 MB, so it need not
  // block (the unit tests show the reader held back on the virtual clock).
  const std::string payload = random_bytes(1200000, 5);
  std::promise<std::pair<std::string, double>> got;
  ScriptedServer server([&](Fd s) {
    ReadResult first = read_n(s.get(), 1, 5s);
    auto t0 = Steady::now();
    ReadResult rest = read_to_eof(s.get(), 10s);
    got.set_value({first.data + rest.data, seconds_between(t0, Steady::now())});
  });
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: bandwidth, stream: upstream, rate: 1MB/s}\n"),
      server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  auto started = Steady::now();
  ASSERT_TRUE(send_all(c.get(), payload));
  double send_took = seconds_between(started, Steady::now());
  shutdown_write(c.get());
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  auto [data, took] = fut.get();
  EXPECT_TRUE(data == payload);
  double rate = payload.size() / took;
  EXPECT_NEAR(rate, 1e6, 0.05e6) << "took " << took << " s";
  std::printf(
      "[bandwidth ] 1.2 MB upstream at 1MB/s: %.3f s at the server = %.4f MB/s; "
      "client's send_all returned after %.3f s\n",
      took, rate / 1e6, send_took);
}

TEST(Bandwidth, WithoutTheFaultTheSameBytesComeAtOnce) {
  // The control: shows the timing bounds above can fail.
  const std::string payload = random_bytes(200000, 4);
  ScriptedServer server([&](Fd s) {
    send_all(s.get(), payload);
    shutdown_write(s.get());
    read_to_eof(s.get(), 5s);
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult first = read_n(c.get(), 1, 2s);
  auto t0 = Steady::now();
  ReadResult rest = read_to_eof(c.get(), 5s);
  double took = seconds_between(t0, Steady::now());
  EXPECT_TRUE(first.data + rest.data == payload);
  EXPECT_LT(took, 0.185);
}

}  // namespace
}  // namespace faultline::test
