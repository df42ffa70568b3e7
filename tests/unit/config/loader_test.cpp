#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "tests/support/paths.hpp"

namespace faultline::config {
namespace {

using namespace std::chrono_literals;

// The error `yaml` is refused with; fails the test when it loads.
ConfigError error_of(std::string_view yaml) {
  try {
    load_config_string(yaml, "test.yaml");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "loaded without error:\n" << yaml;
  return ConfigError(SourcePos{}, "", "");
}

// Asserts the position and field of the error, and shows the whole message on failure.
#define EXPECT_CONFIG_ERROR(yaml, where, field_path)             \
  do {                                                           \
    ConfigError error_ = error_of(yaml);                         \
    EXPECT_EQ(error_.pos().to_string(), where) << error_.what(); \
    EXPECT_EQ(error_.field(), field_path) << error_.what();      \
  } while (0)

constexpr const char* kMinimal = R"(proxies:
  - name: echo
    listen: 127.0.0.1:7000
    upstream: 127.0.0.1:7001
)";

// --- good inputs -------------------------------------------------------------------------

TEST(LoadConfig, MinimalFileGetsDefaults) {
  Config c = load_config_string(kMinimal, "test.yaml");
  EXPECT_EQ(c.source, "test.yaml");
  EXPECT_FALSE(c.seed_given);
  EXPECT_TRUE(c.api.enabled);
  EXPECT_EQ(c.api.listen, (Endpoint{"127.0.0.1", 8474}));
  EXPECT_EQ(c.api.token, "");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, LogFormat::text);
  ASSERT_EQ(c.proxies.size(), 1u);
  const ProxyConfig& p = c.proxies[0];
  EXPECT_EQ(p.name, "echo");
  EXPECT_EQ(p.listen, (Endpoint{"127.0.0.1", 7000}));
  EXPECT_EQ(p.upstream, (Endpoint{"127.0.0.1", 7001}));
  EXPECT_TRUE(p.enabled);
  EXPECT_EQ(p.connect_timeout, 5s);
  EXPECT_EQ(p.on_upstream_failure, UpstreamFailure::reset);
  EXPECT_TRUE(p.faults.empty());
  EXPECT_EQ(p.pos.to_string(), "test.yaml:2:5");
}

TEST(LoadConfig, FullExampleFromFile) {
  Config c = load_config_file(test::source_dir() + "/tests/fixtures/config/full.yaml");
  EXPECT_EQ(c.seed, 42u);
  EXPECT_TRUE(c.seed_given);
  EXPECT_EQ(c.api.listen, (Endpoint{"127.0.0.1", 8474}));
  ASSERT_EQ(c.proxies.size(), 2u);

  const ProxyConfig& echo = c.proxies[0];
  EXPECT_EQ(echo.listen, (Endpoint{"0.0.0.0", 7000}));
  EXPECT_EQ(echo.upstream, (Endpoint{"echo-server", 7001}));
  EXPECT_EQ(echo.connect_timeout, 2s);
  ASSERT_EQ(echo.faults.size(), 3u);

  const FaultSpec& latency = echo.faults[0];
  EXPECT_EQ(latency.type, "latency");
  EXPECT_EQ(latency.name, "latency_downstream");
  EXPECT_EQ(latency.stream, Stream::downstream);
  EXPECT_EQ(latency.field, "proxies[0].faults[0]");
  EXPECT_EQ(latency.pos.line, 11);
  EXPECT_EQ(latency.pos.column, 9);
  ASSERT_EQ(latency.attributes.size(), 2u);
  EXPECT_EQ(latency.attributes.at("latency").text, "100ms");
  EXPECT_EQ(latency.attributes.at("latency").pos.to_string(),
            SourcePos(c.source, 11, 55).to_string());
  EXPECT_EQ(latency.attributes.at("jitter").text, "10ms");

  EXPECT_EQ(echo.faults[1].attributes.at("average_size").text, "1");
  const FaultSpec& reset = echo.faults[2];
  EXPECT_EQ(reset.name, "reset_peer_downstream");
  EXPECT_EQ(reset.after, 2s);
  EXPECT_DOUBLE_EQ(reset.toxicity, 0.2);
  EXPECT_TRUE(reset.attributes.empty());

  const ProxyConfig& db = c.proxies[1];
  EXPECT_EQ(db.name, "db.primary-1");
  EXPECT_EQ(db.listen, (Endpoint{"::1", 0}));
  EXPECT_FALSE(db.enabled);
  EXPECT_EQ(db.on_upstream_failure, UpstreamFailure::close);
  ASSERT_EQ(db.faults.size(), 1u);
  const FaultSpec& bw = db.faults[0];
  EXPECT_EQ(bw.name, "slow_link");
  EXPECT_EQ(bw.stream, Stream::both);
  EXPECT_DOUBLE_EQ(bw.toxicity, 0.5);
  EXPECT_EQ(bw.duration, 30s);
  EXPECT_EQ(bw.connections, (ConnectionMatch{ConnectionMatch::Kind::every, 3}));
  EXPECT_EQ(bw.attributes.at("rate").text, "1MB/s");
  EXPECT_EQ(bw.attributes.at("rate").pos.line, 23);
}

TEST(LoadConfig, ApiOffAndOtherSettings) {
  Config c = load_config_string(
      std::string("api: off\nlog: {level: off, format: json}\nseed: 0\n") + kMinimal, "test.yaml");
  EXPECT_FALSE(c.api.enabled);
  EXPECT_EQ(c.log.level, "off");
  EXPECT_EQ(c.log.format, LogFormat::json);
  EXPECT_TRUE(c.seed_given);
  EXPECT_EQ(c.seed, 0u);

  c = load_config_string(std::string("api: false\n") + kMinimal, "test.yaml");
  EXPECT_FALSE(c.api.enabled);
  c = load_config_string(std::string("api: {listen: \":9000\", token: s3cret}\n") + kMinimal,
                         "test.yaml");
  EXPECT_TRUE(c.api.enabled);
  EXPECT_EQ(c.api.listen, (Endpoint{"0.0.0.0", 9000}));
  EXPECT_EQ(c.api.token, "s3cret");
}

TEST(LoadConfig, FaultDefaults) {
  Config c = load_config_string(std::string(kMinimal) + R"(    faults:
      - type: latency
      - {type: reset_peer, stream: upstream, connections: all}
      - {type: drop, stream: both, connections: {first: 2}}
)",
                                "test.yaml");
  const auto& faults = c.proxies[0].faults;
  ASSERT_EQ(faults.size(), 3u);
  EXPECT_EQ(faults[0].name, "latency_downstream");
  EXPECT_EQ(faults[0].stream, Stream::downstream);
  EXPECT_DOUBLE_EQ(faults[0].toxicity, 1.0);
  EXPECT_EQ(faults[0].after, Duration{0});
  EXPECT_FALSE(faults[0].duration);
  EXPECT_EQ(faults[0].connections, ConnectionMatch{});
  EXPECT_TRUE(faults[0].attributes.empty());
  EXPECT_EQ(faults[1].name, "reset_peer_upstream");
  EXPECT_EQ(faults[1].stream, Stream::upstream);
  EXPECT_EQ(faults[2].name, "drop_both");
  EXPECT_EQ(faults[2].connections, (ConnectionMatch{ConnectionMatch::Kind::first, 2}));
}

