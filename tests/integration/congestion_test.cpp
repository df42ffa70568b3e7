// --congestion through the real proxy: the algorithm on each of the proxy's own sockets, as
// the kernel reports it (sock_diag), so the test never touches a descriptor the proxy owns.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "proxy/congestion.hpp"
#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"
#include "tests/support/sock_diag.hpp"

namespace faultline::test {
namespace {

std::uint16_t local_port(int fd) {
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

struct Legs {
  std::string client;                 // the proxy's accepted socket ("none": not found)
  std::vector<std::string> upstream;  // every established socket to the upstream's port
};

// One connection through a proxy with `options`, echoed once so that both legs exist.
Legs legs_of(const std::string& yaml, proxy::WorkerOptions options) {
  EchoServer echo;
  RunningProxy proxy(yaml, echo.port(), 1, options);
  Fd c = connect_tcp(proxy.port());
  EXPECT_TRUE(c);
  EXPECT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4, 5s).data, "ping");
  const std::uint16_t client_port = local_port(c.get());
  Legs legs{"none", {}};
  for (const TcpSocketInfo& s : established_tcp_sockets()) {
    if (s.local_port == proxy.port() && s.peer_port == client_port) legs.client = s.congestion;
    if (s.peer_port == echo.port()) legs.upstream.push_back(s.congestion);
  }
  return legs;
}

// Every leg to the upstream on `name`, and at least one.
void expect_upstream_on(const Legs& legs, const std::string& name) {
  ASSERT_FALSE(legs.upstream.empty()) << "no established socket to the upstream";
  for (const std::string& leg : legs.upstream)
    EXPECT_EQ(leg, name);
}

TEST(Congestion, AutoPutsBothLoopbackLegsOnReno) {
  if (system_congestion() == "reno")
    GTEST_SKIP() << "the system's default is reno: nothing to tell";
  Legs legs = legs_of(one_proxy_yaml(), {});
  EXPECT_EQ(legs.client, "reno");
  expect_upstream_on(legs, "reno");
}

TEST(Congestion, AutoOnAWildcardListenerSetsEachLoopbackClient) {
  if (system_congestion() == "reno")
    GTEST_SKIP() << "the system's default is reno: nothing to tell";
  const std::string yaml =
      "proxies:\n"
      "  - name: p\n"
      "    listen: 0.0.0.0:0\n"
      "    upstream: 127.0.0.1:{upstream}\n";
  Legs legs = legs_of(yaml, {});
  EXPECT_EQ(legs.client, "reno");
  expect_upstream_on(legs, "reno");
}

TEST(Congestion, SystemLeavesTheSystemsDefaultOnBothLegs) {
  if (system_congestion() == "reno")
    GTEST_SKIP() << "the system's default is reno: nothing to tell";
  proxy::WorkerOptions options;
  options.congestion = proxy::CongestionPolicy::parse("system");
  Legs legs = legs_of(one_proxy_yaml(), options);
  EXPECT_EQ(legs.client, system_congestion());
  expect_upstream_on(legs, system_congestion());
}

}  // namespace
}  // namespace faultline::test
