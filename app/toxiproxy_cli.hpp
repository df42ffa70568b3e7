// toxiproxy-server's command line, so that Faultline replaces it without changing a compose
// file or a test's container command: Go's flag syntax (-flag value, -flag=value, --flag),
// toxiproxy-server's flags and defaults, and its -config file (a JSON list of proxies, the
// body of POST /populate).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "faults/registry.hpp"

namespace faultline::app {

// A command line that cannot be run as written (exit 2).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ToxiproxyArgs {
  std::string host = "localhost";  // the API's host
  std::uint16_t port = 8474;       // the API's port
  std::string config_path;         // a JSON list of proxies to create at start
  std::optional<std::uint64_t> seed;
  bool version = false;
  bool help = false;
  bool proxy_metrics = false;    // accepted: /metrics always serves the per-proxy counters
  bool runtime_metrics = false;  // accepted: Go runtime metrics have no equivalent here
};

// Whether the program was started as toxiproxy-server (or toxiproxy): argv[0]'s basename.
bool is_toxiproxy_name(std::string_view argv0);
// Whether `arg` is one of toxiproxy-server's flags written with one dash, as a first argument
// to `faultline` selects that command line ("-host", "-port=8474", "-config").
bool is_toxiproxy_flag(std::string_view arg);

// Parses as Go's flag package does: -flag value, -flag=value, one or two dashes; a bool flag
// takes no separate value (-flag, -flag=false). Throws UsageError for an unknown flag, a
// missing or bad value, or an argument that is not a flag.
ToxiproxyArgs parse_toxiproxy_args(const std::vector<std::string>& args);
// The flags, their defaults and the exit codes, for -help.
std::string toxiproxy_usage(std::string_view program);

// Toxiproxy's LOG_LEVEL (zerolog's names: trace ... panic, disabled) as a Faultline log level;
// nullopt when unknown.
std::optional<std::string> log_level_from_toxiproxy(std::string_view value);

// Reads a -config file: a JSON list of proxies, each entry checked as POST /populate checks
// it (name, listen, upstream, enabled, and Faultline's `toxics`). Throws config::ConfigError
// naming the file and the place (FILE:LINE:COL, and the entry as [i]).
std::vector<config::ProxyConfig> load_toxiproxy_json(const std::string& path,
                                                     const faults::FaultRegistry& registry);
// The same for text already read; `source` names it in errors.
std::vector<config::ProxyConfig> parse_toxiproxy_json(std::string_view text,
                                                      const std::string& source,
                                                      const faults::FaultRegistry& registry);

}  // namespace faultline::app
