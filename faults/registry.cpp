#include "faults/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace faultline::faults {

const AttributeSpec* FaultType::attribute(std::string_view attribute_name) const {
  for (const auto& a : attributes) {
    if (a.name == attribute_name) return &a;
  }
  return nullptr;
}

void FaultRegistry::add(FaultType type) {
  check_declarations(type.name, type.attributes);
  std::size_t slot = types_.size();
  auto claim = [&](const std::string& key) {
    if (!index_.emplace(key, slot).second) {
      throw std::logic_error("fault type registered twice: " + key);
    }
  };
  claim(type.name);
  for (const auto& alias : type.aliases)
    claim(alias);
  types_.push_back(std::move(type));
}

const FaultType* FaultRegistry::find(std::string_view type_or_alias) const {
  auto it = index_.find(type_or_alias);
  return it == index_.end() ? nullptr : &types_[it->second];
}

std::vector<std::string> FaultRegistry::type_names() const {
  std::vector<std::string> names;
  for (const auto& t : types_)
    names.push_back(t.name);
  std::sort(names.begin(), names.end());
  return names;
}

const AttributeSpec* FaultRegistry::attribute(std::string_view type_or_alias,
                                              std::string_view attribute) const {
  if (const FaultType* type = find(type_or_alias)) {
    if (const AttributeSpec* a = type->attribute(attribute)) return a;
  }
  for (const auto& c : condition_attributes()) {
    if (c.name == attribute) return &c;
  }
  return nullptr;
}

CompiledFault FaultRegistry::compile(const config::FaultSpec& spec) const {
  const FaultType* type = find(spec.type);
  if (!type) {
    std::vector<std::string> known;
    for (const auto& [key, slot] : index_)
      known.push_back(key);
    std::string expected =
        known.empty()
            ? std::string("expected a known fault type (none are registered)")
            : fmt::format("expected one of {}, got \"{}\"", fmt::join(known, ", "), spec.type);
    throw config::ConfigError(spec.pos, spec.field.empty() ? "type" : spec.field + ".type",
                              expected);
  }
  CompiledFault compiled{spec, nullptr, type->scope};
  compiled.spec.type = type->name;
  AttributeReader reader(compiled.spec, type->attributes);
  compiled.factory = type->parse(reader);
  reader.finish();
  return compiled;
}

}  // namespace faultline::faults