TEST(LoadConfig, ProxyPortZeroNeverClashes) {
  Config c = load_config_string(R"(proxies:
  - {name: a, listen: "127.0.0.1:0", upstream: "h:1", faults: []}
  - {name: b, listen: "0.0.0.0:0", upstream: "h:1", faults: }
  - {name: c, listen: "127.0.0.1:7000", upstream: "h:1"}
  - {name: d, listen: "127.0.0.2:7000", upstream: "h:1"}
)",
                                "test.yaml");
  EXPECT_EQ(c.proxies.size(), 4u);
}

TEST(LoadConfig, BlockScalarsAndQuotesDoNotCountAsNesting) {
  std::string yaml = "api: {token: \"" + std::string(200, '[') + "\"}\n";
  yaml += "log: {level: info}\n# " + std::string(200, '{') + "\n";
  yaml += kMinimal;
  yaml += "    faults:\n      - type: x\n        text: |\n";
  for (int i = 0; i < 100; ++i)
    yaml += "          " + std::string(i, ' ') + "[[[ - - {\n";
  Config c = load_config_string(yaml, "test.yaml");
  EXPECT_EQ(c.api.token, std::string(200, '['));
}

TEST(LoadConfigFile, ReadsATemporaryFile) {
  auto path = std::filesystem::temp_directory_path() /
              ("faultline_config_test_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "seed: 7\n" << kMinimal << "    connect_timeout: fast\n";
  }
  try {
    load_config_file(path.string());
    ADD_FAILURE() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.pos().to_string(), path.string() + ":6:22") << e.what();
    EXPECT_EQ(e.field(), "proxies[0].connect_timeout");
  }
  {
    std::ofstream out(path);
    out << "seed: 7\n" << kMinimal;
  }
  Config c = load_config_file(path.string());
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.source, path.string());
  std::filesystem::remove(path);
}

