// The embedded proxy as a user's test drives it: only faultline/faultline.hpp, real sockets.
#include "faultline/faultline.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <mutex>

#include "tests/support/net.hpp"
#include "tests/support/paths.hpp"

namespace {

using namespace std::chrono_literals;
using faultline::test::connect_tcp;
using faultline::test::EchoServer;
using faultline::test::read_n;
using faultline::test::send_all;

TEST(EmbedFault, BuildersSayWhatTheYamlSays) {
  using namespace std::chrono_literals;
  EXPECT_EQ(faultline::slicer({.average_size = 1, .delay = 1ms}).to_yaml(),
            "{ type: slicer, stream: downstream, average_size: 1, delay: 1ms }");
  EXPECT_EQ(faultline::reset_peer({.after_bytes = 5}).named("rst").starting_after(2s).to_yaml(),
            "{ type: reset_peer, name: rst, stream: downstream, after: 2s, after_bytes: 5 }");
  EXPECT_EQ(
      faultline::latency({.latency = 100ms, .jitter = 250us, .stream = faultline::Stream::both})
          .on_connections("first: 2")
          .with_toxicity(0.5)
          .to_yaml(),
      "{ type: latency, stream: both, toxicity: 0.5, connections: {first: 2}, jitter: "
      "250us, latency: 100ms }");
  EXPECT_EQ(faultline::bandwidth({.bytes_per_second = 1000}).to_yaml(),
            "{ type: bandwidth, stream: downstream, rate: 1000B/s }");
}

TEST(EmbedFault, YamlItemsRoundTrip) {
  auto faults = faultline::faults_from_yaml(
      "- { type: slicer, stream: upstream, average_size: 64KiB, delay: 500us }\n"
      "- type: rst\n"
      "  name: later\n"
      "  after: 2s\n");
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[0].type, "slicer");
  EXPECT_EQ(faults[0].name, "slicer_upstream");
  EXPECT_EQ(faults[0].stream, faultline::Stream::upstream);
  EXPECT_EQ(faults[0].attributes.at("average_size"), "64KiB");
  EXPECT_EQ(faults[1].name, "later");
  EXPECT_EQ(faults[1].after, 2s);
}

TEST(EmbedFault, ABadItemIsRefusedWithItsLineAndColumn) {
  try {
    faultline::faults_from_yaml(
        "- { type: latency, latency: 100ms }\n"
        "- { type: slicer, average_size: 1, delay: 100 }\n");
    FAIL() << "accepted a duration without a unit";
  } catch (const faultline::Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("faults yaml:2:"), std::string::npos) << what;
    EXPECT_NE(what.find("faults[1].delay"), std::string::npos) << what;
  }
}

TEST(EmbedProxy, RelaysAndCounts) {
  EchoServer echo;
  faultline::Proxy proxy({.upstream = echo.address()});
  EXPECT_EQ(proxy.host(), "127.0.0.1");
  ASSERT_NE(proxy.port(), 0);
  auto c = connect_tcp(proxy.port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), "hello"));
  EXPECT_EQ(read_n(c.get(), 5, 2000ms).data, "hello");
  c.reset();
  EXPECT_TRUE(proxy.wait_for([](const faultline::Counters& k) {
    return k.closed_by(faultline::CloseCause::fin) == 1;
  })) << proxy.counters().to_string();
  auto k = proxy.counters();
  EXPECT_EQ(k.accepted, 1u);
  EXPECT_EQ(k.bytes_upstream, 5u);
  EXPECT_EQ(k.bytes_downstream, 5u);
  EXPECT_EQ(k.faults_fired(), 0u);
}

TEST(EmbedProxy, FaultsChangeOnAnOpenConnection) {
  EchoServer echo;
  faultline::Proxy proxy({.upstream = echo.address()});
  auto c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "one"));
  EXPECT_EQ(read_n(c.get(), 3, 2000ms).data, "one");

  // Sliced into single bytes from the next chunk on, on the connection already open.
  // 5 ms apart: with less, a client descheduled meanwhile reads two pieces at once.
  EXPECT_EQ(proxy.add_fault(faultline::slicer({.average_size = 1, .delay = 5ms})),
            "slicer_downstream");
  ASSERT_TRUE(send_all(c.get(), "four"));
  auto r = read_n(c.get(), 4, 2000ms);
  EXPECT_EQ(r.data, "four");
  EXPECT_EQ(r.recv_sizes, (std::vector<std::size_t>{1, 1, 1, 1}));

  EXPECT_THROW(proxy.add_fault(faultline::slicer()), faultline::Error);  // the name is taken
  proxy.update_fault(faultline::slicer({.average_size = 2}));
  ASSERT_EQ(proxy.faults().size(), 1u);
  EXPECT_EQ(proxy.faults()[0].attributes.at("average_size"), "2");

  proxy.add_fault(faultline::reset_peer());
  ASSERT_TRUE(send_all(c.get(), "x"));
  int err = 0;
  char b;
  EXPECT_EQ(faultline::test::recv_some(c.get(), &b, 1, 2000ms, &err), -1);
  EXPECT_EQ(err, ECONNRESET);
  EXPECT_TRUE(proxy.wait_for([](const faultline::Counters& k) { return k.fired_of("rst") == 1; }));

  proxy.remove_fault("reset_peer_downstream");
  EXPECT_THROW(proxy.remove_fault("reset_peer_downstream"), faultline::Error);
  proxy.clear_faults();
  EXPECT_TRUE(proxy.faults().empty());
  auto d = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(d.get(), "again"));
  EXPECT_EQ(read_n(d.get(), 5, 2000ms).recv_sizes.size(), 1u);
}

