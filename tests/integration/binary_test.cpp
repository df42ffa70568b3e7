// The real `faultline` binary: start-up, refusal of bad files, and shutdown on SIGTERM.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <future>
#include <regex>

#include "tests/support/net.hpp"
#include "tests/support/process.hpp"

namespace faultline::test {
namespace {

const std::regex kListening(R"(proxy (\S+) listening on 127\.0\.0\.1:(\d+))");

std::string config_for(std::uint16_t upstream, const std::string& listen = "127.0.0.1:0") {
  return "seed: 1\nproxies:\n  - name: echo\n    listen: " + listen +
         "\n    upstream: 127.0.0.1:" + std::to_string(upstream) + "\n";
}

TEST(Binary, RelaysAndStopsWithinASecondOnSigterm) {
  EchoServer echo;
  std::string path = write_temp_file("sigterm.yaml", config_for(echo.port()));
  Process p({binary_path("faultline"), "--config", path, "--api", "127.0.0.1:0"});
  auto m = p.wait_for_line(kListening, 5s);
  ASSERT_TRUE(m) << p.output();
  auto port = static_cast<std::uint16_t>(std::stoi((*m)[2]));

  Fd c = connect_tcp(port);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4, 5s).data, "ping");

  auto start = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto status = p.wait(2s);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(status) << "still running 2 s after SIGTERM";
  EXPECT_EQ(*status, 0) << p.output();
  EXPECT_LT(took, 1s);
  // The open connection was ended, not left hanging.
  ReadResult r = read_to_eof(c.get(), 2s);
  EXPECT_TRUE(r.eof || r.error == ECONNRESET) << "errno " << r.error;
  int err = 0;
  EXPECT_FALSE(connect_tcp(port, 500ms, &err)) << "still accepting after exit";
}

TEST(Binary, ConnectionLogsCarryTheConnectionId) {
  EchoServer echo;
  std::string path = write_temp_file("ids.yaml", config_for(echo.port()));
  Process p({binary_path("faultline"), "--config", path, "--api", "127.0.0.1:0"});
  auto m = p.wait_for_line(kListening, 5s);
  ASSERT_TRUE(m) << p.output();
  auto port = static_cast<std::uint16_t>(std::stoi((*m)[2]));
  {
    Fd c = connect_tcp(port);
    ASSERT_TRUE(send_all(c.get(), "hello"));
    EXPECT_EQ(read_n(c.get(), 5, 5s).data, "hello");
    shutdown_write(c.get());
    EXPECT_TRUE(read_to_eof(c.get(), 5s).eof);
  }
  EXPECT_TRUE(p.wait_for_line(std::regex(R"(\[C1\] accepted from 127\.0\.0\.1:\d+)"), 5s));
  EXPECT_TRUE(p.wait_for_line(
      std::regex(R"(\[C1\] closed: .*client FIN.*upstream FIN.*5 B up, 5 B down)"), 5s))
      << p.output();
}

// Every accepted connection ends with exactly one `closed` line, whatever happened: here the
// upstream refuses (nothing listens on its port), which used to log `accepted` and a warning only.
TEST(Binary, EveryAcceptedConnectionEndsWithOneClosedLine) {
  // A port bound and never listened on: connects are refused, and no ephemeral port (the
  // proxy's own dial) can collide with it and connect to itself.
  Fd held(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::bind(held.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::getsockname(held.get(), reinterpret_cast<sockaddr*>(&sa), &len), 0);
  const std::uint16_t nobody = ntohs(sa.sin_port);
  std::string path = write_temp_file("closed.yaml",
                                     "seed: 1\nproxies:\n  - name: down\n    listen: 127.0.0.1:0\n"
                                     "    upstream: 127.0.0.1:" +
                                         std::to_string(nobody) + "\n");
  Process p({binary_path("faultline"), "--config", path, "--api", "off"});
  auto m = p.wait_for_line(kListening, 5s);
  ASSERT_TRUE(m) << p.output();
  auto port = static_cast<std::uint16_t>(std::stoi((*m)[2]));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    // on_upstream_failure: reset. The RST may beat connect_tcp's own check of the connect.
    int err = 0;
    Fd c = connect_tcp(port, 2000ms, &err);
    EXPECT_EQ(c ? read_to_eof(c.get(), 5s).error : err, ECONNRESET);
    // Its closed line (connections end in any order: count them, below).
    EXPECT_TRUE(p.wait_for_line(
        std::regex(R"(\[C\d+\] closed: upstream connect to 127\.0\.0\.1:)" +
                   std::to_string(nobody) + R"( failed: Connection refused; 0 B up, 0 B down)"),
        5s))
        << p.output();
  }
  p.signal(SIGTERM);
  ASSERT_TRUE(p.wait(5s));
  for (int id = 1; id <= 3; ++id) {
    const std::string tag = "[C" + std::to_string(id) + "] ";
    std::size_t accepted = 0, closed = 0;
    for (std::size_t at = 0; (at = p.output().find(tag, at)) != std::string::npos; ++at) {
      std::string_view rest(p.output().data() + at + tag.size());
      accepted += rest.starts_with("accepted ");
      closed += rest.starts_with("closed: ");
    }
    EXPECT_EQ(accepted, 1u) << tag;
    EXPECT_EQ(closed, 1u) << tag << "\n" << p.output();
  }
}

