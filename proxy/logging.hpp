// Loggers per component (proxy, session, fault, config, api), all writing one stream in text
// or JSON lines. JSON lines stay valid JSON whatever a message holds.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "config/config.hpp"

namespace faultline::proxy {

// Creates or reconfigures the component loggers. Throws std::invalid_argument on an unknown
// level. Safe to call again (e.g. after the config file named a level).
void setup_logging(std::string_view level, config::LogFormat format);

// The component loggers; the objects live for the whole process (setup_logging reconfigures
// them in place), so callers may keep the reference.
spdlog::logger& log_proxy();
spdlog::logger& log_session();
spdlog::logger& log_fault();
spdlog::logger& log_config();
spdlog::logger& log_api();

// Escapes a string for a JSON string literal (without the quotes).
std::string json_escape(std::string_view s);

}  // namespace faultline::proxy
