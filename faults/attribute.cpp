#include "faults/attribute.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "config/units.hpp"

namespace faultline::faults {

namespace {

AttributeSpec make(std::string name, AttrKind kind, ApiUnit unit, std::string description) {
  AttributeSpec a;
  a.name = std::move(name);
  a.kind = kind;
  a.api_unit = unit;
  a.description = std::move(description);
  return a;
}

}  // namespace

AttributeSpec AttributeSpec::duration(std::string name, ApiUnit unit, std::string description) {
  return make(std::move(name), AttrKind::duration, unit, std::move(description));
}

AttributeSpec AttributeSpec::size(std::string name, std::string description) {
  return make(std::move(name), AttrKind::size, ApiUnit::bytes, std::move(description));
}

AttributeSpec AttributeSpec::rate(std::string name, ApiUnit unit, std::string description) {
  return make(std::move(name), AttrKind::rate, unit, std::move(description));
}

AttributeSpec AttributeSpec::count(std::string name, std::string description) {
  return make(std::move(name), AttrKind::count, ApiUnit::plain, std::move(description));
}

AttributeSpec AttributeSpec::choice(std::string name, std::vector<std::string> choices,
                                    std::string description) {
  AttributeSpec a = make(std::move(name), AttrKind::choice, ApiUnit::plain, std::move(description));
  a.choices = std::move(choices);
  if (!a.choices.empty()) a.fallback = a.choices.front();
  return a;
}

AttributeSpec&& AttributeSpec::defaults_to(std::string value) && {
  fallback = std::move(value);
  return std::move(*this);
}

AttributeSpec&& AttributeSpec::mandatory() && {
  required = true;
  fallback.clear();
  return std::move(*this);
}

AttributeSpec&& AttributeSpec::shown_by_toxiproxy() && {
  shown_when_absent = true;
  return std::move(*this);
}

std::string_view kind_name(AttrKind kind) {
  switch (kind) {
    case AttrKind::duration:
      return "duration";
    case AttrKind::size:
      return "size";
    case AttrKind::rate:
      return "rate";
    case AttrKind::count:
      return "count";
    case AttrKind::choice:
      return "choice";
  }
  return "?";
}

std::string_view api_suffix(ApiUnit unit) {
  switch (unit) {
    case ApiUnit::ms:
      return "ms";
    case ApiUnit::us:
      return "us";
    case ApiUnit::kbps:
      return "KB/s";
    case ApiUnit::bytes:
    case ApiUnit::plain:
      return "";
  }
  return "";
}

std::string text_from_api_number(ApiUnit unit, std::string_view number) {
  return std::string(number) + std::string(api_suffix(unit));
}

std::optional<double> api_number_from_text(ApiUnit unit, std::string_view text) {
  switch (unit) {
    case ApiUnit::ms:
    case ApiUnit::us:
      if (auto d = config::parse_duration(text)) {
        double ns = static_cast<double>(d->count());
        return unit == ApiUnit::ms ? ns / 1e6 : ns / 1e3;
      }
      break;
    case ApiUnit::bytes:
      if (auto s = config::parse_size(text)) return static_cast<double>(*s);
      break;
    case ApiUnit::kbps:
      if (auto r = config::parse_rate(text)) return *r / 1000.0;
      break;
    case ApiUnit::plain:
      break;
  }
  return std::nullopt;
}

const std::vector<AttributeSpec>& condition_attributes() {
  static const std::vector<AttributeSpec> conditions = {
      AttributeSpec::duration("after", ApiUnit::ms,
                              "the fault starts this long after the connection opened")
          .defaults_to("0s"),
      AttributeSpec::duration("duration", ApiUnit::ms,
                              "and stays on this long (left out: for ever)"),
  };
  return conditions;
}

void check_declarations(std::string_view fault, const std::vector<AttributeSpec>& attributes) {
  auto wrong = [&](const AttributeSpec& a, std::string_view what) {
    throw std::logic_error(fmt::format("fault {}: attribute {}: {}", fault, a.name, what));
  };
  std::set<std::string_view> names;
  for (const auto& a : attributes) {
    if (a.name.empty() || !names.insert(a.name).second) wrong(a, "declared twice or unnamed");
    if (a.required && !a.fallback.empty()) wrong(a, "required, yet has a fallback");
    if ((a.kind == AttrKind::choice) != !a.choices.empty()) wrong(a, "choices go with a choice");
    if (a.fallback.empty()) continue;
    bool parses = false;
    switch (a.kind) {
      case AttrKind::duration:
        parses = config::parse_duration(a.fallback).has_value();
        break;
      case AttrKind::size:
        parses = config::parse_size(a.fallback).has_value();
        break;
      case AttrKind::rate:
        parses = config::parse_rate(a.fallback).has_value();
        break;
      case AttrKind::count:
        parses = a.fallback.find_first_not_of("0123456789") == std::string::npos;
        break;
      case AttrKind::choice:
        parses = std::find(a.choices.begin(), a.choices.end(), a.fallback) != a.choices.end();
        break;
    }
    if (!parses)
      wrong(a, fmt::format("fallback \"{}\" is not a {}", a.fallback, kind_name(a.kind)));
  }
}

}  // namespace faultline::faults
