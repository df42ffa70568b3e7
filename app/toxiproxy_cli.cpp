#include "app/toxiproxy_cli.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/errors.hpp"
#include "api/toxic_json.hpp"

namespace faultline::app {
namespace {

enum class FlagKind { string, port, seed, boolean };

struct Flag {
  std::string_view name;
  FlagKind kind;
};

// toxiproxy-server's flags (cmd/server/server.go), all of them.
constexpr Flag kFlags[] = {
    {"host", FlagKind::string},
    {"port", FlagKind::port},
    {"config", FlagKind::string},
    {"seed", FlagKind::seed},
    {"version", FlagKind::boolean},
    {"proxy-metrics", FlagKind::boolean},
    {"runtime-metrics", FlagKind::boolean},
};

const Flag* find_flag(std::string_view name) {
  for (const Flag& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

[[noreturn]] void bad_value(std::string_view value, std::string_view flag, std::string_view why) {
  throw UsageError(fmt::format("invalid value \"{}\" for flag -{}: {}", value, flag, why));
}

void set_flag(ToxiproxyArgs& out, const Flag& flag, const std::string& value) {
  if (flag.name == "host") {
    out.host = value;
  } else if (flag.name == "config") {
    out.config_path = value;
  } else if (flag.name == "port") {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() || port > 65535) {
      bad_value(value, flag.name, "expected a port number 0..65535");
    }
    out.port = static_cast<std::uint16_t>(port);
  } else if (flag.name == "seed") {
    // Go's int64; Faultline's seed is the same 64 bits read as unsigned.
    std::int64_t seed = 0;
    const char* begin = value.data();
    if (!value.empty() && value[0] == '+') ++begin;
    auto [ptr, ec] = std::from_chars(begin, value.data() + value.size(), seed);
    if (begin == value.data() + value.size() || ec != std::errc() ||
        ptr != value.data() + value.size()) {
      bad_value(value, flag.name, "expected a whole number (64-bit)");
    }
    out.seed = static_cast<std::uint64_t>(seed);
  } else {
    auto on = parse_go_bool(value);
    if (!on) bad_value(value, flag.name, "expected true or false");
    if (flag.name == "version") out.version = *on;
    if (flag.name == "proxy-metrics") out.proxy_metrics = *on;
    if (flag.name == "runtime-metrics") out.runtime_metrics = *on;
  }
}

// 1-based line and column of a byte offset.
config::SourcePos place_of(std::string_view text, std::size_t offset, const std::string& source) {
  config::SourcePos pos{source, 1, 1};
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

// Where each element of the top-level JSON array starts (the text is valid JSON with an array
// at the top): nlohmann keeps no positions, and an error should point at its entry.
std::vector<std::size_t> element_offsets(std::string_view text) {
  std::vector<std::size_t> out;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool expecting = false;  // at depth 1, before an element
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (depth == 1 && expecting && c != ']') {
      out.push_back(i);
      expecting = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth == 1) expecting = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expecting = true;
    }
  }
  return out;
}

std::string kind_of(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    default:
      return "a number";
  }
}

}  // namespace

bool is_toxiproxy_name(std::string_view argv0) {
  auto slash = argv0.rfind('/');
  std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  return base == "toxiproxy-server" || base == "toxiproxy";
}

bool is_toxiproxy_flag(std::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-') return false;
  std::string_view name = arg.substr(
      1, arg.find('=') == std::string_view::npos ? std::string_view::npos : arg.find('=') - 1);
  return find_flag(name) != nullptr;
}

ToxiproxyArgs parse_toxiproxy_args(const std::vector<std::string>& args) {
  ToxiproxyArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) {
        throw UsageError(
            fmt::format("unexpected argument \"{}\": only flags are taken", args[i + 1]));
      }
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      throw UsageError(fmt::format("unexpected argument \"{}\": only flags are taken", arg));
    }
    std::string_view body(arg);
    body.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      throw UsageError(fmt::format("bad flag syntax: {}", arg));
    }
    auto eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    std::optional<std::string> value;
    if (eq != std::string_view::npos) value = std::string(body.substr(eq + 1));
    if (name == "help" || name == "h") {
      out.help = true;
      continue;
    }
    const Flag* flag = find_flag(name);
    if (flag == nullptr) throw UsageError(fmt::format("flag provided but not defined: -{}", name));
    if (flag->kind == FlagKind::boolean) {
      set_flag(out, *flag, value.value_or("true"));
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        throw UsageError(fmt::format("flag needs an argument: -{}", name));
      }
      value = args[++i];
    }
    set_flag(out, *flag, *value);
  }
  return out;
}