// IPv6 endpoints are written in brackets everywhere: [::1]:7000, as Toxiproxy (Go's
// net.JoinHostPort) prints them.
TEST(Binary, Ipv6EndpointsAreLoggedInBrackets) {
  Fd probe(::socket(AF_INET6, SOCK_STREAM, 0));
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  if (!probe || ::bind(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  probe.reset();
  EchoServer echo;
  std::string path = write_temp_file("v6.yaml",
                                     "seed: 1\nproxies:\n  - name: six\n    listen: \"[::1]:0\"\n"
                                     "    upstream: 127.0.0.1:" +
                                         std::to_string(echo.port()) + "\n");
  Process p({binary_path("faultline"), "--config", path, "--api", "off"});
  auto m = p.wait_for_line(std::regex(R"(proxy six listening on \[::1\]:(\d+) -> upstream )"), 5s);
  ASSERT_TRUE(m) << p.output();
  auto port = static_cast<std::uint16_t>(std::stoi((*m)[1]));
  Fd c(::socket(AF_INET6, SOCK_STREAM, 0));
  sa.sin6_port = htons(port);
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_TRUE(send_all(c.get(), "v6"));
  EXPECT_EQ(read_n(c.get(), 2, 5s).data, "v6");
  EXPECT_TRUE(p.wait_for_line(std::regex(R"(\[C1\] accepted from \[::1\]:\d+ on proxy six)"), 5s))
      << p.output();
}

// --check refuses a proxy whose upstream is its own listen address, at the upstream field.
TEST(Binary, CheckRefusesAProxyThatDialsItself) {
  std::string loop =
      write_temp_file("loop.yaml",
                      "proxies:\n  - name: self\n    listen: 0.0.0.0:7000\n    upstream: "
                      "localhost:7000\n");
  Process no({binary_path("faultline"), "--check", loop});
  ASSERT_EQ(no.wait(5s), 1) << no.output();
  EXPECT_NE(no.output().find(loop + ":4:15: proxies[0].upstream: expected an upstream other than "
                                    "this proxy's own listen address"),
            std::string::npos)
      << no.output();
}

TEST(Binary, JsonLogLinesStayValidWithQuotesInThem) {
  EchoServer echo;
  std::string path = write_temp_file("json \"quoted\".yaml", config_for(echo.port()));
  Process p(
      {binary_path("faultline"), "--config", path, "--log-format", "json", "--api", "127.0.0.1:0"});
  auto m = p.wait_for_line(
      std::regex(
          R"(^\{"ts":"[^"]+","level":"info","logger":"proxy","msg":".*json \\"quoted\\"\.yaml.*"\}$)"),
      5s);
  EXPECT_TRUE(m) << p.output();
}

TEST(Binary, PortInUseIsAnErrorNamingTheProxy) {
  std::uint16_t port = 0;
  Fd taken = listen_tcp(&port);
  std::string path =
      write_temp_file("inuse.yaml", config_for(1, "127.0.0.1:" + std::to_string(port)));
  Process p({binary_path("faultline"), "--config", path, "--api", "127.0.0.1:0"});
  auto status = p.wait(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(p.output().find("proxy \"echo\": cannot listen on 127.0.0.1:" + std::to_string(port) +
                            ": Address already in use"),
            std::string::npos)
      << p.output();
}

TEST(Binary, CheckAcceptsAGoodFileAndRefusesABadOneWithItsPlace) {
  std::string good = write_temp_file("good.yaml", config_for(7001, "127.0.0.1:7000"));
  Process ok({binary_path("faultline"), "--check", good});
  ASSERT_EQ(ok.wait(5s), 0) << ok.output();
  EXPECT_NE(ok.output().find("ok (1 proxy, 0 faults)"), std::string::npos) << ok.output();

  std::string bad = write_temp_file(
      "bad.yaml",
      "proxies:\n  - name: echo\n    listen: 127.0.0.1:7000\n    upstream: 127.0.0.1:7001\n"
      "    connect_timeout: 100\n");
  Process no({binary_path("faultline"), "--check", bad});
  ASSERT_EQ(no.wait(5s), 1) << no.output();
  EXPECT_NE(no.output().find(bad + ":5:22: proxies[0].connect_timeout: expected"),
            std::string::npos)
      << no.output();
}

TEST(Binary, BadConfigIsRefusedBeforeAnythingListens) {
  std::uint16_t port = unused_port();
  std::string bad = write_temp_file(
      "bad2.yaml",
      "proxies:\n  - name: echo\n    listen: 127.0.0.1:" + std::to_string(port) +
          "\n    upstream: 127.0.0.1:7001\n    faults:\n      - type: no_such_fault\n");
  Process p({binary_path("faultline"), "--config", bad, "--api", "127.0.0.1:0"});
  ASSERT_EQ(p.wait(5s), 1) << p.output();
  EXPECT_NE(p.output().find(bad + ":6:9: proxies[0].faults[0].type: expected"), std::string::npos)
      << p.output();
}

TEST(Binary, RelayModeFlagsAreLoggedAndBadValuesAreRefused) {
  EchoServer echo;
  std::string path = write_temp_file("modes.yaml", config_for(echo.port()));
  for (const auto& [flags, logged] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "(busy-poll off, splice on, timer-spin off, congestion auto)"},
           {{"--profile", "low-latency"},
            "(busy-poll 50us, splice on, timer-spin 500us, congestion auto)"},
           {{"--profile", "low-latency", "--timer-spin", "0"},
            "(busy-poll 50us, splice on, timer-spin off, congestion auto)"},
           {{"--busy-poll", "0", "--no-splice", "--timer-spin", "0", "--congestion", "system"},
            "(busy-poll off, splice off, timer-spin off, congestion system)"},
           {{"--busy-poll", "200us", "--timer-spin", "1ms", "--congestion", "reno"},
            "(busy-poll 200us, splice on, timer-spin 1ms, congestion reno)"}}) {
    std::vector<std::string> argv{binary_path("faultline"), "--config", path, "--api", "off"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    Process p(argv);
    auto m = p.wait_for_line(kListening, 5s);
    ASSERT_TRUE(m) << p.output();
    // Every mode relays the same bytes.
    Fd c = connect_tcp(static_cast<std::uint16_t>(std::stoi((*m)[2])));
    const std::string payload = random_bytes(1 << 20, 3);
    auto sender = std::async(std::launch::async, [&] { return send_all(c.get(), payload); });
    EXPECT_TRUE(read_n(c.get(), payload.size(), 10s).data == payload);
    EXPECT_TRUE(sender.get());
    auto mode = p.wait_for_line(
        std::regex(R"(\(busy-poll \S+, splice \S+, timer-spin \S+, congestion \S+\))"), 5s);
    ASSERT_TRUE(mode) << p.output();
    EXPECT_EQ((*mode)[0].str(), logged);
  }
  Process bad({binary_path("faultline"), "--config", path, "--busy-poll", "5"});
  ASSERT_EQ(bad.wait(5s), 2) << bad.output();  // a usage error
  EXPECT_NE(bad.output().find("--busy-poll: expected a duration up to 1s"), std::string::npos)
      << bad.output();
  Process bad_spin({binary_path("faultline"), "--config", path, "--timer-spin", "20ms"});
  ASSERT_EQ(bad_spin.wait(5s), 2) << bad_spin.output();
  EXPECT_NE(bad_spin.output().find("--timer-spin: expected a duration up to 10ms"),
            std::string::npos)
      << bad_spin.output();
  Process bad_cc({binary_path("faultline"), "--config", path, "--congestion", "no-such-cc"});
  ASSERT_EQ(bad_cc.wait(5s), 2) << bad_cc.output();
  EXPECT_NE(bad_cc.output().find("--congestion: no congestion control \"no-such-cc\" in this "
                                 "kernel (available: "),
            std::string::npos)
      << bad_cc.output();
}

}  // namespace
}  // namespace faultline::test
