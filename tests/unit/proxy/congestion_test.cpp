// CongestionPolicy: which algorithm each leg gets, the errors for names this machine cannot
// use, and the kernel behaviour the listener relies on (an accepted socket inherits it).
#include "proxy/congestion.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/net.hpp"

namespace faultline::proxy {
namespace {

using asio::ip::make_address;

TEST(CongestionPolicy, AutoPutsOnlyLoopbackLegsOnReno) {
  const CongestionPolicy p;  // the default
  EXPECT_EQ(p.to_string(), "auto");
  EXPECT_EQ(p.for_peer(make_address("127.0.0.1")), "reno");
  EXPECT_EQ(p.for_peer(make_address("127.45.6.7")), "reno");
  EXPECT_EQ(p.for_peer(make_address("::1")), "reno");
  EXPECT_EQ(p.for_peer(make_address("::ffff:127.0.0.1")), "reno");
  EXPECT_EQ(p.for_peer(make_address("10.0.0.1")), "");
  EXPECT_EQ(p.for_peer(make_address("0.0.0.0")), "");  // a wildcard listener: per client
  EXPECT_EQ(p.for_peer(make_address("::")), "");
  EXPECT_EQ(p.for_peer(make_address("::ffff:10.0.0.1")), "");
  EXPECT_EQ(CongestionPolicy::parse("auto").mode(), CongestionPolicy::Mode::automatic);
}

TEST(CongestionPolicy, SystemLeavesEveryLegAlone) {
  const auto p = CongestionPolicy::parse("system");
  EXPECT_EQ(p.to_string(), "system");
  EXPECT_EQ(p.for_peer(make_address("127.0.0.1")), "");
  EXPECT_EQ(p.for_peer(make_address("10.0.0.1")), "");
}

TEST(CongestionPolicy, ANamePutsEveryLegOnIt) {
  const auto p = CongestionPolicy::parse("cubic");
  EXPECT_EQ(p.mode(), CongestionPolicy::Mode::named);
  EXPECT_EQ(p.to_string(), "cubic");
  EXPECT_EQ(p.for_peer(make_address("127.0.0.1")), "cubic");
  EXPECT_EQ(p.for_peer(make_address("192.168.1.9")), "cubic");
  EXPECT_EQ(p.for_peer(make_address("0.0.0.0")), "cubic");
}

TEST(CongestionPolicy, CheckRefusesWhatThisMachineCannotUse) {
  EXPECT_EQ(CongestionPolicy::check("auto"), "");
  EXPECT_EQ(CongestionPolicy::check("system"), "");
  EXPECT_EQ(CongestionPolicy::check("reno"), "");  // built into every kernel, for every user
  EXPECT_EQ(CongestionPolicy::check(""),
            "expected auto, system or an algorithm's name (e.g. cubic), got \"\"");
  EXPECT_NE(CongestionPolicy::check("a-name-too-long-x").find("expected auto, system"),
            std::string::npos);
  const std::string unknown = CongestionPolicy::check("no-such-cc");
  EXPECT_EQ(unknown.rfind("no congestion control \"no-such-cc\" in this kernel (available: ", 0),
            0u)
      << unknown;
  EXPECT_NE(unknown.find("reno"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("); or auto, system"), std::string::npos) << unknown;
}

TEST(CongestionPolicy, SetOnASocketReadsBack) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  std::string error;
  EXPECT_TRUE(set_congestion(fd, "reno", error)) << error;
  EXPECT_EQ(congestion_of(fd), "reno");
  EXPECT_FALSE(set_congestion(fd, "no-such-cc", error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(congestion_of(fd), "reno");  // a refused name changes nothing
  ::close(fd);
}

TEST(CongestionPolicy, AnAcceptedSocketInheritsTheListeners) {
  // Listener::bind_and_listen relies on this: set once before listen, every client has it.
  if (test::system_congestion() == "reno") GTEST_SKIP() << "the system's default is reno already";
  std::uint16_t port = 0;
  test::Fd listener = test::listen_tcp(&port);
  ASSERT_TRUE(listener);
  std::string error;
  // listen_tcp has called listen() already: the kernel takes it on a listening socket too.
  ASSERT_TRUE(set_congestion(listener.get(), "reno", error)) << error;
  test::Fd client = test::connect_tcp(port);
  ASSERT_TRUE(client);
  test::Fd accepted(::accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(accepted);
  EXPECT_EQ(congestion_of(accepted.get()), "reno");
  EXPECT_EQ(congestion_of(client.get()), test::system_congestion());
}

}  // namespace
}  // namespace faultline::proxy
