// backlog and connect_delay through the real proxy, seen from real client sockets: connects
// that hang, connects refused, connects reset at once, and a slow open.
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

// Waits until the proxy's listener fault has fired (its first action ran on the control
// thread), with a deadline.
bool fault_fired(RunningProxy& proxy, Ms timeout = 2s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto fired = proxy.server().proxy("p")->stats.fired();
    if (fired.count("backlog") && fired["backlog"] > 0) return true;
    std::this_thread::yield();
  }
  return false;
}

// Echo check with a deadline: true when "ping" comes back.
bool echoes(int fd, Ms timeout = 2s) {
  return send_all(fd, "ping") && read_n(fd, 4, timeout).data == "ping";
}

TEST(Backlog, StallMakesNewConnectsTimeOutOnceTheQueueIsFull) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: backlog, mode: stall, backlog: 1}\n"),
                     echo.port());
  ASSERT_TRUE(fault_fired(proxy));
  // Linux queues backlog+1 handshakes; after that SYNs go unanswered.
  std::vector<Fd> queued;
  int err = 0;
  int timed_out = 0;
  for (int i = 0; i < 5; ++i) {
    Fd c = connect_tcp(proxy.port(), 500ms, &err);
    if (c) {
      queued.push_back(std::move(c));
    } else {
      EXPECT_EQ(err, ETIMEDOUT) << "connect " << i;
      ++timed_out;
    }
  }
  EXPECT_LE(queued.size(), 2u);
  EXPECT_GE(timed_out, 3);
  // Queued clients completed the handshake but nobody relays for them.
  ASSERT_FALSE(queued.empty());
  EXPECT_FALSE(echoes(queued[0].get(), 300ms));
}

TEST(Backlog, StallEndsAfterDurationAndQueuedClientsAreServed) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: backlog, mode: stall, backlog: 4, duration: 400ms}\n"),
      echo.port());
  auto start = std::chrono::steady_clock::now();
  Fd c = connect_tcp(proxy.port(), 1s);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  ReadResult r = read_n(c.get(), 4, 3s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.data, "ping");
  EXPECT_GE(took, 350ms) << "relayed while the listener should have been stalled";
  EXPECT_LT(took, 1500ms);
}

TEST(Backlog, ResetModeAcceptsThenResets) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: backlog_exhaustion, mode: reset}\n"),
                     echo.port());
  // The handshake completes (the kernel accepted it), then the RST follows at once. On
  // loopback the RST can land before a non-blocking connect is checked, so the reset shows
  // either as connect's SO_ERROR or on the first recv; either way it is ECONNRESET, never a
  // refusal or a timeout.
  int err = 0;
  Fd c = connect_tcp(proxy.port(), 1s, &err);
  if (!c) {
    EXPECT_EQ(err, ECONNRESET);
    return;
  }
  send_all(c.get(), "ping");
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_FALSE(r.eof);
  EXPECT_EQ(r.error, ECONNRESET);
}

TEST(Backlog, RefuseAfterMaxConnectionsAndRecoverWhenOneCloses) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: backlog, mode: refuse, max_connections: 2}\n"),
      echo.port());
  const std::uint16_t port = proxy.port();
  Fd a = connect_tcp(port);
  Fd b = connect_tcp(port);
  ASSERT_TRUE(echoes(a.get()));
  ASSERT_TRUE(echoes(b.get()));

  // The listener closes once two clients are connected (the fault polls every few ms).
  int err = 0;
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (std::chrono::steady_clock::now() < deadline) {
    Fd c = connect_tcp(port, 500ms, &err);
    if (!c && err == ECONNREFUSED) break;
  }
  EXPECT_EQ(err, ECONNREFUSED);

  // A slot frees up: accepting resumes on the same port.
  a.reset();
  Fd again;
  deadline = std::chrono::steady_clock::now() + 2s;
  while (!again && std::chrono::steady_clock::now() < deadline)
    again = connect_tcp(port, 500ms);
  ASSERT_TRUE(again);
  EXPECT_TRUE(echoes(again.get()));
}

TEST(ConnectDelay, FirstReplyComesAfterTheDelay) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: connect_delay, delay: 300ms}\n"),
                     echo.port());
  auto start = std::chrono::steady_clock::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);  // the client's connect() is not delayed, only the dial behind it
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  ReadResult r = read_n(c.get(), 4, 3s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.data, "ping");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 800ms);
}

}  // namespace
}  // namespace faultline::test
