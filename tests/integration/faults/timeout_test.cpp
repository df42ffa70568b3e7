// timeout through the real proxy: the echo never comes back and the connection is closed (FIN)
// `timeout` after the last chunk arrived.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using std::chrono::steady_clock;

TEST(TimeoutThroughProxy, DataStopsThenFinAfterTheTimeout) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: timeout, stream: downstream, timeout: 200ms}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  const auto sent = steady_clock::now();
  ReadResult r = read_to_eof(c.get(), 2s);
  const double waited = ms_since(sent);
  std::printf("[ measured ] timeout 200ms: EOF %.1f ms after the last send\n", waited);
  EXPECT_EQ(r.data, "") << "the echo must be discarded";
  EXPECT_TRUE(r.eof) << "errno " << r.error;
  // The echo arrives at the proxy a fraction of a millisecond after the send; the timer starts
  // there. 20 ms early would mean the clock started before the data; 400 ms allows a loaded CI.
  EXPECT_GE(waited, 180.0);
  EXPECT_LE(waited, 400.0);
}

TEST(TimeoutThroughProxy, ZeroNeverClosesTheClientJustWaits) {
  EchoServer echo;
  RunningProxy proxy(one_proxy_yaml("", "      - {type: timeout, stream: downstream}\n"),
                     echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  ReadResult r = read_to_eof(c.get(), 400ms);
  EXPECT_EQ(r.data, "");
  EXPECT_FALSE(r.eof);
  EXPECT_EQ(r.error, ETIMEDOUT);
}

}  // namespace
}  // namespace faultline::test
