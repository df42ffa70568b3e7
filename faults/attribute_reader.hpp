// Typed access to a fault spec's raw attributes, against the fault's declared attributes
// (faults/attribute.hpp): an attribute left out reads as its declared fallback; reading one
// that is not declared, or as another kind, is a programming error (std::logic_error). Every
// error names the attribute's place and field and the unit expected; finish() refuses
// attributes that are not declared (typos).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "faults/attribute.hpp"

namespace faultline::faults {

class AttributeReader {
 public:
  AttributeReader(const config::FaultSpec& spec, const std::vector<AttributeSpec>& declared)
      : spec_(spec), declared_(declared) {}

  const config::FaultSpec& spec() const { return spec_; }

  std::optional<config::Duration> duration(std::string_view name);
  std::optional<std::uint64_t> size(std::string_view name);
  std::optional<double> rate(std::string_view name);  // bytes per second, > 0
  std::optional<double> number(std::string_view name, double min, double max);  // a count
  std::optional<std::string> choice(std::string_view name);  // one of the declared choices

  // An error about one attribute (or about the fault as a whole when the name is absent).
  [[noreturn]] void fail(std::string_view name, std::string_view expected) const;

  // Throws on any attribute that is not declared.
  void finish() const;

 private:
  // The written text, or the declared fallback; nullopt when neither.
  std::optional<std::string> take(std::string_view name, AttrKind kind);

  const config::FaultSpec& spec_;
  const std::vector<AttributeSpec>& declared_;
};

}  // namespace faultline::faults
