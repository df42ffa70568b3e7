#include "proxy/logging.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace faultline::proxy {
namespace {

constexpr std::array<const char*, 5> kComponents = {"proxy", "session", "fault", "config", "api"};

// {"ts":"2026-11-22T04:10:00.123Z","level":"info","logger":"session","msg":"..."}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
    std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
    const std::tm tm = fmt::gmtime(secs);  // gmtime_r or gmtime_s, whichever the platform has
    fmt::format_to(
        std::back_inserter(dest),
        R"({{"ts":"{:%Y-%m-%dT%H:%M:%S}.{:03d}Z","level":"{}","logger":"{}","msg":"{}"}})"
        "\n",
        tm, static_cast<int>(ms.count() % 1000), spdlog::level::to_string_view(msg.level),
        json_escape({msg.logger_name.data(), msg.logger_name.size()}),
        json_escape({msg.payload.data(), msg.payload.size()}));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

spdlog::logger& get(const char* name) {
  auto logger = spdlog::get(name);
  if (!logger) {
    setup_logging("info", config::LogFormat::text);
    logger = spdlog::get(name);
  }
  return *logger;  // kept alive by spdlog's registry; never dropped
}

}  // namespace

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void setup_logging(std::string_view level, config::LogFormat format) {
  if (std::find(config::kLogLevels.begin(), config::kLogLevels.end(), level) ==
      config::kLogLevels.end()) {
    throw std::invalid_argument(fmt::format("unknown log level \"{}\", expected one of {}", level,
                                            fmt::join(config::kLogLevels, ", ")));
  }
  // spdlog knows each of them (tests/unit/proxy/logging_test.cpp checks).
  auto lvl = spdlog::level::from_str(std::string(level));
  static auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  for (const char* name : kComponents) {
    auto logger = spdlog::get(name);
    if (!logger) {
      logger = std::make_shared<spdlog::logger>(name, sink);
      spdlog::register_logger(logger);
    }
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    if (format == config::LogFormat::json) {
      logger->set_formatter(std::make_unique<JsonFormatter>());
    } else {
      logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
          "%Y-%m-%dT%H:%M:%S.%eZ %-5l %-7n %v", spdlog::pattern_time_type::utc));
    }
  }
}

spdlog::logger& log_proxy() {
  static spdlog::logger& logger = get("proxy");
  return logger;
}
spdlog::logger& log_session() {
  static spdlog::logger& logger = get("session");
  return logger;
}
spdlog::logger& log_fault() {
  static spdlog::logger& logger = get("fault");
  return logger;
}
spdlog::logger& log_config() {
  static spdlog::logger& logger = get("config");
  return logger;
}
spdlog::logger& log_api() {
  static spdlog::logger& logger = get("api");
  return logger;
}

}  // namespace faultline::proxy
