#include "config/config_error.hpp"

#include <fmt/format.h>

namespace faultline::config {
namespace {

// "FILE:LINE:COL: FIELD: EXPECTED"; the field part is left out when there is none (syntax
// errors, an empty document).
std::string format_message(const SourcePos& pos, const std::string& field,
                           const std::string& expected) {
  if (field.empty()) return fmt::format("{}: {}", pos.to_string(), expected);
  return fmt::format("{}: {}: {}", pos.to_string(), field, expected);
}

}  // namespace

std::string SourcePos::to_string() const {
  if (line <= 0) return file;
  return fmt::format("{}:{}:{}", file, line, column);
}

ConfigError::ConfigError(SourcePos pos, std::string field, std::string expected)
    : std::runtime_error(format_message(pos, field, expected)),
      pos_(std::move(pos)),
      field_(std::move(field)),
      expected_(std::move(expected)) {}

}  // namespace faultline::config
