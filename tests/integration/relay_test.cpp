// The relay with no faults, through the real proxy over loopback: bytes, half-close, resets,
// upstream failures and many connections, each observed from a real client socket.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <future>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

TEST(Relay, SixtyFourMebibytesEachWayByteExact) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml(), echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string payload = random_bytes(64 << 20, 42);
  auto sender = std::async(std::launch::async, [&] {
    bool ok = send_all(c.get(), payload);
    shutdown_write(c.get());
    return ok;
  });
  ReadResult r = read_to_eof(c.get(), 60s);
  ASSERT_TRUE(sender.get());
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  ASSERT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "relay corrupted or reordered bytes";
}

TEST(Relay, ClientHalfCloseStillGetsTheReply) {
  // The server answers only after it has read the client's EOF.
  ScriptedServer server([](Fd s) {
    ReadResult got = read_to_eof(s.get(), 5s);
    send_all(s.get(), "reply after EOF to: " + got.data);
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "question"));
  shutdown_write(c.get());
  ReadResult r = read_to_eof(c.get(), 5s);
  EXPECT_EQ(r.data, "reply after EOF to: question");
  EXPECT_TRUE(r.eof);
}

TEST(Relay, ServerHalfCloseStillTakesTheClientsData) {
  std::promise<std::string> server_got;
  ScriptedServer server([&](Fd s) {
    send_all(s.get(), "banner");
    shutdown_write(s.get());
    server_got.set_value(read_to_eof(s.get(), 5s).data);
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ReadResult r = read_to_eof(c.get(), 5s);
  EXPECT_EQ(r.data, "banner");
  ASSERT_TRUE(r.eof);
  ASSERT_TRUE(send_all(c.get(), "late data after the server's FIN"));
  shutdown_write(c.get());
  auto fut = server_got.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "late data after the server's FIN");
}

TEST(Relay, UpstreamResetBecomesClientReset) {
  ScriptedServer server([](Fd s) {
    read_n(s.get(), 4, 5s);
    set_linger_reset(s.get());
    s.reset();
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "ping"));
  ReadResult r = read_to_eof(c.get(), 5s);
  EXPECT_FALSE(r.eof) << "got a FIN where the upstream sent an RST";
  EXPECT_EQ(r.error, ECONNRESET);
}

TEST(Relay, ClientResetBecomesUpstreamReset) {
  std::promise<int> upstream_errno;
  ScriptedServer server([&](Fd s) {
    ReadResult r = read_to_eof(s.get(), 5s);
    upstream_errno.set_value(r.eof ? 0 : r.error);
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "hello"));
  set_linger_reset(c.get());
  c.reset();
  auto fut = upstream_errno.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), ECONNRESET);
}

TEST(Relay, OrdinaryCloseStaysAFin) {
  ScriptedServer server([](Fd s) {
    send_all(s.get(), "bye");
    s.reset();
  });
  RunningProxy proxy(one_proxy_yaml(), server.port());
  Fd c = connect_tcp(proxy.port());
  ReadResult r = read_to_eof(c.get(), 5s);
  EXPECT_EQ(r.data, "bye");
  EXPECT_TRUE(r.eof) << "errno " << r.error;
}

TEST(Relay, UnreachableUpstreamResetsTheClientByDefault) {
  RunningProxy proxy(one_proxy_yaml(), unused_port());
  // Each client is accepted and then reset. On loopback the RST can beat the client's check of
  // its non-blocking connect, so the reset shows either there or on the first recv; never an
  // EOF, and never a refusal (the proxy keeps serving).
  for (int client = 0; client < 2; ++client) {
    int err = 0;
    Fd c = connect_tcp(proxy.port(), 2s, &err);
    if (c) {
      ReadResult r = read_to_eof(c.get(), 5s);
      EXPECT_FALSE(r.eof) << "client " << client;
      EXPECT_EQ(r.error, ECONNRESET) << "client " << client;
    } else {
      EXPECT_EQ(err, ECONNRESET) << "client " << client << " saw its connect fail otherwise";
    }
  }
  EXPECT_GE(proxy.server().proxy("p")->stats.upstream_failures.load(), 1u);
}

TEST(Relay, UnreachableUpstreamClosesTheClientWhenAskedTo) {
  RunningProxy proxy(one_proxy_yaml("    on_upstream_failure: close\n"), unused_port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult r = read_to_eof(c.get(), 5s);
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  EXPECT_TRUE(r.data.empty());
}

TEST(Relay, SlowUpstreamDialTimesOutAtConnectTimeout) {
  // A listener whose accept queue is full: the SYN is never answered within the timeout.
  std::uint16_t port = 0;
  Fd full = listen_tcp(&port, 0);
  std::vector<Fd> fillers;
  for (int i = 0; i < 4; ++i)
    fillers.push_back(connect_tcp(port, 100ms));
  RunningProxy proxy(one_proxy_yaml("    connect_timeout: 300ms\n"), port);
  auto start = std::chrono::steady_clock::now();
  Fd c = connect_tcp(proxy.port());
  ReadResult r = read_to_eof(c.get(), 5s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error, ECONNRESET);
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 2s);
}

TEST(Relay, ThousandConcurrentConnectionsEachEchoFourKiB) {
  constexpr int kConnections = 1000;
  constexpr std::size_t kBytes = 4096;
  raise_fd_limit(8 * kConnections);
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml(), echo.port());

  // All connections open at once, then every one sends, then every one reads its echo.
  std::vector<Fd> conns;
  conns.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    int err = 0;
    conns.push_back(connect_tcp(proxy.port(), 5s, &err));
    ASSERT_TRUE(conns.back()) << "connection " << i << ": errno " << err;
  }
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(send_all(conns[i].get(), random_bytes(kBytes, i)));
  }
  int ok = 0;
  std::string first_failure;
  for (int i = 0; i < kConnections; ++i) {
    ReadResult r = read_n(conns[i].get(), kBytes, 10s);
    if (r.data == random_bytes(kBytes, i)) {
      ++ok;
    } else if (first_failure.empty()) {
      first_failure = "connection " + std::to_string(i) + ": " + std::to_string(r.data.size()) +
                      " bytes, eof " + std::to_string(r.eof) + ", errno " + std::to_string(r.error);
    }
  }
  EXPECT_EQ(ok, kConnections) << first_failure << " (and " << (kConnections - ok - 1) << " more)";
  EXPECT_EQ(proxy.server().proxy("p")->stats.accepted.load(), kConnections);
}

}  // namespace
}  // namespace faultline::test