TEST(EmbedProxy, ABadChangeChangesNothing) {
  EchoServer echo;
  faultline::Proxy proxy(
      {.upstream = echo.address(), .faults_yaml = "- { type: latency, latency: 1ms }"});
  EXPECT_THROW(proxy.set_faults("- { type: no_such_fault }"), faultline::Error);
  EXPECT_THROW(proxy.add_fault(faultline::slicer({.average_size = 0})), faultline::Error);
  ASSERT_EQ(proxy.faults().size(), 1u);
  EXPECT_EQ(proxy.faults()[0].type, "latency");
}

TEST(EmbedProxy, RefusesABadStart) {
  EXPECT_THROW(faultline::Proxy({.upstream = "nowhere"}), faultline::Error);
  EXPECT_THROW(faultline::Proxy({.upstream = "127.0.0.1:1", .log_level = "loud"}),
               faultline::Error);
  EchoServer echo;
  faultline::Proxy first({.upstream = echo.address()});
  try {
    faultline::Proxy second({.upstream = echo.address(), .listen = first.address()});
    FAIL() << "two proxies listened on " << first.address();
  } catch (const faultline::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
}

TEST(EmbedProxy, TwoInOneProcessKeepTheirLogsApart) {
  EchoServer echo;
  faultline::Proxy a({.upstream = echo.address(), .name = "alpha"});
  faultline::Proxy b({.upstream = echo.address(),
                      .name = "beta",
                      .faults = {faultline::slicer({.average_size = 2})}});
  for (auto* p : {&a, &b}) {
    auto c = connect_tcp(p->port());
    ASSERT_TRUE(send_all(c.get(), "ping"));
    EXPECT_EQ(read_n(c.get(), 4, 2000ms).data, "ping");
  }
  a.stop();
  b.stop();
  std::string la = a.log(), lb = b.log();
  EXPECT_NE(la.find("proxy alpha listening on"), std::string::npos) << la;
  EXPECT_NE(la.find("on proxy alpha"), std::string::npos) << la;
  EXPECT_EQ(la.find("beta"), std::string::npos) << la;
  EXPECT_NE(lb.find("on proxy beta"), std::string::npos) << lb;
  EXPECT_NE(lb.find("fault slicer_downstream (slicer, downstream) fired"), std::string::npos) << lb;
  EXPECT_EQ(lb.find("alpha"), std::string::npos) << lb;
}

TEST(EmbedProxy, LogLinesGoToOnLogAtTheLevelAsked) {
  EchoServer echo;
  std::vector<std::string> seen;
  std::mutex m;
  faultline::Proxy proxy(
      {.upstream = echo.address(), .log_level = "warn", .on_log = [&](std::string_view l) {
         std::lock_guard lock(m);
         seen.emplace_back(l);
       }});
  {
    auto c = connect_tcp(proxy.port());
    ASSERT_TRUE(send_all(c.get(), "x"));
    read_n(c.get(), 1, 2000ms);
  }
  proxy.stop();
  // Only warnings and errors: the accept and close lines are info.
  EXPECT_TRUE(proxy.log_lines().empty()) << proxy.log();
  std::lock_guard lock(m);
  EXPECT_TRUE(seen.empty());
}

TEST(EmbedProxy, StopEndsConnectionsAndIsIdempotent) {
  EchoServer echo;
  faultline::Proxy proxy({.upstream = echo.address()});
  auto c = connect_tcp(proxy.port());
  ASSERT_TRUE(send_all(c.get(), "x"));
  read_n(c.get(), 1, 2000ms);
  std::uint16_t port = proxy.port();
  proxy.stop();
  proxy.stop();
  EXPECT_FALSE(proxy.running());
  EXPECT_TRUE(faultline::test::read_to_eof(c.get(), 2000ms).eof);
  int err = 0;
  EXPECT_FALSE(connect_tcp(port, 1000ms, &err));
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_THROW(proxy.add_fault(faultline::slicer()), faultline::Error);
}

}  // namespace

namespace {

// The version is set once (project(... VERSION) in CMakeLists.txt): the header and the
// binary's --version say the same.
TEST(EmbedVersion, TheHeaderAndTheBinaryAgree) {
  EXPECT_EQ(std::string(faultline::kVersion), FAULTLINE_VERSION);
  std::string cmd = faultline::test::binary_dir() + "/bin/faultline --version";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[128] = {};
  std::string out = std::fgets(buf, sizeof buf, p) ? buf : "";
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_EQ(out, std::string("faultline ") + faultline::kVersion + "\n");
}

}  // namespace
