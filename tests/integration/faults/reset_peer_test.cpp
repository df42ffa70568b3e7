// reset_peer through the real proxy: a real RST (ECONNRESET from recv, not EOF) at the targeted
// peer, a FIN at the other, and ordinary closes that stay FINs.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>

#include "faultline/gtest.hpp"
#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using std::chrono::steady_clock;

// An upstream that sends `greeting` (if any), then reads until EOF or error and reports how
// its connection ended.
class ReportingUpstream {
 public:
  explicit ReportingUpstream(std::string greeting = "")
      : greeting_(std::move(greeting)), server_([this](Fd s) {
          if (!greeting_.empty()) send_all(s.get(), greeting_);
          ended_.set_value(read_to_eof(s.get(), 3s));
        }) {}
  std::uint16_t port() const { return server_.port(); }
  // How the upstream's side ended, with a deadline (error ETIMEDOUT if it never did).
  ReadResult ended(Ms timeout = 3s) {
    auto f = ended_.get_future();
    if (f.wait_for(timeout) != std::future_status::ready) return {{}, {}, false, ETIMEDOUT};
    return f.get();
  }

 private:
  std::string greeting_;
  std::promise<ReadResult> ended_;
  ScriptedServer server_;  // last: its handler uses the members above
};

TEST(ResetPeerThroughProxy, AfterBytesDeliversThemThenConnectionReset) {
  // Through the public API (faultline/gtest.hpp), as a user's test would.
  EchoServer echo;
  faultline::testing::TestProxy proxy(echo.address(), {faultline::reset_peer({.after_bytes = 5})});
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello world"));
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data, "hello");
  EXPECT_FALSE(r.eof) << "got a FIN where an RST was due";
  EXPECT_EQ(r.error, ECONNRESET);
  EXPECT_TRUE(faultline::testing::ResetFired(proxy));
  EXPECT_TRUE(faultline::testing::ClosedBy(proxy, faultline::CloseCause::rst));
}

TEST(ResetPeerThroughProxy, AfterResetsAnIdleConnectionOnTimeAndTheUpstreamGetsAFin) {
  ReportingUpstream upstream;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: reset_peer, after: 300ms}\n"),
                     upstream.port());
  const auto connected = steady_clock::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  char buf[64];
  int err = 0;
  EXPECT_EQ(recv_some(c.get(), buf, sizeof buf, 2s, &err), -1);
  const double waited = ms_since(connected);
  std::printf("[ measured ] reset_peer after 300ms: ECONNRESET %.1f ms after connect\n", waited);
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_GE(waited, 280.0);
  EXPECT_LE(waited, 600.0);
  ReadResult up = upstream.ended();
  EXPECT_TRUE(up.eof) << "target client: the upstream gets a FIN, not errno " << up.error;
  EXPECT_EQ(up.error, 0);
}

TEST(ResetPeerThroughProxy, TargetUpstreamResetsTheUpstreamAndClosesTheClient) {
  ReportingUpstream upstream;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: reset_peer, stream: upstream, target: upstream}\n"),
      upstream.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "trigger"));
  ReadResult up = upstream.ended();
  EXPECT_EQ(up.data, "") << "Toxiproxy's trigger: the first chunk is not delivered";
  EXPECT_FALSE(up.eof);
  EXPECT_EQ(up.error, ECONNRESET);
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_TRUE(r.eof) << "the client gets a FIN, not errno " << r.error;
}

TEST(ResetPeerThroughProxy, ToxicityZeroLeavesAnOrdinaryCloseAFin) {
  ReportingUpstream upstream("bye");  // then reads until the client closes
  RunningProxy proxy(one_proxy_yaml("", "      - {type: reset_peer, toxicity: 0}\n"),
                     upstream.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "done"));
  shutdown_write(c.get());
  ReadResult up = upstream.ended();
  EXPECT_EQ(up.data, "done");
  EXPECT_TRUE(up.eof);
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data, "bye");
  EXPECT_TRUE(r.eof) << "an ordinary close must stay a FIN, got errno " << r.error;
  EXPECT_EQ(r.error, 0);
}

TEST(ResetPeerThroughProxy, ToxicityOneTurnsTheSameExchangeIntoAReset) {
  // The control for the test above: with the fault drawn, the same server gives ECONNRESET.
  ReportingUpstream upstream("bye");
  RunningProxy proxy(one_proxy_yaml("", "      - {type: reset_peer, toxicity: 1}\n"),
                     upstream.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data, "");
  EXPECT_FALSE(r.eof);
  EXPECT_EQ(r.error, ECONNRESET);
}

}  // namespace
}  // namespace faultline::test
