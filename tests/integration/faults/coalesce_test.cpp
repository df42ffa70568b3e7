// coalesce through the real proxy, seen from a real client: two messages the server sent apart
// arrive in ONE recv; without the fault they arrive in two. EOF flushes what is held.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using Steady = std::chrono::steady_clock;

// Sends "first", then "second" 20 ms later (the server's own pacing, not test
// synchronisation), then waits for the client to go.
void two_messages_apart(Fd s) {
  send_all(s.get(), "first");
  std::this_thread::sleep_for(20ms);
  send_all(s.get(), "second");
  read_to_eof(s.get(), 5s);
}

TEST(Coalesce, TwoMessagesArriveInOneRecv) {
  ScriptedServer server(two_messages_apart);
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: coalesce, stream: downstream, window: 100ms}\n"),
      server.port());
  auto started = Steady::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  char buf[256];
  int err = 0;
  long n = recv_some(c.get(), buf, sizeof buf, 2s, &err);
  double took = std::chrono::duration<double, std::milli>(Steady::now() - started).count();
  ASSERT_GT(n, 0) << "errno " << err;
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "firstsecond");
  // Held until 100 ms after "first" reached the proxy (plus connection setup).
  EXPECT_GE(took, 95.0);
  EXPECT_LE(took, 200.0);
  std::printf("[ coalesce ] \"firstsecond\" in one recv after %.1f ms (window 100ms)\n", took);
}

TEST(Coalesce, WithoutTheFaultTheyArriveInTwoRecvs) {
  // The control: the same server through a plain proxy.
  ScriptedServer server(two_messages_apart);
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  char buf[256];
  int err = 0;
  long n = recv_some(c.get(), buf, sizeof buf, 2s, &err);
  ASSERT_GT(n, 0) << "errno " << err;
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "first");
  n = recv_some(c.get(), buf, sizeof buf, 2s, &err);
  ASSERT_GT(n, 0) << "errno " << err;
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "second");
}

TEST(Coalesce, EofFlushesWhatIsHeldAtOnce) {
  // A 2 s window: the bytes and the FIN must not wait for it.
  ScriptedServer server([](Fd s) {
    send_all(s.get(), "tail");
    shutdown_write(s.get());
    read_to_eof(s.get(), 5s);
  });
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: coalesce, stream: downstream, window: 2s}\n"),
      server.port());
  auto started = Steady::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult r = read_to_eof(c.get(), 3s);
  double took = std::chrono::duration<double, std::milli>(Steady::now() - started).count();
  EXPECT_EQ(r.data, "tail");
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  EXPECT_LT(took, 500.0);
}

TEST(Coalesce, MaxBytesHandsOnBeforeTheWindow) {
  // 64 KiB of max_bytes and a 2 s window: 1 MiB still streams through well before 2 s, whole
  // and in order, in writes of at least max_bytes (the client may read them in any sizes).
  const std::string payload = random_bytes(1 << 20, 8);
  ScriptedServer server([&](Fd s) {
    send_all(s.get(), payload);
    read_to_eof(s.get(), 5s);
  });
  RunningProxy proxy(one_proxy_yaml("",
                                    "      - {type: coalesce, stream: downstream, window: 2s, "
                                    "max_bytes: 64KiB}\n"),
                     server.port());
  auto started = Steady::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  // Less than 64 KiB may stay held until the window ends (the server does not close): read
  // everything before that.
  ReadResult r = read_n(c.get(), payload.size() - 64 * 1024, 1500ms);
  double took = std::chrono::duration<double, std::milli>(Steady::now() - started).count();
  EXPECT_EQ(r.error, 0);
  EXPECT_TRUE(r.data == payload.substr(0, r.data.size()));
  EXPECT_LT(took, 1500.0);
}

}  // namespace
}  // namespace faultline::test
