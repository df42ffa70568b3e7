#include "faults/attribute_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::faults {

std::optional<std::string> AttributeReader::take(std::string_view name, AttrKind kind) {
  auto declared = std::find_if(declared_.begin(), declared_.end(),
                               [&](const AttributeSpec& a) { return a.name == name; });
  if (declared == declared_.end() || declared->kind != kind) {
    throw std::logic_error(
        fmt::format("fault {} reads attribute {} as a {}, which it does not "
                    "declare",
                    spec_.type, name, kind_name(kind)));
  }
  auto it = spec_.attributes.find(std::string(name));
  if (it != spec_.attributes.end()) return it->second.text;
  if (!declared->fallback.empty()) return declared->fallback;
  return std::nullopt;
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
  auto text = take(name, AttrKind::duration);
  if (!text) return std::nullopt;
  auto d = config::parse_duration(*text);
  if (!d) fail(name, config::kDurationExpected);
  return d;
}

std::optional<std::uint64_t> AttributeReader::size(std::string_view name) {
  auto text = take(name, AttrKind::size);
  if (!text) return std::nullopt;
  auto s = config::parse_size(*text);
  if (!s) fail(name, config::kSizeExpected);
  return s;
}

std::optional<double> AttributeReader::rate(std::string_view name) {
  auto text = take(name, AttrKind::rate);
  if (!text) return std::nullopt;
  auto r = config::parse_rate(*text);
  if (!r) fail(name, config::kRateExpected);
  return r;
}

std::optional<double> AttributeReader::number(std::string_view name, double min, double max) {
  auto text = take(name, AttrKind::count);
  if (!text) return std::nullopt;
  char* end = nullptr;
  double x = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(x) || x < min ||
      x > max) {
    fail(name, fmt::format("a number from {} to {}", min, max));
  }
  return x;
}

std::optional<std::string> AttributeReader::choice(std::string_view name) {
  auto text = take(name, AttrKind::choice);
  if (!text) return std::nullopt;
  const AttributeSpec& declared = *std::find_if(
      declared_.begin(), declared_.end(), [&](const AttributeSpec& a) { return a.name == name; });
  for (const auto& allowed : declared.choices) {
    if (*text == allowed) return text;
  }
  fail(name, fmt::format("one of {}", fmt::join(declared.choices, ", ")));
}

void AttributeReader::finish() const {
  for (const auto& [key, value] : spec_.attributes) {
    // A named copy for the lambda: clang 14 cannot capture a structured binding.
    const std::string_view name = key;
    auto declared = std::find_if(declared_.begin(), declared_.end(),
                                 [name](const AttributeSpec& a) { return a.name == name; });
    if (declared != declared_.end()) continue;
    std::vector<std::string_view> known;
    for (const auto& a : declared_)
      known.push_back(a.name);
    std::sort(known.begin(), known.end());
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
