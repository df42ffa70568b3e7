// The typed configuration: what a YAML file (or the HTTP API) says the proxies and faults are.
// Fault specs are carried here uninterpreted (type, stream, conditions, raw attributes with
// their positions); faults/ gives them meaning.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "config/units.hpp"

namespace faultline::config {

struct Endpoint {
  std::string host;  // an IP literal or a name resolved at dial/bind time; IPv6 without brackets
  std::uint16_t port = 0;

  std::string to_string() const;  // "host:port", "[::1]:port"
  bool operator==(const Endpoint&) const = default;
};

// "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 lets the kernel choose.
std::optional<Endpoint> parse_endpoint(std::string_view text);

// Which direction of a connection a fault acts on. upstream: client -> server bytes.
enum class Stream { upstream, downstream, both };
std::string_view to_string(Stream s);
// "upstream", "downstream" or "both", exactly (the YAML file and the API alike).
std::optional<Stream> parse_stream(std::string_view text);

// The one rule for the names of proxies and faults, in a YAML file and over the API alike: 1 to
// kNameMaxLength letters, digits, '_', '.' or '-' (safe in a URL path, a log line, a metric
// label).
inline constexpr std::size_t kNameMaxLength = 200;
inline constexpr std::string_view kNameExpected =
    "a name of 1 to 200 letters, digits, '_', '.' or '-'";
bool valid_name(std::string_view name);

// Which connections of a proxy a fault applies to, by 1-based accept order.
struct ConnectionMatch {
  enum class Kind { all, first, every, nth };
  Kind kind = Kind::all;
  std::uint64_t n = 0;

  bool matches(std::uint64_t connection_index) const;
  std::string to_string() const;  // "all", "first: 3", ...
  bool operator==(const ConnectionMatch&) const = default;
};

// One attribute as written, e.g. latency: 100ms -> {"100ms", pos}.
struct AttrValue {
  std::string text;
  SourcePos pos;
};

struct FaultSpec {
  std::string type;  // as written; aliases are resolved by the fault registry
  std::string name;  // defaults to "<type>_<stream>"
  Stream stream = Stream::downstream;
  double toxicity = 1.0;             // probability 0..1, drawn once per connection+direction
  Duration after{0};                 // starts this long after the connection opened
  std::optional<Duration> duration;  // and stays on this long (unset: for ever)
  ConnectionMatch connections;
  std::map<std::string, AttrValue> attributes;  // everything else, for the fault to parse
  SourcePos pos;                                // of the fault's mapping
  std::string field;                            // "proxies[0].faults[1]", for error messages
};

enum class UpstreamFailure { reset, close };

struct ProxyConfig {
  std::string name;
  Endpoint listen;
  Endpoint upstream;
  bool enabled = true;
  Duration connect_timeout = std::chrono::seconds(5);
  UpstreamFailure on_upstream_failure = UpstreamFailure::reset;
  std::vector<FaultSpec> faults;
  SourcePos pos;
};

struct ApiConfig {
  bool enabled = true;
  Endpoint listen{"127.0.0.1", 8474};
  std::string token;  // when set, requests must carry it
};

enum class LogFormat { text, json };

// The log levels, least severe first: what the YAML file, --log-level and the loggers accept.
inline constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                               "error", "critical", "off"};

struct LogConfig {
  std::string level = "info";  // one of kLogLevels
  LogFormat format = LogFormat::text;
};

struct Config {
  std::uint64_t seed = 0;
  bool seed_given = false;  // without a seed, one is drawn at start and logged
  ApiConfig api;
  LogConfig log;
  std::vector<ProxyConfig> proxies;
  std::string source;  // the file it came from
};

// Load and validate a whole file; throws ConfigError on the first problem. Nothing is
// partially applied: the caller only sees a Config that is valid as a whole.
Config load_config_file(const std::string& path);
Config load_config_string(std::string_view yaml, const std::string& source_name);

}  // namespace faultline::config
