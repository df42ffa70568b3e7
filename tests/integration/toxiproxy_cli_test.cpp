// The binary as a Toxiproxy user starts it: an empty server filled over HTTP, toxiproxy-server's
// command line (under that name, and as `faultline -host=...`) with a -config JSON file, and the
// exit codes of every way to get the command line wrong (0 ok, 1 bad config, 2 usage).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/net.hpp"
#include "tests/support/process.hpp"

namespace faultline::test {
namespace {

using json = nlohmann::json;

const std::regex kApiLine(R"(control API listening on http://127\.0\.0\.1:(\d+))");

struct Reply {
  int status = 0;
  json body;
};

Reply call(std::uint16_t api, const std::string& method, const std::string& path,
           const std::string& body = "") {
  httplib::Client c("127.0.0.1", api);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(5, 0);
  httplib::Result r =
      method == "GET" ? c.Get(path.c_str()) : c.Post(path.c_str(), body, "application/json");
  Reply out;
  if (!r) {
    ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

std::uint16_t port_of(const std::string& listen) {
  return static_cast<std::uint16_t>(std::stoi(listen.substr(listen.rfind(':') + 1)));
}

// A round trip through a proxy port: true when the echo came back.
bool echoes(std::uint16_t port) {
  Fd c = connect_tcp(port);
  if (!c || !send_all(c.get(), "ping")) return false;
  return read_n(c.get(), 4, 5s).data == "ping";
}

// The binary under another name: a symlink in this test's temp directory.
std::string linked_as(const std::string& name) {
  std::string path = write_temp_file(name + ".placeholder", "");
  std::filesystem::path link = std::filesystem::path(path).parent_path() / name;
  std::error_code ec;
  std::filesystem::remove(link, ec);
  std::filesystem::create_symlink(binary_path("faultline"), link);
  return link.string();
}

struct Exit {
  int status;
  std::string output;
};

Exit run_to_exit(std::vector<std::string> argv) {
  Process p(std::move(argv));
  auto status = p.wait(10s);
  return {status.value_or(-1), p.output()};
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(EmptyServer, StartsWithNoConfigAndIsFilledOverHttp) {
  EchoServer echo;
  Process p({binary_path("faultline"), "--api", "127.0.0.1:0"});
  auto m = p.wait_for_line(kApiLine, 5s);
  ASSERT_TRUE(m) << p.output();
  auto api = static_cast<std::uint16_t>(std::stoi((*m)[1]));
  EXPECT_TRUE(contains(p.output(),
                       "running no proxies (an empty server: add proxies through "
                       "the API)"))
      << p.output();
  EXPECT_TRUE(std::regex_search(
      p.output(), std::regex(R"(no seed given; using seed \d+ \(to replay: put `seed: \d+` in )"
                             R"(the config file\))")))
      << p.output();

  Reply all = call(api, "GET", "/proxies");
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body, json::object());

  Reply created =
      call(api, "POST", "/proxies",
           json{{"name", "echo"}, {"listen", "127.0.0.1:0"}, {"upstream", echo.address()}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::uint16_t port = port_of(created.body["listen"].get<std::string>());
  ASSERT_NE(port, 0);
  EXPECT_TRUE(echoes(port));

  Reply toxic = call(api, "POST", "/proxies/echo/toxics",
                     R"({"type": "latency", "attributes": {"latency": 150}})");
  EXPECT_EQ(toxic.status, 200) << toxic.body;
  Fd c = connect_tcp(port);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(read_n(c.get(), 4, 5s).data, "ping");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0) << p.output();
}

TEST(EmptyServer, AFileWithNoProxiesRunsTheApiAndOneWithTheApiOffIsRefused) {
  for (const std::string yaml : {"seed: 1\nproxies: []\n", "seed: 1\n"}) {
    std::string path = write_temp_file("empty.yaml", yaml);
    Exit check = run_to_exit({binary_path("faultline"), "--check", path});
    EXPECT_EQ(check.status, 0) << check.output;
    EXPECT_TRUE(contains(check.output, "ok (0 proxies, 0 faults)")) << check.output;

    Process p({binary_path("faultline"), "--config", path, "--api", "127.0.0.1:0"});
    auto m = p.wait_for_line(kApiLine, 5s);
    ASSERT_TRUE(m) << p.output();
    EXPECT_TRUE(contains(p.output(), "running no proxies from " + path)) << p.output();
    EXPECT_EQ(call(static_cast<std::uint16_t>(std::stoi((*m)[1])), "GET", "/proxies").body,
              json::object());
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(5s), 0) << p.output();
  }

  std::string off = write_temp_file("off.yaml", "seed: 1\napi: off\nproxies: []\n");
  for (const char* flag : {"--check", "--config"}) {
    Exit e = run_to_exit({binary_path("faultline"), flag, off});
    EXPECT_EQ(e.status, 1) << flag << ": " << e.output;
    EXPECT_TRUE(contains(e.output, off + ":3:10: proxies: expected at least one proxy when `api` "
                                         "is off (nothing to serve)"))
        << e.output;
  }
}

TEST(ExitCodes, UsageErrorsAreTwoAndHelpIsOnlyOnDoubleDashHelp) {
  std::string good = write_temp_file("usage.yaml", "seed: 1\n");
  for (const auto& [argv, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--no-such-flag"}, "--no-such-flag"},
           {{"-h"}, "-h"},
           {{"--config", "/nonexistent/faultline.yaml"}, "File does not exist"},
           {{"--check", "/nonexistent/faultline.yaml"}, "File does not exist"},
           {{"--config", good, "--threads", "0"}, "--threads"},
           {{"--config", good, "--api", "nowhere"}, "expected HOST:PORT or off"},
           {{}, "nothing to do"},
           {{"--api", "off"}, "nothing to serve"},
           {{"ctl", "list", "--no-such-flag"}, "--no-such-flag"},
           {{"ctl"}, "A subcommand is required"},
       }) {
    std::vector<std::string> full{binary_path("faultline")};
    full.insert(full.end(), argv.begin(), argv.end());
    Exit e = run_to_exit(full);
    EXPECT_EQ(e.status, 2) << testing::PrintToString(argv) << ": " << e.output;
    EXPECT_TRUE(contains(e.output, says)) << testing::PrintToString(argv) << ": " << e.output;
    EXPECT_FALSE(contains(e.output, "Options:")) << "help printed for a usage error";
  }
  Exit help = run_to_exit({binary_path("faultline"), "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(contains(help.output, "Exit codes: 0 ok")) << help.output;
  EXPECT_TRUE(contains(help.output, "2 usage error")) << help.output;
  EXPECT_TRUE(contains(help.output, "toxiproxy-server")) << help.output;
  Exit version = run_to_exit({binary_path("faultline"), "--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_TRUE(std::regex_search(version.output, std::regex(R"(^faultline \d+\.\d+\.\d+)")))
      << version.output;
}

// Toxiproxy's own file format: the body of POST /populate.
std::string toxiproxy_json(std::uint16_t upstream) {
  std::string up = "127.0.0.1:" + std::to_string(upstream);
  return "[\n  {\"name\": \"web_dev\", \"listen\": \"127.0.0.1:0\", \"upstream\": \"" + up +
         "\", \"enabled\": true},\n  {\"name\": \"off\", \"listen\": \"127.0.0.1:0\", "
         "\"upstream\": \"" +
         up + "\", \"enabled\": false}\n]\n";
}

TEST(ToxiproxyServer, UnderThatNameTakesItsFlagsAndItsJsonConfig) {
  EchoServer echo;
  std::string file = write_temp_file("toxiproxy.json", toxiproxy_json(echo.port()));
  std::string binary = linked_as("toxiproxy-server");
  // Both of Go's spellings: -flag=value and -flag value.
  for (bool with_equals : {true, false}) {
    std::uint16_t api = unused_port();
    std::vector<std::string> argv{binary};
    for (auto [flag, value] :
         std::vector<std::pair<std::string, std::string>>{{"-host", "127.0.0.1"},
                                                          {"-port", std::to_string(api)},
                                                          {"-config", file},
                                                          {"-seed", "-42"}}) {
      if (with_equals) {
        argv.push_back(flag + "=" + value);
      } else {
        argv.push_back(flag);
        argv.push_back(value);
      }
    }
    argv.push_back("-proxy-metrics");
    argv.push_back("-runtime-metrics=false");
    Process p(argv);
    auto m = p.wait_for_line(kApiLine, 5s);
    ASSERT_TRUE(m) << p.output();
    EXPECT_EQ((*m)[1].str(), std::to_string(api));
    EXPECT_TRUE(contains(p.output(), "running 2 proxies from " + file)) << p.output();
    EXPECT_FALSE(contains(p.output(), "no seed given")) << p.output();

    Reply version = call(api, "GET", "/version");
    EXPECT_EQ(version.status, 200);
    EXPECT_TRUE(version.body.contains("version")) << version.body;
    Reply all = call(api, "GET", "/proxies");
    ASSERT_EQ(all.status, 200);
    ASSERT_EQ(all.body.size(), 2u) << all.body;
    EXPECT_EQ(all.body["off"]["enabled"], false);
    EXPECT_EQ(all.body["web_dev"]["enabled"], true);
    EXPECT_TRUE(echoes(port_of(all.body["web_dev"]["listen"].get<std::string>())));
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(5s), 0) << p.output();
  }
}

TEST(ToxiproxyServer, FaultlineTakesItsFlagsWhenOneComesFirst) {
  EchoServer echo;
  std::string file = write_temp_file("first.json", toxiproxy_json(echo.port()));
  std::uint16_t api = unused_port();
  Process p({binary_path("faultline"), "-host=127.0.0.1", "-port", std::to_string(api), "--config",
             file});  // Go's flags take two dashes as well: still the JSON file
  ASSERT_TRUE(p.wait_for_line(kApiLine, 5s)) << p.output();
  EXPECT_EQ(call(api, "GET", "/proxies").body.size(), 2u);
  // No -seed: the drawn one is logged in this command line's own words, not the YAML's.
  std::smatch seed;
  const std::string out = p.output();  // the line came before the API's
  ASSERT_TRUE(std::regex_search(
      out, seed,
      std::regex(R"(no seed given; using seed (\d+) \(to replay: start with -seed (\d+)\))")))
      << out;
  EXPECT_EQ(seed[1].str(), seed[2].str());
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 0) << p.output();
}

TEST(ToxiproxyServer, LogLevelComesFromTheEnvironment) {
  std::string binary = linked_as("toxiproxy");
  std::uint16_t api = unused_port();
  Process debug({"/usr/bin/env", "LOG_LEVEL=debug", binary, "-host=127.0.0.1",
                 "-port=" + std::to_string(api)});
  ASSERT_TRUE(debug.wait_for_line(kApiLine, 5s)) << debug.output();
  call(api, "GET", "/version");
  EXPECT_TRUE(debug.wait_for_line(std::regex(R"(GET /version -> 200)"), 5s)) << debug.output();
  debug.signal(SIGTERM);
  EXPECT_EQ(debug.wait(5s), 0);

  api = unused_port();
  Process bogus({"/usr/bin/env", "LOG_LEVEL=loud", binary, "-host=127.0.0.1",
                 "-port=" + std::to_string(api)});
  ASSERT_TRUE(bogus.wait_for_line(kApiLine, 5s)) << bogus.output();
  EXPECT_TRUE(contains(bogus.output(), "unknown LOG_LEVEL value: \"loud\" (ignored)"))
      << bogus.output();
  bogus.signal(SIGTERM);
  EXPECT_EQ(bogus.wait(5s), 0);
}

TEST(ToxiproxyServer, BadFilesAreOneWithTheirPlaceAndBadFlagsAreTwo) {
  std::string binary = linked_as("toxiproxy-server");
  std::string port = "-port=" + std::to_string(unused_port());
  struct Case {
    std::string name, content, says;
  };
  for (const Case& c : std::vector<Case>{
           {"syntax.json", "[\n  {\"name\": \"a\",,}\n]\n", ":2:16: expected valid JSON, "},
           {"object.json", "\n {\"name\": \"a\"}\n", ":2:2: expected a JSON list of proxies"},
           {"upstream.json",
            "[{\"name\": \"a\", \"upstream\": \"127.0.0.1:1\"},\n   {\"name\": \"b\"}]\n",
            ":2:4: [1]: missing required field: upstream"},
           {"name.json", "[{\"name\": \"a b\", \"upstream\": \"127.0.0.1:1\"}]",
            ":1:2: [0]: name: "},
           {"dup.json",
            "[{\"name\": \"a\", \"upstream\": \"127.0.0.1:1\"},\n {\"name\": \"a\", \"upstream\": "
            "\"127.0.0.1:1\"}]",
            ":2:2: [1]: expected a unique name, \"a\" is already used by [0]"},
       }) {
    std::string file = write_temp_file(c.name, c.content);
    Exit e = run_to_exit({binary, "-host=127.0.0.1", port, "-config", file});
    EXPECT_EQ(e.status, 1) << c.name << ": " << e.output;
    EXPECT_TRUE(contains(e.output, file + c.says)) << c.name << ": " << e.output;
    EXPECT_FALSE(contains(e.output, "control API listening")) << c.name << ": " << e.output;
  }

  for (const auto& [argv, says] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"-nope"}, "flag provided but not defined: -nope"},
           {{"-host=127.0.0.1", "--log-level", "debug"}, "not defined: -log-level"},
           {{"-port"}, "flag needs an argument: -port"},
           {{"-port=http"}, "invalid value \"http\" for flag -port"},
           {{"-port=70000"}, "invalid value \"70000\" for flag -port"},
           {{"-seed=x"}, "invalid value \"x\" for flag -seed"},
           {{"-version=maybe"}, "invalid value \"maybe\" for flag -version"},
           {{"-config", "/nonexistent/toxiproxy.json"}, "-config: no such file"},
           {{"-host=127.0.0.1", "extra"}, "unexpected argument \"extra\""},
           {{"---host=x"}, "bad flag syntax"},
       }) {
    std::vector<std::string> full{binary};
    full.insert(full.end(), argv.begin(), argv.end());
    Exit e = run_to_exit(full);
    EXPECT_EQ(e.status, 2) << testing::PrintToString(argv) << ": " << e.output;
    EXPECT_TRUE(contains(e.output, says)) << testing::PrintToString(argv) << ": " << e.output;
    EXPECT_FALSE(contains(e.output, "Usage of")) << "help printed for a usage error";
  }
  // The same through `faultline` with a Toxiproxy flag first.
  Exit first = run_to_exit({binary_path("faultline"), "-host=127.0.0.1", "-nope"});
  EXPECT_EQ(first.status, 2) << first.output;
  EXPECT_TRUE(contains(first.output, "faultline: flag provided but not defined: -nope"))
      << first.output;

  Exit help = run_to_exit({binary, "-help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(contains(help.output, "Usage of toxiproxy-server")) << help.output;
  EXPECT_TRUE(contains(help.output, "Exit codes: 0 ok")) << help.output;
  Exit version = run_to_exit({binary, "-version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_TRUE(contains(version.output, "(toxiproxy-server command line)")) << version.output;
}

}  // namespace
}  // namespace faultline::test
