// Typed access to a fault spec's raw attributes. Every error names the attribute's place and
// field and the unit expected; finish() refuses attributes no one asked for (typos).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace faultline::faults {

class AttributeReader {
 public:
  explicit AttributeReader(const config::FaultSpec& spec) : spec_(spec) {}

  const config::FaultSpec& spec() const { return spec_; }

  std::optional<config::Duration> duration(std::string_view name);
  std::optional<std::uint64_t> size(std::string_view name);
  std::optional<double> rate(std::string_view name);  // bytes per second, > 0
  std::optional<double> number(std::string_view name, double min, double max);
  std::optional<std::string> choice(std::string_view name,
                                    const std::vector<std::string_view>& allowed);

  // An error about one attribute (or about the fault as a whole when the name is absent).
  [[noreturn]] void fail(std::string_view name, std::string_view expected) const;

  // Throws on any attribute that was not read.
  void finish() const;

 private:
  const config::AttrValue* take(std::string_view name);

  const config::FaultSpec& spec_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace faultline::faults
