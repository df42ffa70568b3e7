#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace faultline::config {
namespace {

TEST(ParseEndpoint, AcceptsHostPortForms) {
  EXPECT_EQ(parse_endpoint("127.0.0.1:8474"), (Endpoint{"127.0.0.1", 8474}));
  EXPECT_EQ(parse_endpoint("echo-server:7001"), (Endpoint{"echo-server", 7001}));
  EXPECT_EQ(parse_endpoint("[::1]:7000"), (Endpoint{"::1", 7000}));
  EXPECT_EQ(parse_endpoint("[::]:0"), (Endpoint{"::", 0}));
  EXPECT_EQ(parse_endpoint(":7000"), (Endpoint{"0.0.0.0", 7000}));
  EXPECT_EQ(parse_endpoint("localhost:0"), (Endpoint{"localhost", 0}));
  EXPECT_EQ(parse_endpoint("h:65535"), (Endpoint{"h", 65535}));
}

TEST(ParseEndpoint, RefusesMalformed) {
  for (const char* bad :
       {"",         "localhost", "host:",    "host:abc",    "host:70000", "host:65536", "host:-1",
        "host:+80", "host: 80",  "host:80 ", "host:000080", "::1:80",     "[::1]",      "[::1]80",
        "[]:80",    "[::1:80",   "ho st:80", "a/b:80",      ":",          "[::1]:"}) {
    EXPECT_FALSE(parse_endpoint(bad)) << '"' << bad << '"';
  }
}

TEST(Endpoint, ToStringBracketsIpv6) {
  EXPECT_EQ((Endpoint{"127.0.0.1", 80}).to_string(), "127.0.0.1:80");
  EXPECT_EQ((Endpoint{"::1", 7000}).to_string(), "[::1]:7000");
  for (const char* text : {"10.0.0.1:1", "[fe80::1]:443", "name:0"}) {
    EXPECT_EQ(parse_endpoint(text)->to_string(), text);
  }
}

TEST(Stream, ToString) {
  EXPECT_EQ(to_string(Stream::upstream), "upstream");
  EXPECT_EQ(to_string(Stream::downstream), "downstream");
  EXPECT_EQ(to_string(Stream::both), "both");
}

TEST(ConnectionMatch, AllMatchesEverything) {
  ConnectionMatch m;
  EXPECT_TRUE(m.matches(1));
  EXPECT_TRUE(m.matches(1000));
  EXPECT_EQ(m.to_string(), "all");
}

TEST(ConnectionMatch, FirstEveryNth) {
  ConnectionMatch first{ConnectionMatch::Kind::first, 3};
  EXPECT_TRUE(first.matches(1));
  EXPECT_TRUE(first.matches(3));
  EXPECT_FALSE(first.matches(4));
  EXPECT_EQ(first.to_string(), "first: 3");

  ConnectionMatch every{ConnectionMatch::Kind::every, 2};
  EXPECT_FALSE(every.matches(1));
  EXPECT_TRUE(every.matches(2));
  EXPECT_FALSE(every.matches(3));
  EXPECT_TRUE(every.matches(4));
  EXPECT_EQ(every.to_string(), "every: 2");

  ConnectionMatch nth{ConnectionMatch::Kind::nth, 5};
  EXPECT_FALSE(nth.matches(4));
  EXPECT_TRUE(nth.matches(5));
  EXPECT_FALSE(nth.matches(10));
  EXPECT_EQ(nth.to_string(), "nth: 5");

  ConnectionMatch every_zero{ConnectionMatch::Kind::every, 0};  // never built by the loader
  EXPECT_FALSE(every_zero.matches(3));
}

TEST(ConfigError, FormatsPositionFieldAndExpectation) {
  ConfigError e(SourcePos{"demo.yaml", 7, 15}, "proxies[0].faults[1].latency",
                "expected a duration with a unit, e.g. 250us, 100ms, 2s, got \"100\"");
  EXPECT_STREQ(e.what(),
               "demo.yaml:7:15: proxies[0].faults[1].latency: expected a duration with a unit, "
               "e.g. 250us, 100ms, 2s, got \"100\"");
  EXPECT_EQ(e.pos().line, 7);
  EXPECT_EQ(e.field(), "proxies[0].faults[1].latency");

  ConfigError no_line(SourcePos{"api", 0, 0}, "name", "expected a name");
  EXPECT_STREQ(no_line.what(), "api: name: expected a name");
  ConfigError no_field(SourcePos{"f.yaml", 1, 1}, "", "expected valid YAML");
  EXPECT_STREQ(no_field.what(), "f.yaml:1:1: expected valid YAML");
  EXPECT_EQ((SourcePos{"f.yaml", 3, 4}).to_string(), "f.yaml:3:4");
  EXPECT_EQ((SourcePos{"f.yaml", 0, 0}).to_string(), "f.yaml");
}

// One rule for the names of proxies and faults, in YAML and over the API alike.
TEST(ValidName, LettersDigitsAndUnderscoreDotDashUpTo200) {
  EXPECT_TRUE(valid_name("db"));
  EXPECT_TRUE(valid_name("latency_downstream.v2-b"));
  EXPECT_TRUE(valid_name(std::string(kNameMaxLength, 'a')));
  EXPECT_FALSE(valid_name(std::string(kNameMaxLength + 1, 'a')));
  EXPECT_FALSE(valid_name(""));
  for (const char* bad : {"a b", "a/b", "a:b", "\xc3\xa9", "a\tb"})
    EXPECT_FALSE(valid_name(bad)) << bad;
}

TEST(ValidName, TheLoaderRefusesANameOver200) {
  std::string yaml = "proxies:\n  - name: " + std::string(kNameMaxLength + 1, 'p') +
                     "\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n";
  EXPECT_THROW(load_config_string(yaml, "test.yaml"), ConfigError);
  yaml.replace(yaml.find("name: ") + 6, kNameMaxLength + 1, std::string(kNameMaxLength, 'p'));
  EXPECT_NO_THROW(load_config_string(yaml, "test.yaml"));
}

TEST(ParseStream, TheThreeWordsExactly) {
  EXPECT_EQ(parse_stream("upstream"), Stream::upstream);
  EXPECT_EQ(parse_stream("downstream"), Stream::downstream);
  EXPECT_EQ(parse_stream("both"), Stream::both);
  for (auto s : {Stream::upstream, Stream::downstream, Stream::both})
    EXPECT_EQ(parse_stream(to_string(s)), s);
  EXPECT_EQ(parse_stream("Upstream"), std::nullopt);  // the API lower-cases first
  EXPECT_EQ(parse_stream(""), std::nullopt);
}

}  // namespace
}  // namespace faultline::config
