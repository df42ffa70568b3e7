// limit_data through the real proxy: exactly `bytes` reach the client, then EOF (a FIN).
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

TEST(LimitDataThroughProxy, ExactlyTheLimitThenEof) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: limit_data, stream: downstream, bytes: 10}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string payload = "0123456789abcdefghij";
  ASSERT_TRUE(send_all(c.get(), payload));
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data, payload.substr(0, 10));
  EXPECT_TRUE(r.eof) << "expected a FIN, got errno " << r.error;
  EXPECT_EQ(r.error, 0);
}

TEST(LimitDataThroughProxy, CountsAcrossManyChunks) {
  EchoServer echo;
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: limit_data, stream: downstream, bytes: 100KiB}\n"),
      echo.port());
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  const std::string payload = random_bytes(1 << 20, 3);
  ASSERT_TRUE(send_all(c.get(), payload.substr(0, 64 << 10)));  // below the limit: all echoed
  ASSERT_EQ(read_n(c.get(), 64 << 10, 2s).data, payload.substr(0, 64 << 10));
  // The rest goes in the background: the proxy stops relaying at the limit.
  ASSERT_TRUE(send_all(c.get(), payload.substr(64 << 10, 64 << 10)));
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_EQ(r.data.size(), (100u << 10) - (64u << 10));
  EXPECT_TRUE(r.data == payload.substr(64 << 10, r.data.size()));
  EXPECT_TRUE(r.eof) << "errno " << r.error;
}

}  // namespace
}  // namespace faultline::test
