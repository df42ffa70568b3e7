// slow_close through the real proxy: the server's bytes at once, its FIN `delay` later.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

using std::chrono::steady_clock;

double ms_between(steady_clock::time_point a, steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

TEST(SlowCloseThroughProxy, TheFinArrivesDelayAfterTheData) {
  ScriptedServer server([](Fd s) { send_all(s.get(), "bye"); });  // then closes: FIN
  RunningProxy proxy(
      one_proxy_yaml("", "      - {type: slow_close, stream: downstream, delay: 300ms}\n"),
      server.port());
  const auto connected = steady_clock::now();
  Fd c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ReadResult data = read_n(c.get(), 3, 2s);
  const auto got_bye = steady_clock::now();
  ReadResult rest = read_to_eof(c.get(), 2s);
  const auto got_eof = steady_clock::now();
  std::printf(
      "[ measured ] slow_close 300ms: \"bye\" %.1f ms after connect, EOF %.1f ms after it\n",
      ms_between(connected, got_bye), ms_between(got_bye, got_eof));
  EXPECT_EQ(data.data, "bye");
  EXPECT_LT(ms_between(connected, got_bye), 200.0) << "the data must not wait for the FIN";
  EXPECT_EQ(rest.data, "");
  EXPECT_TRUE(rest.eof) << "errno " << rest.error;
  // The FIN left the server right after "bye"; the proxy holds it 300 ms. 20 ms of slack below
  // for the loopback hop, 300 ms above for a loaded machine.
  EXPECT_GE(ms_between(got_bye, got_eof), 280.0);
  EXPECT_LE(ms_between(got_bye, got_eof), 600.0);
}

}  // namespace
}  // namespace faultline::test