TEST(LoadConfigFile, MissingFile) {
  try {
    load_config_file("/nonexistent/faultline.yaml");
    ADD_FAILURE() << "loaded";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.pos().to_string(), "/nonexistent/faultline.yaml");
    EXPECT_EQ(e.field(), "file");
    EXPECT_STREQ(e.what(),
                 "/nonexistent/faultline.yaml: file: expected a readable file: No such file or "
                 "directory");
  }
}

// --- bad inputs: each names the exact place --------------------------------------------

TEST(LoadConfigErrors, BadYamlSyntax) {
  EXPECT_CONFIG_ERROR("proxies: [\n  {name: a\n", "test.yaml:3:1", "");
  EXPECT_CONFIG_ERROR("seed: 1\nproxies: a: b\n", "test.yaml:2:11", "");
}

TEST(LoadConfigErrors, EmptyFileAndWrongTopLevel) {
  EXPECT_CONFIG_ERROR("", "test.yaml:1:1", "");
  EXPECT_CONFIG_ERROR("# just a comment\n\n", "test.yaml:1:1", "");
  EXPECT_CONFIG_ERROR("- a\n- b\n", "test.yaml:1:1", "");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "---\nseed: 1\n", "test.yaml:5:1", "");
  // yaml-cpp 0.7's LoadAll loops for ever on this one.
  EXPECT_CONFIG_ERROR(",", "test.yaml:1:1", "");
  ConfigError e = error_of("");
  EXPECT_STREQ(e.what(), "test.yaml:1:1: expected a mapping with a `proxies` list, got nothing");
}

TEST(LoadConfigErrors, ProxiesNotAList) {
  EXPECT_CONFIG_ERROR("proxies:\n  name: echo\n", "test.yaml:2:3", "proxies");
  EXPECT_CONFIG_ERROR("proxies: echo\n", "test.yaml:1:10", "proxies");
  EXPECT_CONFIG_ERROR("proxies:\n  - echo\n", "test.yaml:2:5", "proxies[0]");
}

// An empty server (proxies to come through the API) is a normal start; a file that turns the
// API off and lists no proxy has nothing to serve.
TEST(LoadConfig, NoProxiesWithTheApiOnIsAnEmptyServer) {
  for (std::string_view yaml : {"proxies: []\n", "proxies:\n", "seed: 1\n",
                                "api: {listen: 0.0.0.0:8474}\nproxies: []\n", "api: on\n"}) {
    Config cfg = load_config_string(yaml, "test.yaml");
    EXPECT_TRUE(cfg.proxies.empty()) << yaml;
    EXPECT_TRUE(cfg.api.enabled) << yaml;
  }
}

