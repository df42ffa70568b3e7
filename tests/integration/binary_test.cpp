// The real `faultline` binary: start-up, refusal of bad files, and shutdown on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

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
