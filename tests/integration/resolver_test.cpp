// Upstream names through a resolver that never answers. The real binary runs in a private
// mount namespace (unshare -m) whose /etc/resolv.conf points at a UDP port this test opened
// and never answers, so the machine's own resolver config is untouched. A lookup there hangs
// for the resolv.conf timeout (here 5 s x 2 attempts); it must delay no other connection, end
// the client's connection within connect_timeout, and never hold SIGTERM.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <regex>
#include <string>

#include "tests/support/net.hpp"
#include "tests/support/process.hpp"

namespace faultline::test {
namespace {

using std::chrono::steady_clock;

// A DNS server that reads queries and never answers: UDP port 53 on a loopback address.
struct SilentDns {
  Fd socket;
  std::string address;
  int error = 0;

  SilentDns() {
    for (int last = 211; last < 221 && !socket; ++last) {
      Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(53);
      std::string ip = "127.0.0." + std::to_string(last);
      ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
      if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        socket = std::move(s);
        address = ip;
      } else {
        error = errno;
      }
    }
  }
  // Queries received so far (drained).
  int queries() {
    int n = 0;
    char buf[512];
    while (::recv(socket.get(), buf, sizeof buf, MSG_DONTWAIT) > 0)
      ++n;
    return n;
  }
};

bool unshare_permitted(std::string& why) {
  if (::access("/usr/bin/unshare", X_OK) != 0) {
    why = "no /usr/bin/unshare";
    return false;
  }
  Process probe({"/usr/bin/unshare", "-m", "/bin/true"});
  auto status = probe.wait(5s);
  if (status && *status == 0) return true;
  why = "unshare -m is not permitted here: " + probe.output();
  return false;
}

std::uint16_t port_of(Process& p, const std::string& proxy) {
  auto m =
      p.wait_for_line(std::regex("proxy " + proxy + R"( listening on 127\.0\.0\.1:(\d+))"), 5s);
  if (!m) return 0;
  return static_cast<std::uint16_t>(std::stoi((*m)[1]));
}

TEST(HungResolver, DelaysNoOneEndsWithinConnectTimeoutAndNeverHoldsSigterm) {
  std::string why;
  if (!unshare_permitted(why)) GTEST_SKIP() << why;
  SilentDns dns;
  if (!dns.socket) {
    GTEST_SKIP() << "cannot open a silent DNS server on 127.0.0.x:53: " << std::strerror(dns.error);
  }
  EchoServer echo;
  const std::string resolv = write_temp_file(
      "resolv.conf", "nameserver " + dns.address + "\noptions timeout:5 attempts:2\n");
  const std::string echo_port = std::to_string(echo.port());
  const std::string config = write_temp_file(
      "hung-resolver.yaml",
      "seed: 1\nproxies:\n"
      "  - name: hung\n    listen: 127.0.0.1:0\n    upstream: never.faultline-test:7\n"
      "    connect_timeout: 1s\n"
      "  - name: named\n    listen: 127.0.0.1:0\n    upstream: localhost:" +
          echo_port +
          "\n"
          "  - name: direct\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:" +
          echo_port + "\n");
  // One worker thread: every connection shares the worker the hung lookup started on.
  Process p({"/usr/bin/unshare", "-m", "/bin/sh", "-c",
             "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolv,
             binary_path("faultline"), "--config", config, "--api", "off", "--threads", "1"});
  const std::uint16_t direct = port_of(p, "direct");
  const std::uint16_t hung = port_of(p, "hung");
  const std::uint16_t named = port_of(p, "named");
  ASSERT_TRUE(direct && hung && named) << p.output();

  auto t0 = steady_clock::now();
  Fd stuck = connect_tcp(hung);
  ASSERT_TRUE(stuck);
  ASSERT_TRUE(p.wait_for_line(std::regex(R"(\[C1\] accepted from .* on proxy hung)"), 2s));
  // Other connections on the same worker, by address and by another name, go through at once.
  for (std::uint16_t port : {direct, named}) {
    auto t = steady_clock::now();
    Fd c = connect_tcp(port);
    ASSERT_TRUE(send_all(c.get(), "ping"));
    EXPECT_EQ(read_n(c.get(), 4, 2s).data, "ping");
    double ms = ms_since(t);
    std::printf("[ figures  ] echo through %s during the hung lookup: %.1f ms\n",
                port == direct ? "an IP upstream" : "localhost", ms);
    EXPECT_LT(ms, 300) << "a connection waited behind the hung lookup";
  }
  // The client of the hung name gets on_upstream_failure (reset) within connect_timeout.
  ReadResult r = read_to_eof(stuck.get(), 5s);
  double ended = ms_since(t0);
  std::printf("[ figures  ] hung lookup, connect_timeout 1s: client reset after %.0f ms\n", ended);
  EXPECT_EQ(r.error, ECONNRESET) << "eof " << r.eof;
  EXPECT_GE(ended, 900);
  EXPECT_LT(ended, 1600);
  EXPECT_TRUE(p.wait_for_line(
      std::regex(
          R"(\[C1\] closed: upstream cannot resolve never\.faultline-test: no answer within )"
          R"(connect_timeout 1s)"),
      2s))
      << p.output();
  EXPECT_GT(dns.queries(), 0)
      << "the lookup never reached the silent server: the test proved nothing";

  // SIGTERM while a lookup hangs: out within a second.
  Fd again = connect_tcp(hung);
  ASSERT_TRUE(p.wait_for_line(std::regex(R"(\[C\d+\] accepted from .* on proxy hung)"), 2s));
  auto t1 = steady_clock::now();
  p.signal(SIGTERM);
  auto status = p.wait(3s);
  double stop_ms = ms_since(t1);
  std::printf("[ figures  ] SIGTERM during a hung lookup: exited after %.0f ms\n", stop_ms);
  ASSERT_TRUE(status) << "still running 3 s after SIGTERM";
  EXPECT_EQ(*status, 0) << p.output();
  EXPECT_LT(stop_ms, 1000);
  // The connection being looked up still got its one closed line.
  EXPECT_TRUE(p.wait_for_line(std::regex(R"(\[C4\] closed: proxy shutting down)"), 1s))
      << p.output();
}

}  // namespace
}  // namespace faultline::test