TEST(LoadConfigErrors, NoProxiesWithTheApiOffHasNothingToServe) {
  EXPECT_CONFIG_ERROR("api: off\nproxies: []\n", "test.yaml:2:10", "proxies");
  EXPECT_CONFIG_ERROR("api: off\nproxies:\n", "test.yaml:2:1", "proxies");
  EXPECT_CONFIG_ERROR("seed: 1\napi: off\n", "test.yaml:2:6", "proxies");
  EXPECT_STREQ(error_of("api: off\n").what(),
               "test.yaml:1:6: proxies: expected at least one proxy when `api` is off (nothing "
               "to serve) (missing)");
}

TEST(LoadConfigErrors, UnknownKeys) {
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "seeed: 1\n", "test.yaml:5:1", "seeed");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    upsteam: h:1\n", "test.yaml:5:5",
                      "proxies[0].upsteam");
  EXPECT_CONFIG_ERROR(std::string("api: {listen: \":1\", tokn: x}\n") + kMinimal, "test.yaml:1:21",
                      "api.tokn");
  EXPECT_CONFIG_ERROR(std::string("log: {lvl: info}\n") + kMinimal, "test.yaml:1:7", "log.lvl");
  ConfigError e = error_of(std::string(kMinimal) + "    upsteam: h:1\n");
  EXPECT_STREQ(e.what(),
               "test.yaml:5:5: proxies[0].upsteam: unknown key, expected one of name, listen, "
               "upstream, enabled, connect_timeout, on_upstream_failure, faults");
}

TEST(LoadConfigErrors, UserTextInMessagesIsBoundedAndEscaped) {
  ConfigError e = error_of("\"" + std::string(100, 'k') + "\\n\": 1\n" + kMinimal);
  EXPECT_EQ(e.field(), std::string(60, 'k') + "...");
  e = error_of(std::string(kMinimal) + "    connect_timeout: \"a\\\"b\\tc\"\n");
  EXPECT_STREQ(e.what(),
               "test.yaml:5:22: proxies[0].connect_timeout: expected a duration above zero with a "
               "unit, e.g. 250us, 100ms, 2s, got \"a\\\"b\\tc\"");
}

TEST(LoadConfigErrors, DuplicateKeys) {
  EXPECT_CONFIG_ERROR(std::string("seed: 1\nseed: 2\n") + kMinimal, "test.yaml:2:1", "seed");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    listen: 127.0.0.1:7002\n", "test.yaml:5:5",
                      "proxies[0].listen");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) +
                          "    faults:\n      - {type: latency, latency: 1ms, "
                          "latency: 2ms}\n",
                      "test.yaml:6:39", "proxies[0].faults[0].latency");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: a, type: b}\n",
                      "test.yaml:6:19", "proxies[0].faults[0].type");
}

TEST(LoadConfigErrors, MissingRequiredKeys) {
  EXPECT_CONFIG_ERROR("proxies:\n  - name: echo\n    listen: :7000\n", "test.yaml:2:5",
                      "proxies[0].upstream");
  EXPECT_CONFIG_ERROR("proxies:\n  - name: echo\n    upstream: h:1\n", "test.yaml:2:5",
                      "proxies[0].listen");
  EXPECT_CONFIG_ERROR("proxies:\n  - listen: :1\n    upstream: h:1\n", "test.yaml:2:5",
                      "proxies[0].name");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {stream: both}\n",
                      "test.yaml:6:9", "proxies[0].faults[0].type");
  ConfigError e = error_of("proxies:\n  - name: echo\n    listen: :7000\n");
  EXPECT_STREQ(e.what(), "test.yaml:2:5: proxies[0].upstream: expected a HOST:PORT (missing)");
}

