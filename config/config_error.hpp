// ConfigError: a refused configuration, located as FILE:LINE:COL: field: what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace faultline::config {

// Where a value came from. Lines and columns are 1-based (yaml-cpp's marks are 0-based and
// are converted by the loader). line 0 means "no position" (e.g. a value from the HTTP API).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;

  std::string to_string() const;  // "file:line:col", or "file" when there is no line
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(SourcePos pos, std::string field, std::string expected);

  const SourcePos& pos() const { return pos_; }
  const std::string& field() const { return field_; }
  const std::string& expected() const { return expected_; }

 private:
  SourcePos pos_;
  std::string field_;
  std::string expected_;
};

}  // namespace faultline::config