std::string toxiproxy_usage(std::string_view program) {
  return fmt::format(
      "Usage of {} (Faultline with toxiproxy-server's command line):\n"
      "  -config string\n"
      "        JSON file containing proxies to create on startup\n"
      "        ([{{\"name\", \"listen\", \"upstream\", \"enabled\"}}], the body of POST "
      "/populate)\n"
      "  -host string\n"
      "        Host for the API to listen on (default \"localhost\")\n"
      "  -port string\n"
      "        Port for the API to listen on (default \"8474\")\n"
      "  -proxy-metrics\n"
      "        accepted; GET /metrics always serves the per-proxy counters\n"
      "  -runtime-metrics\n"
      "        accepted; there are no Go runtime metrics to add\n"
      "  -seed int\n"
      "        Seed for randomizing toxics with (default: random, logged at start)\n"
      "  -version\n"
      "        print the version\n"
      "Environment: LOG_LEVEL (trace, debug, info, warn, error, fatal, panic, disabled).\n"
      "Exit codes: 0 ok, 1 bad config or cannot start, 2 usage error (unknown flag, bad value,\n"
      "missing file).\n"
      "Faultline's own command line (YAML config, relay options): faultline --help\n",
      program);
}

std::optional<std::string> log_level_from_toxiproxy(std::string_view value) {
  static const std::map<std::string_view, std::string> kLevels{
      {"trace", "trace"},    {"debug", "debug"},  {"info", "info"},
      {"warn", "warn"},      {"error", "error"},  {"fatal", "critical"},
      {"panic", "critical"}, {"disabled", "off"}, {"", "info"}};
  std::string lower(value);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = kLevels.find(lower);
  if (it == kLevels.end()) return std::nullopt;
  return it->second;
}

std::vector<config::ProxyConfig> parse_toxiproxy_json(std::string_view text,
                                                      const std::string& source,
                                                      const faults::FaultRegistry& registry) {
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line L, column C:
    // what"; the place is ours, the "what" is kept.
    std::string what = e.what();
    auto colon = what.find(": ", what.find("parse error"));
    if (colon != std::string::npos) what = what.substr(colon + 2);
    std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    throw config::ConfigError(place_of(text, at, source), "",
                              fmt::format("expected valid JSON, {}", what));
  }
  constexpr std::string_view kExpected =
      "expected a JSON list of proxies: [{\"name\", \"listen\", \"upstream\", \"enabled\"}]";
  std::size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (!list.is_array()) {
    throw config::ConfigError(place_of(text, first == std::string_view::npos ? 0 : first, source),
                              "", fmt::format("{}, got {}", kExpected, kind_of(list)));
  }
  std::vector<std::size_t> offsets = element_offsets(text);
  std::vector<config::ProxyConfig> out;
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    config::SourcePos pos = place_of(text, i < offsets.size() ? offsets[i] : 0, source);
    std::string field = fmt::format("[{}]", i);
    try {
      config::ProxyConfig pc = api::proxy_from_json(list[i], registry);
      for (const auto& f : pc.faults)
        api::check_toxic(f, registry);
      if (auto [it, fresh] = names.emplace(pc.name, i); !fresh) {
        throw config::ConfigError(
            pos, field,
            fmt::format("expected a unique name, \"{}\" is already used by [{}]", pc.name,
                        it->second));
      }
      pc.pos = pos;
      out.push_back(std::move(pc));
    } catch (const api::HttpError& e) {
      // The API's words, without its framing: the place says which entry.
      std::string_view what = e.what();
      constexpr std::string_view kBody = "bad request body: ";
      if (what.substr(0, kBody.size()) == kBody) what.remove_prefix(kBody.size());
      throw config::ConfigError(pos, field, std::string(what));
    }
  }
  return out;
}

std::vector<config::ProxyConfig> load_toxiproxy_json(const std::string& path,
                                                     const faults::FaultRegistry& registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw config::ConfigError(config::SourcePos{path, 0, 0}, "",
                              fmt::format("expected a readable file: {}", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_toxiproxy_json(text.str(), path, registry);
}

}  // namespace faultline::app