TEST(LoadConfigErrors, BadDurations) {
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    connect_timeout: 100\n", "test.yaml:5:22",
                      "proxies[0].connect_timeout");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    connect_timeout: fast\n", "test.yaml:5:22",
                      "proxies[0].connect_timeout");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    connect_timeout: 0s\n", "test.yaml:5:22",
                      "proxies[0].connect_timeout");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    connect_timeout: -5ms\n", "test.yaml:5:22",
                      "proxies[0].connect_timeout");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, after: -1s}\n",
                      "test.yaml:6:26", "proxies[0].faults[0].after");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, duration: 0}\n",
                      "test.yaml:6:29", "proxies[0].faults[0].duration");
  ConfigError e = error_of(std::string(kMinimal) + "    connect_timeout: 100\n");
  EXPECT_STREQ(e.what(),
               "test.yaml:5:22: proxies[0].connect_timeout: expected a duration above zero with a "
               "unit, e.g. 250us, 100ms, 2s, got \"100\"");
}

TEST(LoadConfigErrors, DuplicateProxyName) {
  ConfigError e = error_of(R"(proxies:
  - {name: echo, listen: ":7000", upstream: "h:1"}
  - {name: echo, listen: ":7002", upstream: "h:1"}
)");
  EXPECT_EQ(e.pos().to_string(), "test.yaml:3:12");
  EXPECT_EQ(e.field(), "proxies[1].name");
  EXPECT_STREQ(e.what(),
               "test.yaml:3:12: proxies[1].name: expected a unique name, \"echo\" is already used "
               "by proxies[0]");
}

TEST(LoadConfigErrors, SameListenTwice) {
  EXPECT_CONFIG_ERROR(R"(proxies:
  - {name: a, listen: "127.0.0.1:7000", upstream: "h:1"}
  - {name: b, listen: "127.0.0.1:7000", upstream: "h:1"}
)",
                      "test.yaml:3:23", "proxies[1].listen");
  // A wildcard listener takes the port on every address.
  EXPECT_CONFIG_ERROR(R"(proxies:
  - {name: a, listen: "127.0.0.1:7000", upstream: "h:1"}
  - {name: b, listen: ":7000", upstream: "h:1"}
)",
                      "test.yaml:3:23", "proxies[1].listen");
}

TEST(LoadConfigErrors, BadAddresses) {
  EXPECT_CONFIG_ERROR("proxies:\n  - {name: a, listen: localhost, upstream: \"h:1\"}\n",
                      "test.yaml:2:23", "proxies[0].listen");
  EXPECT_CONFIG_ERROR("proxies:\n  - {name: a, listen: \"h:1\", upstream: \"host:abc\"}\n",
                      "test.yaml:2:40", "proxies[0].upstream");
  EXPECT_CONFIG_ERROR("proxies:\n  - {name: a, listen: \"h:70000\", upstream: \"h:1\"}\n",
                      "test.yaml:2:23", "proxies[0].listen");
  EXPECT_CONFIG_ERROR("proxies:\n  - {name: a, listen: \"h:1\", upstream: \"h:0\"}\n",
                      "test.yaml:2:40", "proxies[0].upstream");
  EXPECT_CONFIG_ERROR(std::string("api: {listen: nowhere}\n") + kMinimal, "test.yaml:1:15",
                      "api.listen");
}

TEST(LoadConfigErrors, BadProxySettings) {
  EXPECT_CONFIG_ERROR("proxies:\n  - {name: \"a b\", listen: \":1\", upstream: \"h:1\"}\n",
                      "test.yaml:2:12", "proxies[0].name");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    enabled: maybe\n", "test.yaml:5:14",
                      "proxies[0].enabled");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    on_upstream_failure: explode\n",
                      "test.yaml:5:26", "proxies[0].on_upstream_failure");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults: latency\n", "test.yaml:5:13",
                      "proxies[0].faults");
  EXPECT_CONFIG_ERROR(std::string("seed: -1\n") + kMinimal, "test.yaml:1:7", "seed");
  EXPECT_CONFIG_ERROR(std::string("log: {level: verbose}\n") + kMinimal, "test.yaml:1:14",
                      "log.level");
  EXPECT_CONFIG_ERROR(std::string("api: maybe\n") + kMinimal, "test.yaml:1:6", "api");
}

