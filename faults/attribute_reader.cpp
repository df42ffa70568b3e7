#include "faults/attribute_reader.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace faultline::faults {

const config::AttrValue* AttributeReader::take(std::string_view name) {
  read_.emplace(name);
  auto it = spec_.attributes.find(std::string(name));
  return it == spec_.attributes.end() ? nullptr : &it->second;
}

void AttributeReader::fail(std::string_view name, std::string_view expected) const {
  auto it = spec_.attributes.find(std::string(name));
  const config::SourcePos& pos = it == spec_.attributes.end() ? spec_.pos : it->second.pos;
  std::string field =
      spec_.field.empty() ? std::string(name) : spec_.field + "." + std::string(name);
  if (it != spec_.attributes.end()) {
    throw config::ConfigError(pos, field,
                              fmt::format("expected {}, got \"{}\"", expected, it->second.text));
  }
  throw config::ConfigError(pos, field, fmt::format("expected {}", expected));
}

std::optional<config::Duration> AttributeReader::duration(std::string_view name) {
  const config::AttrValue* v = take(name);
  if (!v) return std::nullopt;
  auto d = config::parse_duration(v->text);
  if (!d) fail(name, config::kDurationExpected);
  return d;
}

std::optional<std::uint64_t> AttributeReader::size(std::string_view name) {
  const config::AttrValue* v = take(name);
  if (!v) return std::nullopt;
  auto s = config::parse_size(v->text);
  if (!s) fail(name, config::kSizeExpected);
  return s;
}

std::optional<double> AttributeReader::rate(std::string_view name) {
  const config::AttrValue* v = take(name);
  if (!v) return std::nullopt;
  auto r = config::parse_rate(v->text);
  if (!r) fail(name, config::kRateExpected);
  return r;
}

std::optional<double> AttributeReader::number(std::string_view name, double min, double max) {
  const config::AttrValue* v = take(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  double x = std::strtod(v->text.c_str(), &end);
  if (v->text.empty() || end != v->text.c_str() + v->text.size() || !std::isfinite(x) || x < min ||
      x > max) {
    fail(name, fmt::format("a number from {} to {}", min, max));
  }
  return x;
}

std::optional<std::string> AttributeReader::choice(std::string_view name,
                                                   const std::vector<std::string_view>& allowed) {
  const config::AttrValue* v = take(name);
  if (!v) return std::nullopt;
  for (auto a : allowed) {
    if (v->text == a) return v->text;
  }
  fail(name, fmt::format("one of {}", fmt::join(allowed, ", ")));
}

void AttributeReader::finish() const {
  for (const auto& [key, value] : spec_.attributes) {
    if (read_.count(key)) continue;
    std::vector<std::string_view> known(read_.begin(), read_.end());
    std::string field = spec_.field.empty() ? key : spec_.field + "." + key;
    throw config::ConfigError(
        value.pos, field,
        known.empty()
            ? fmt::format("expected no attributes for fault type {}", spec_.type)
            : fmt::format("unknown attribute for fault type {}, expected one of {} (or the "
                          "common keys type, name, stream, toxicity, after, duration, connections)",
                          spec_.type, fmt::join(known, ", ")));
  }
}

}  // namespace faultline::faults
