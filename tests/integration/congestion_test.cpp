// --congestion through the real proxy: the algorithm on each of the proxy's own sockets,
// read from the sockets themselves (the proxy runs in this process: its descriptors are ours).
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "proxy/congestion.hpp"
#include "tests/support/net.hpp"
#include "tests/support/proxy_fixture.hpp"

namespace faultline::test {
namespace {

std::uint16_t port_of(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

// The algorithm of this process's TCP socket from local port `local` to peer port `peer`
// (0: any), or "none" when there is no such socket.
std::string congestion_between(std::uint16_t local, std::uint16_t peer) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return "none";
  std::string found = "none";
  while (dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage mine{}, theirs{};
    socklen_t a = sizeof mine, b = sizeof theirs;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &a) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&theirs), &b) != 0) {
      continue;
    }
    if ((local == 0 || port_of(mine) == local) && port_of(theirs) == peer) {
      found = proxy::congestion_of(fd);
      break;
    }
  }
  ::closedir(dir);
  return found;
}

std::uint16_t local_port(int fd) {
  sockaddr_storage a{};
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  return port_of(a);
}

struct Legs {
  std::string client;    // the proxy's accepted socket
  std::string upstream;  // the proxy's socket to the upstream
};

// One connection through a proxy with `options`, echoed once so that both legs exist.
Legs legs_of(const std::string& yaml, proxy::WorkerOptions options) {
  EchoServer echo;
  RunningProxy proxy(yaml, echo.port(), 1, options);
  Fd c = connect_tcp(proxy.port());
  EXPECT_TRUE(c);
  EXPECT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4, 5s).data, "ping");
  return {congestion_between(proxy.port(), local_port(c.get())),
          congestion_between(0, echo.port())};
}

TEST(Congestion, AutoPutsBothLoopbackLegsOnReno) {
  if (system_congestion() == "reno")
    GTEST_SKIP() << "the system's default is reno: nothing to tell";
  Legs legs = legs_of(one_proxy_yaml(), {});
  EXPECT_EQ(legs.client, "reno");
  EXPECT_EQ(legs.upstream, "reno");
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
  EXPECT_EQ(legs.upstream, "reno");
}

TEST(Congestion, SystemLeavesTheSystemsDefaultOnBothLegs) {
  if (system_congestion() == "reno")
    GTEST_SKIP() << "the system's default is reno: nothing to tell";
  proxy::WorkerOptions options;
  options.congestion = proxy::CongestionPolicy::parse("system");
  Legs legs = legs_of(one_proxy_yaml(), options);
  EXPECT_EQ(legs.client, system_congestion());
  EXPECT_EQ(legs.upstream, system_congestion());
}

}  // namespace
}  // namespace faultline::test