TEST(LoadConfigErrors, BadToxicity) {
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, toxicity: 1.5}\n",
                      "test.yaml:6:29", "proxies[0].faults[0].toxicity");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, toxicity: .nan}\n",
                      "test.yaml:6:29", "proxies[0].faults[0].toxicity");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, probability: nan}\n",
                      "test.yaml:6:32", "proxies[0].faults[0].probability");
  EXPECT_CONFIG_ERROR(
      std::string(kMinimal) + "    faults:\n      - {type: x, toxicity: 0.5, probability: 0.5}\n",
      "test.yaml:6:34", "proxies[0].faults[0].probability");
}

TEST(LoadConfigErrors, BadConnections) {
  std::string base = std::string(kMinimal) + "    faults:\n      - {type: x, connections: ";
  EXPECT_CONFIG_ERROR(base + "{first: 0}}\n", "test.yaml:6:40",
                      "proxies[0].faults[0].connections.first");
  EXPECT_CONFIG_ERROR(base + "{every: -2}}\n", "test.yaml:6:40",
                      "proxies[0].faults[0].connections.every");
  EXPECT_CONFIG_ERROR(base + "{first: 1, nth: 2}}\n", "test.yaml:6:32",
                      "proxies[0].faults[0].connections");
  EXPECT_CONFIG_ERROR(base + "{second: 1}}\n", "test.yaml:6:33",
                      "proxies[0].faults[0].connections.second");
  EXPECT_CONFIG_ERROR(base + "some}\n", "test.yaml:6:32", "proxies[0].faults[0].connections");
}

TEST(LoadConfigErrors, BadFaultShape) {
  EXPECT_CONFIG_ERROR(
      std::string(kMinimal) + "    faults:\n      - {type: latency, latency: {ms: 100}}\n",
      "test.yaml:6:34", "proxies[0].faults[0].latency");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - latency\n", "test.yaml:6:9",
                      "proxies[0].faults[0]");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: x, stream: sideways}\n",
                      "test.yaml:6:27", "proxies[0].faults[0].stream");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) + "    faults:\n      - {type: \"\"}\n",
                      "test.yaml:6:16", "proxies[0].faults[0].type");
}

TEST(LoadConfigErrors, DuplicateFaultNames) {
  EXPECT_CONFIG_ERROR(
      std::string(kMinimal) + "    faults:\n      - {type: latency}\n      - {type: latency}\n",
      "test.yaml:7:9", "proxies[0].faults[1].name");
  EXPECT_CONFIG_ERROR(std::string(kMinimal) +
                          "    faults:\n      - {type: a, name: n}\n      - {type: b, name: n}\n",
                      "test.yaml:7:25", "proxies[0].faults[1].name");
}

TEST(LoadConfigErrors, DeepNestingIsRefusedNotACrash) {
  EXPECT_CONFIG_ERROR(std::string(100000, '['), "test.yaml:1:64", "");
  EXPECT_CONFIG_ERROR("proxies: " + std::string(100000, '{'), "test.yaml:1:73", "");
  std::string dashes;
  for (int i = 0; i < 100000; ++i)
    dashes += "- ";
  EXPECT_CONFIG_ERROR(dashes + "x\n", "test.yaml:1:127", "");
  std::string indented;
  for (int i = 0; i < 1000; ++i)
    indented += std::string(i, ' ') + "k:\n";
  EXPECT_CONFIG_ERROR(indented, "test.yaml:65:65", "");
}

TEST(LoadConfigErrors, HugeInputIsRefused) {
  std::string huge(std::size_t{16} << 20, '#');
  huge += "\n";
  EXPECT_CONFIG_ERROR(huge, "test.yaml", "file");
}

}  // namespace
}  // namespace faultline::config
