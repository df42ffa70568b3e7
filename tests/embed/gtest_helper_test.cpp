// faultline/gtest.hpp: the log is shown only when asked for (a failed test or
// FAULTLINE_SHOW_LOG), and the assertions wait for the count, then say what was counted.
#include "faultline/gtest.hpp"

#include <cstdlib>

#include "tests/support/net.hpp"

namespace {

using namespace std::chrono_literals;
using faultline::test::connect_tcp;
using faultline::test::EchoServer;
using faultline::test::read_n;
using faultline::test::send_all;

void one_echo(std::uint16_t port) {
  auto c = connect_tcp(port);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  read_n(c.get(), 4, 2000ms);
}

TEST(GtestHelper, APassingTestShowsNoLog) {
  EchoServer echo;
  ::testing::internal::CaptureStdout();
  {
    faultline::testing::TestProxy proxy({.upstream = echo.address()});
    one_echo(proxy.port());
  }
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

TEST(GtestHelper, ShowsTheLogWhenAsked) {
  EchoServer echo;
  ::setenv("FAULTLINE_SHOW_LOG", "1", 1);
  ::testing::internal::CaptureStdout();
  {
    faultline::testing::TestProxy proxy({.upstream = echo.address(), .name = "shown"});
    one_echo(proxy.port());
  }
  std::string out = ::testing::internal::GetCapturedStdout();
  ::unsetenv("FAULTLINE_SHOW_LOG");
  EXPECT_NE(out.find("---- faultline proxy shown"), std::string::npos) << out;
  EXPECT_NE(out.find("accepted from 127.0.0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("closed: "), std::string::npos) << out;
  EXPECT_NE(out.find("---- counters: accepted 1"), std::string::npos) << out;
}

TEST(GtestHelper, AssertionsWaitForTheCount) {
  EchoServer echo;
  faultline::testing::TestProxy proxy(
      {.upstream = echo.address(), .faults = {faultline::reset_peer()}});
  auto c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4, 2000ms).error, ECONNRESET);
  EXPECT_TRUE(faultline::testing::ResetFired(proxy));
  EXPECT_TRUE(faultline::testing::Fired(proxy, "rst"));
  EXPECT_TRUE(faultline::testing::FaultsFired(proxy, 1));
  // A reset the proxy sends counts as a close by rst, as one it relays does.
  EXPECT_TRUE(faultline::testing::ClosedBy(proxy, faultline::CloseCause::rst));
}

TEST(GtestHelper, AFailedAssertionSaysWhatWasCounted) {
  EchoServer echo;
  faultline::testing::TestProxy proxy({.upstream = echo.address(), .name = "quiet"});
  auto r = faultline::testing::ResetFired(proxy, 1, 50ms);
  EXPECT_FALSE(r);
  EXPECT_NE(std::string(r.message())
                .find("proxy quiet: expected 1 firing(s) of reset_peer "
                      "within 50 ms; it counted accepted 0"),
            std::string::npos)
      << r.message();
  EXPECT_FALSE(faultline::testing::ClosedBy(proxy, faultline::CloseCause::rst, 1, 10ms));
}

}  // namespace
