// Reloading the config file of the running binary, by SIGHUP and by POST /reload: a good file
// changes the faults of connections already open; a bad one is refused whole, named by its
// file:line:col, and the old configuration keeps relaying.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/net.hpp"
#include "tests/support/process.hpp"

namespace faultline::test {
namespace {

using std::chrono::steady_clock;

std::string config(std::uint16_t upstream, const std::string& faults = "") {
  std::string y =
      "seed: 1\napi: {listen: \"127.0.0.1:0\"}\nproxies:\n  - name: echo\n"
      "    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:" +
      std::to_string(upstream) + "\n";
  if (!faults.empty()) y += "    faults:\n" + faults;
  return y;
}

void rewrite(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

struct Running {
  std::unique_ptr<Process> process;
  std::uint16_t proxy = 0;
  std::uint16_t api = 0;
};

Running start(const std::string& path) {
  Running r;
  r.process = std::make_unique<Process>(
      std::vector<std::string>{binary_path("faultline"), "--config", path});
  auto m = r.process->wait_for_line(
      std::regex(R"(control API listening on http://127\.0\.0\.1:(\d+))"), 5s);
  if (!m) {
    ADD_FAILURE() << r.process->output();
    return r;
  }
  r.api = static_cast<std::uint16_t>(std::stoi((*m)[1]));
  std::smatch lm;
  const std::string out = r.process->output();
  if (std::regex_search(out, lm, std::regex(R"(proxy echo listening on 127\.0\.0\.1:(\d+))"))) {
    r.proxy = static_cast<std::uint16_t>(std::stoi(lm[1]));
  }
  return r;
}

TEST(Reload, SighupAddsAFaultToTheOpenConnection) {
  EchoServer echo;
  std::string path = write_temp_file("reload_hup.yaml", config(echo.port()));
  Running r = start(path);
  ASSERT_NE(r.proxy, 0) << r.process->output();
  Fd c = connect_tcp(r.proxy);
  double before = echo_ms(c.get());
  ASSERT_GE(before, 0);
  EXPECT_LT(before, 100);

  rewrite(path, config(echo.port(), "      - { type: latency, latency: 300ms }\n"));
  r.process->signal(SIGHUP);
  ASSERT_TRUE(
      r.process->wait_for_line(std::regex("reloaded .*reload_hup\\.yaml: 1 proxy, 1 fault"), 5s))
      << r.process->output();
  double after = echo_ms(c.get());
  EXPECT_GE(after, 300) << "the open connection did not get the reloaded fault";

  // The proxy kept its port and its connection; the API lists the fault as a toxic.
  httplib::Client http("127.0.0.1", r.api);
  auto res = http.Get("/proxies/echo/toxics");
  ASSERT_TRUE(res);
  auto toxics = nlohmann::json::parse(res->body);
  ASSERT_EQ(toxics.size(), 1u) << res->body;
  EXPECT_EQ(toxics[0]["attributes"]["latency"], 300);

  rewrite(path, config(echo.port()));
  r.process->signal(SIGHUP);
  ASSERT_TRUE(r.process->wait_for_line(std::regex("reloaded .*: 1 proxy, 0 faults"), 5s));
  EXPECT_LT(echo_ms(c.get()), 100);
}

TEST(Reload, PostReloadAppliesAResetPeerSeenFromTheClient) {
  EchoServer echo;
  std::string path = write_temp_file("reload_post.yaml", config(echo.port()));
  Running r = start(path);
  ASSERT_NE(r.proxy, 0);
  Fd c = connect_tcp(r.proxy);
  ASSERT_GE(echo_ms(c.get()), 0);
  rewrite(path, config(echo.port(), "      - { type: reset_peer, stream: downstream }\n"));
  httplib::Client http("127.0.0.1", r.api);
  auto res = http.Post("/reload", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  ASSERT_TRUE(send_all(c.get(), "z"));
  ReadResult got = read_to_eof(c.get(), 3s);
  EXPECT_EQ(got.error, ECONNRESET) << "eof " << got.eof << " errno " << got.error;
}

TEST(Reload, ABadFileIsRefusedWholeAndTheOldConfigKeepsRelaying) {
  EchoServer echo;
  std::string path = write_temp_file("reload_bad.yaml", config(echo.port()));
  Running r = start(path);
  ASSERT_NE(r.proxy, 0);
  Fd c = connect_tcp(r.proxy);
  ASSERT_GE(echo_ms(c.get()), 0);

  // A valid fault and a bad one: neither applies.
  rewrite(path, config(echo.port(),
                       "      - { type: latency, latency: 300ms }\n"
                       "      - { type: limit_data, bytes: lots }\n"));
  r.process->signal(SIGHUP);
  auto m = r.process->wait_for_line(
      std::regex(
          R"(reload refused, the running configuration is unchanged: .*reload_bad\.yaml:(\d+):(\d+): proxies\[0\]\.faults\[1\]\.bytes)"),
      5s);
  ASSERT_TRUE(m) << r.process->output();
  EXPECT_EQ((*m)[1],
            "9");  // seed, api, proxies, name, listen, upstream, faults, latency, limit_data
  double t = echo_ms(c.get());
  EXPECT_GE(t, 0) << "the old proxy stopped relaying";
  EXPECT_LT(t, 100) << "part of the refused file was applied";
  Fd fresh = connect_tcp(r.proxy);
  EXPECT_GE(echo_ms(fresh.get()), 0);

  httplib::Client http("127.0.0.1", r.api);
  auto res = http.Post("/reload", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto body = nlohmann::json::parse(res->body);
  EXPECT_NE(body["error"].get<std::string>().find("reload_bad.yaml:9:36:"), std::string::npos)
      << res->body;

  // A file that is not YAML at all is refused the same way.
  rewrite(path, "proxies: [ {name: echo\n");
  r.process->signal(SIGHUP);
  EXPECT_TRUE(
      r.process->wait_for_line(std::regex(R"(reload refused.*reload_bad\.yaml:\d+:\d+)"), 5s))
      << r.process->output();
  EXPECT_LT(echo_ms(c.get()), 100);

  r.process->signal(SIGTERM);
  auto status = r.process->wait(3s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

// A file whose second of three new proxies cannot listen (the test holds its port) is
// refused whole: the running proxy keeps its port, its fault and its open connection, and
// none of the new proxies listens.
TEST(Reload, AFileWhoseListenerCannotBeBoundChangesNothing) {
  EchoServer echo;
  std::string path = write_temp_file(
      "reload_bind.yaml", config(echo.port(), "      - { type: latency, latency: 50ms }\n"));
  Running r = start(path);
  ASSERT_NE(r.proxy, 0) << r.process->output();
  Fd c = connect_tcp(r.proxy);
  ASSERT_GE(echo_ms(c.get()), 50);
  httplib::Client http("127.0.0.1", r.api);
  auto before = http.Get("/proxies");
  ASSERT_TRUE(before);

  std::uint16_t taken = 0;
  Fd holder = listen_tcp(&taken);
  const std::uint16_t first = unused_port(), third = unused_port();
  auto entry = [&](const std::string& name, std::uint16_t port) {
    return "  - name: " + name + "\n    listen: 127.0.0.1:" + std::to_string(port) +
           "\n    upstream: 127.0.0.1:" + std::to_string(echo.port()) + "\n";
  };
  // The running proxy gets a new fault, and three new proxies come along.
  rewrite(path, config(echo.port(), "      - { type: latency, latency: 300ms }\n") +
                    entry("n1", first) + entry("n2", taken) + entry("n3", third));
  r.process->signal(SIGHUP);
  ASSERT_TRUE(r.process->wait_for_line(
      std::regex(
          R"(reload refused, the running configuration is unchanged: proxy "n2": cannot listen on 127\.0\.0\.1:\d+: Address already in use)"),
      5s))
      << r.process->output();
  auto res = http.Post("/reload", "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500) << res->body;

  auto after = http.Get("/proxies");
  ASSERT_TRUE(after);
  EXPECT_EQ(nlohmann::json::parse(after->body), nlohmann::json::parse(before->body));
  double t = echo_ms(c.get());
  EXPECT_GE(t, 50) << "the open connection was cut or lost its fault";
  EXPECT_LT(t, 300) << "part of the refused file was applied";
  Fd fresh = connect_tcp(r.proxy);
  EXPECT_GE(echo_ms(fresh.get()), 50);
  int err = 0;
  EXPECT_FALSE(connect_tcp(first, 500ms, &err)) << "n1 was left listening";
  EXPECT_FALSE(connect_tcp(third, 500ms, &err)) << "n3 was left listening";

  r.process->signal(SIGTERM);
  auto status = r.process->wait(3s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
}

}  // namespace
}  // namespace faultline::test
