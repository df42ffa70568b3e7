// The chaos suite: for every scenario in examples/, the real echo-server, faultline with the
// scenario and echo-client through it. The robust client must pass and show that it met the
// fault; the naive client must be caught (a non-zero exit, or killed at the harness deadline).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <future>
#include <set>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/support/process.hpp"
#include "tests/support/paths.hpp"

namespace faultline::test {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// echo-server + faultline running one scenario file, on kernel-chosen ports.
class Scenario {
 public:
  explicit Scenario(const std::string& name) {
    server_ = std::make_unique<Process>(
        std::vector<std::string>{binary_path("echo-server"), "--listen", "127.0.0.1:0", "--quiet"});
    auto m = server_->wait_for_line(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"), 5s);
    if (!m) throw std::runtime_error("echo-server did not start: " + server_->output());
    std::string upstream_port = (*m)[1];

    // The example as a user runs it, with its fixed ports swapped for free ones.
    std::string yaml = read_file(source_dir() + "/examples/" + name + ".yaml");
    replace_all(yaml, "127.0.0.1:7001", "127.0.0.1:" + upstream_port);
    for (const char* listen : {"127.0.0.1:7000", "127.0.0.1:7002", "127.0.0.1:7003"}) {
      replace_all(yaml, listen, "127.0.0.1:0");
    }
    std::size_t proxies = 0;
    for (auto pos = yaml.find("- name:"); pos != std::string::npos;
         pos = yaml.find("- name:", pos + 1)) {
      ++proxies;
    }
    std::string path = write_temp_file("chaos-" + name + ".yaml", yaml);
    proxy_ = std::make_unique<Process>(std::vector<std::string>{
        binary_path("faultline"), "--config", path, "--log-level", "info", "--api", "127.0.0.1:0"});
    for (std::size_t i = 0; i < proxies; ++i) {
      auto p =
          proxy_->wait_for_line(std::regex(R"(proxy (\S+) listening on 127\.0\.0\.1:(\d+))"), 5s);
      if (!p) throw std::runtime_error("faultline did not start: " + proxy_->output());
      ports_[(*p)[1]] = (*p)[2];
    }
  }

  std::string address(const std::string& proxy = "echo") const {
    return "127.0.0.1:" + ports_.at(proxy);
  }
  const Process& proxy_process() const { return *proxy_; }

 private:
  std::unique_ptr<Process> server_;
  std::unique_ptr<Process> proxy_;
  std::map<std::string, std::string> ports_;
};

struct ClientRun {
  std::optional<int> exit;  // nullopt: still running at the deadline (killed)
  nlohmann::json report;    // the robust client's --json summary
  std::string output;
};

ClientRun run_client(const std::string& address, std::vector<std::string> args, Ms deadline) {
  std::vector<std::string> argv{binary_path("echo-client"), "--connect", address, "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process client(argv);
  ClientRun run;
  run.exit = client.wait(deadline);
  run.output = client.output();
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.front() == '{')
      run.report = nlohmann::json::parse(line, nullptr, false);
  }
  return run;  // a client still running is killed by ~Process
}

// The naive client fails the way its bug fails: an error exit, or a hang the harness ends.
void expect_naive_caught(const ClientRun& run, const std::string& scenario) {
  if (run.exit) {
    EXPECT_NE(*run.exit, 0) << scenario << ": the naive client passed:\n" << run.output;
  } else {
    SUCCEED() << scenario << ": the naive client hung and was killed at the deadline";
  }
}

TEST(Chaos, Reset10054) {
  Scenario s("10054");
  auto robust = run_client(
      s.address(), {"--count", "10", "--size", "64", "--retries", "10", "--backoff", "10"}, 20s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  EXPECT_EQ(robust.report["verified"], 10);
  EXPECT_GE(robust.report["resets"].get<int>(), 1) << robust.output;
  EXPECT_GE(robust.report["reconnects"].get<int>(), 1);

  Scenario fresh("10054");  // the naive client gets the first (reset) connection
  auto naive = run_client(fresh.address(), {"--count", "10", "--size", "64", "--naive"}, 5s);
  ASSERT_TRUE(naive.exit) << "naive client hung under 10054";
  EXPECT_EQ(*naive.exit, 3) << naive.output;
  EXPECT_NE(naive.output.find("ECONNRESET"), std::string::npos) << naive.output;
}

TEST(Chaos, PartialRecv) {
  Scenario s("partial-recv");
  auto robust = run_client(s.address(), {"--count", "10", "--size", "64"}, 20s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  EXPECT_GT(robust.report["partial_reads"].get<int>(), 0) << robust.output;
  auto naive = run_client(s.address(), {"--count", "10", "--size", "64", "--naive"}, 5s);
  ASSERT_TRUE(naive.exit);
  EXPECT_EQ(*naive.exit, 5) << naive.output;  // one recv taken for a whole message: mismatch
}

TEST(Chaos, Coalesce) {
  Scenario s("coalesce");
  auto robust = run_client(s.address(), {"--count", "20", "--size", "64", "--pipeline", "4"}, 20s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  EXPECT_GT(robust.report["coalesced_reads"].get<int>(), 0) << robust.output;
  auto naive =
      run_client(s.address(), {"--count", "20", "--size", "64", "--pipeline", "4", "--naive"}, 5s);
  expect_naive_caught(naive, "coalesce");
}

TEST(Chaos, Timeouts) {
  Scenario s("timeouts");
  auto robust = run_client(
      s.address(),
      {"--count", "10", "--size", "64", "--timeout", "300", "--retries", "5", "--backoff", "10"},
      20s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  EXPECT_GE(robust.report["timeouts"].get<int>() + robust.report["eofs"].get<int>(), 2)
      << robust.output;
  Scenario fresh("timeouts");
  auto naive = run_client(fresh.address(), {"--count", "10", "--size", "64", "--naive"}, 3s);
  EXPECT_FALSE(naive.exit) << "the naive client has no deadline: it must hang on a blackhole:\n"
                           << naive.output;
}

TEST(Chaos, BacklogStallResetRefuse) {
  Scenario s("backlog");
  // While the listeners misbehave (the first two seconds), a robust client retries with
  // backoff and gets through once they recover.
  std::vector<std::string> args{"--count",   "5",  "--timeout", "300",
                                "--retries", "30", "--backoff", "100"};
  auto stall =
      std::async(std::launch::async, [&] { return run_client(s.address("stall"), args, 20s); });
  auto reset =
      std::async(std::launch::async, [&] { return run_client(s.address("reset"), args, 20s); });
  auto refuse = run_client(s.address("refuse"), args, 20s);
  auto st = stall.get();
  auto rs = reset.get();
  ASSERT_EQ(st.exit, 0) << st.output;
  ASSERT_EQ(rs.exit, 0) << rs.output;
  ASSERT_EQ(refuse.exit, 0) << refuse.output;
  EXPECT_GE(st.report["timeouts"].get<int>() + st.report["connect_failures"].get<int>(), 1)
      << st.output;
  EXPECT_GE(rs.report["resets"].get<int>() + rs.report["connect_failures"].get<int>(), 1)
      << rs.output;
  EXPECT_GE(refuse.report["connect_failures"].get<int>(), 1) << refuse.output;

  Scenario fresh("backlog");
  auto naive = run_client(fresh.address("reset"), {"--count", "5", "--naive"}, 5s);
  expect_naive_caught(naive, "backlog reset");
}

TEST(Chaos, SlowNetwork) {
  Scenario s("slow-network");
  auto robust =
      run_client(s.address(), {"--count", "20", "--size", "1000", "--timeout", "2000"}, 30s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  // 20 round trips through 50 ms ± 10 ms each way.
  EXPECT_GE(robust.report["elapsed_ms"].get<int>(), 20 * 80) << robust.output;
}

TEST(Chaos, SeededChaos) {
  Scenario s("chaos");
  auto robust = run_client(s.address(),
                           {"--count", "50", "--size", "16-2048", "--pipeline", "2", "--timeout",
                            "1000", "--retries", "20", "--backoff", "10"},
                           60s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  auto& r = robust.report;
  EXPECT_GT(
      r["partial_reads"].get<int>() + r["coalesced_reads"].get<int>() + r["resets"].get<int>(), 0)
      << robust.output;
}

TEST(Chaos, Demo) {
  Scenario s("demo");
  auto robust = run_client(s.address(), {"--count", "20", "--size", "1000"}, 30s);
  ASSERT_EQ(robust.exit, 0) << robust.output;
  EXPECT_GE(robust.report["resets"].get<int>(), 1) << robust.output;
  EXPECT_GT(robust.report["partial_reads"].get<int>(), 0) << robust.output;
}

TEST(Chaos, EveryExampleHasAChaosTest) {
  // A scenario added to examples/ without a test here fails this.
  const std::set<std::string> covered{"10054",   "partial-recv", "coalesce", "timeouts",
                                      "backlog", "slow-network", "chaos",    "demo"};
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/examples")) {
    if (e.path().extension() != ".yaml") continue;
    EXPECT_TRUE(covered.count(e.path().stem().string())) << e.path() << " has no chaos test";
  }
}

}  // namespace
}  // namespace faultline::test
