#include "api/toxic_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace faultline::api {
namespace {

using faults::ApiUnit;

constexpr std::string_view kConditions[] = {"after", "duration", "connections"};

// Toxiproxy's unit of an attribute (or of a common condition), from the fault's declaration
// (faults/attribute.hpp); `plain` keeps the number as it is.
ApiUnit unit_of(const faults::FaultRegistry& registry, std::string_view type,
                std::string_view attr) {
  const faults::AttributeSpec* declared = registry.attribute(type, attr);
  return declared ? declared->api_unit : ApiUnit::plain;
}

// The unit of a common condition that is a duration (after, duration).
ApiUnit condition_unit(std::string_view key) {
  for (const auto& c : faults::condition_attributes()) {
    if (c.name == key) return c.api_unit;
  }
  return ApiUnit::plain;
}

[[noreturn]] void bad(std::string_view what) {
  throw HttpError(400, fmt::format("bad request body: {}", what));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "12", "-3", "1.5": a plain decimal without a unit.
bool plain_number(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  std::size_t digits = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    ++i;
  if (i == digits) return false;
  if (i < s.size() && s[i] == '.') {
    std::size_t frac = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      ++i;
    if (i == frac) return false;
  }
  return i == s.size();
}

std::string number_text(const json& v) {
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  double d = v.get<double>();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
    return std::to_string(static_cast<std::int64_t>(d));
  }
  return fmt::format("{}", d);
}

// An attribute value from JSON as the text a YAML file would hold.
std::string attr_text(const json& v, ApiUnit unit, std::string_view key) {
  if (v.is_number()) return faults::text_from_api_number(unit, number_text(v));
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    // "100" means 100 ms, like 100
    if (plain_number(s)) return faults::text_from_api_number(unit, s);
    return s;
  }
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  bad(fmt::format("attributes.{}: expected a number or a string", key));
}

json number_json(double x) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) {
    return static_cast<std::int64_t>(x);
  }
  return x;
}

// The reverse: attribute text -> the number Toxiproxy's clients expect.
json attr_json(const std::string& text, ApiUnit unit) {
  if (unit == ApiUnit::bytes) {
    if (auto s = config::parse_size(text)) return *s;
  } else if (unit != ApiUnit::plain) {
    if (auto x = faults::api_number_from_text(unit, text)) return number_json(*x);
  } else {
    if (text == "true") return true;
    if (text == "false") return false;
    if (plain_number(text)) return number_json(std::strtod(text.c_str(), nullptr));
  }
  return text;
}

std::optional<std::string> string_field(const json& body, std::string_view key) {
  const json* v = find_key(body, key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) bad(fmt::format("{}: expected a string", key));
  return v->get<std::string>();
}

std::optional<bool> bool_field(const json& body, std::string_view key) {
  const json* v = find_key(body, key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_boolean()) bad(fmt::format("{}: expected true or false", key));
  return v->get<bool>();
}

config::Endpoint endpoint_field(const std::string& text, std::string_view key, bool need_port) {
  auto ep = config::parse_endpoint(text);
  if (!ep || (need_port && ep->port == 0)) {
    bad(fmt::format("{}: expected HOST:PORT{}, got \"{}\"", key, need_port ? " (port above 0)" : "",
                    text));
  }
  return *ep;
}

void require_object(const json& body) {
  if (!body.is_object()) bad("expected a JSON object");
}

void check_name(const std::string& name, std::string_view key) {
  if (!config::valid_name(name)) {
    bad(fmt::format("{}: expected {}, got \"{}\"", key, config::kNameExpected, name));
  }
}

config::Duration duration_value(const json& v, std::string_view key) {
  std::string text = attr_text(v, condition_unit(key), key);
  auto d = config::parse_duration(text);
  if (!d)
    bad(fmt::format("{}: expected a duration in ms or with a unit, e.g. 100 or \"2s\", got {}", key,
                    v.dump()));
  return *d;
}

config::ConnectionMatch connections_value(const json& v) {
  constexpr std::string_view kExpected =
      "connections: expected \"all\" or an object with one of first, every, nth: N";
  config::ConnectionMatch m;
  auto set = [&](std::string kind, const json& n) {
    kind = lower(kind);
    if (kind == "first") {
      m.kind = config::ConnectionMatch::Kind::first;
    } else if (kind == "every") {
      m.kind = config::ConnectionMatch::Kind::every;
    } else if (kind == "nth") {
      m.kind = config::ConnectionMatch::Kind::nth;
    } else {
      bad(kExpected);
    }
    std::uint64_t count = 0;
    if (n.is_number_unsigned()) {
      count = n.get<std::uint64_t>();
    } else if (n.is_number_integer() && n.get<std::int64_t>() > 0) {
      count = static_cast<std::uint64_t>(n.get<std::int64_t>());
    } else if (n.is_string() && plain_number(n.get<std::string>()) &&
               n.get<std::string>().find_first_of("-.") == std::string::npos) {
      count = std::strtoull(n.get<std::string>().c_str(), nullptr, 10);
    }
    if (count == 0) bad(kExpected);
    m.n = count;
  };
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (iequals(s, "all")) return m;
    auto colon = s.find(':');
    if (colon == std::string::npos) bad(kExpected);
    std::string n = s.substr(colon + 1);
    n.erase(0, n.find_first_not_of(' '));
    set(s.substr(0, colon), json(n));
    return m;
  }
  if (v.is_object() && v.size() == 1) {
    set(v.begin().key(), v.begin().value());
    return m;
  }
  bad(kExpected);
}

bool is_condition(std::string_view key) {
  return std::find(std::begin(kConditions), std::end(kConditions), key) != std::end(kConditions);
}

// Sets a common condition from JSON; null resets it to its default.
void set_condition(config::FaultSpec& spec, const std::string& key, const json& v) {
  if (key == "after") {
    spec.after = v.is_null() ? config::Duration{0} : duration_value(v, key);
  } else if (key == "duration") {
    if (v.is_null()) {
      spec.duration.reset();
    } else {
      auto d = duration_value(v, key);
      if (d.count() <= 0) bad("duration: expected a duration above zero");
      spec.duration = d;
    }
  } else if (key == "connections") {
    spec.connections = v.is_null() ? config::ConnectionMatch{} : connections_value(v);
  }
}

void set_toxicity(config::FaultSpec& spec, const json& body) {
  const json* t = find_key(body, "toxicity");
  if (!t || t->is_null()) return;
  if (!t->is_number() || !(t->get<double>() >= 0.0 && t->get<double>() <= 1.0)) {
    bad(fmt::format("toxicity: expected a number from 0 to 1, got {}", t->dump()));
  }
  spec.toxicity = t->get<double>();
}

// Attributes (and conditions) from `attributes` and, for the conditions, the top level.
void merge_attributes(config::FaultSpec& spec, const json& body,
                      const faults::FaultRegistry& registry, const std::string& type) {
  for (auto key : kConditions) {
    if (const json* v = find_key(body, key)) set_condition(spec, std::string(key), *v);
  }
  const json* attrs = find_key(body, "attributes");
  if (!attrs || attrs->is_null()) return;
  if (!attrs->is_object()) bad("attributes: expected a JSON object");
  for (const auto& [key, value] : attrs->items()) {
    std::string k = lower(key);  // Toxiproxy's attribute names are all lower case
    if (is_condition(k)) {
      set_condition(spec, k, value);
    } else if (value.is_null()) {
      spec.attributes.erase(k);
    } else {
      spec.attributes[k] = config::AttrValue{attr_text(value, unit_of(registry, type, k), k), {}};
    }
  }
}

const faults::FaultType& known_type(const json& body, const faults::FaultRegistry& registry) {
  auto type = string_field(body, "type");
  const faults::FaultType* t = type ? registry.find(*type) : nullptr;
  if (!t) throw HttpError(400, "invalid toxic type");
  return *t;
}

}  // namespace

json parse_body(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) bad("empty, expected JSON");
  // Refuse deep nesting before parsing: no request needs more than a few levels.
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > 32) bad("nested more than 32 levels deep");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return json::parse(body);
  } catch (const json::exception& e) {  // parse errors and numbers beyond double (406)
    std::string what = e.what();
    if (auto p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos) {
      what = what.substr(p + 2);
    }
    bad(fmt::format("not JSON: {}", what));
  }
}

std::string error_body(int status, std::string_view message) {
  ojson e;
  e["error"] = std::string(message);
  e["status"] = status;
  return e.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* find_key(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  if (auto it = object.find(key); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (iequals(it.key(), key)) return &it.value();
  }
  return nullptr;
}

config::ProxyConfig proxy_from_json(const json& body, const faults::FaultRegistry& registry) {
  require_object(body);
  config::ProxyConfig pc;
  auto name = string_field(body, "name");
  if (!name || name->empty()) throw HttpError(400, "missing required field: name");
  auto upstream = string_field(body, "upstream");
  if (!upstream || upstream->empty()) throw HttpError(400, "missing required field: upstream");
  check_name(*name, "name");
  pc.name = *name;
  auto listen = string_field(body, "listen");
  pc.listen = endpoint_field(listen && !listen->empty() ? *listen : "127.0.0.1:0", "listen", false);
  pc.upstream = endpoint_field(*upstream, "upstream", true);
  pc.enabled = bool_field(body, "enabled").value_or(true);
  pc.pos.file = "api";
  if (const json* toxics = find_key(body, "toxics"); toxics && !toxics->is_null()) {
    if (!toxics->is_array()) bad("toxics: expected a list of toxics");
    for (const auto& t : *toxics) {
      config::FaultSpec spec = toxic_from_json(t, registry);
      for (const auto& other : pc.faults) {
        if (other.name == spec.name) throw HttpError(409, "toxic already exists");
      }
      pc.faults.push_back(std::move(spec));
    }
  }
  return pc;
}

bool has_toxics(const json& body) {
  const json* toxics = find_key(body, "toxics");
  return toxics && !toxics->is_null();
}

ProxyPatch patch_from_json(const json& body) {
  require_object(body);
  ProxyPatch patch;
  if (auto listen = string_field(body, "listen"); listen && !listen->empty()) {
    patch.listen = endpoint_field(*listen, "listen", false);
  }
  if (auto upstream = string_field(body, "upstream"); upstream && !upstream->empty()) {
    patch.upstream = endpoint_field(*upstream, "upstream", true);
  }
  patch.enabled = bool_field(body, "enabled");
  return patch;
}

config::FaultSpec toxic_from_json(const json& body, const faults::FaultRegistry& registry) {
  require_object(body);
  config::FaultSpec spec;
  auto written_type = string_field(body, "type");
  const faults::FaultType& type = known_type(body, registry);
  spec.type = type.name;
  std::string stream = lower(string_field(body, "stream").value_or("downstream"));
  if (stream.empty()) stream = "downstream";
  auto parsed = config::parse_stream(stream);
  if (!parsed) throw HttpError(400, "stream was invalid, can be either upstream or downstream");
  spec.stream = *parsed;
  auto name = string_field(body, "name");
  // Toxiproxy's default name: the type as written and the stream.
  spec.name = name && !name->empty() ? *name : fmt::format("{}_{}", *written_type, stream);
  check_name(spec.name, "name");
  set_toxicity(spec, body);
  merge_attributes(spec, body, registry, type.name);
  return spec;
}

void merge_toxic(config::FaultSpec& spec, const json& body, const faults::FaultRegistry& registry) {
  require_object(body);
  const faults::FaultType* type = registry.find(spec.type);
  set_toxicity(spec, body);
  merge_attributes(spec, body, registry, type ? type->name : spec.type);
  spec.field.clear();  // errors now name the attribute alone, not the YAML place
}

void check_toxic(const config::FaultSpec& spec, const faults::FaultRegistry& registry) {
  try {
    registry.compile(spec);
  } catch (const config::ConfigError& e) {
    std::string field = e.field();
    if (!spec.field.empty() && field.rfind(spec.field + ".", 0) == 0) {
      field = field.substr(spec.field.size() + 1);
    }
    throw HttpError(400, field.empty() ? e.expected() : fmt::format("{}: {}", field, e.expected()));
  }
}

ojson toxic_to_json(const config::FaultSpec& spec, const faults::FaultRegistry& registry) {
  const faults::FaultType* t = registry.find(spec.type);
  std::string type = t ? t->name : spec.type;
  ojson attrs = ojson::object();
  if (t) {
    for (const auto& a : t->attributes) {
      if (a.shown_when_absent && !spec.attributes.count(a.name)) {
        attrs[a.name] = attr_json(a.fallback, a.api_unit);
      }
    }
  }
  for (const auto& [key, value] : spec.attributes) {
    attrs[key] = attr_json(value.text, unit_of(registry, type, key));
  }
  if (spec.after.count() != 0) {
    attrs["after"] = attr_json(config::format_duration(spec.after), condition_unit("after"));
  }
  if (spec.duration) {
    attrs["duration"] =
        attr_json(config::format_duration(*spec.duration), condition_unit("duration"));
  }
  if (spec.connections.kind != config::ConnectionMatch::Kind::all) {
    const char* kind = spec.connections.kind == config::ConnectionMatch::Kind::first   ? "first"
                       : spec.connections.kind == config::ConnectionMatch::Kind::every ? "every"
                                                                                       : "nth";
    attrs["connections"] = ojson{{kind, spec.connections.n}};
  }
  ojson out;
  out["attributes"] = std::move(attrs);
  out["name"] = spec.name;
  out["type"] = type;
  out["stream"] = std::string(config::to_string(spec.stream));
  out["toxicity"] = number_json(spec.toxicity);
  return out;
}

ojson proxy_to_json(const ProxyView& view, const faults::FaultRegistry& registry) {
  ojson out;
  out["name"] = view.name;
  out["listen"] = view.listen;
  out["upstream"] = view.upstream;
  out["enabled"] = view.enabled;
  ojson toxics = ojson::array();
  for (const auto& f : view.faults)
    toxics.push_back(toxic_to_json(f, registry));
  out["toxics"] = std::move(toxics);
  return out;
}

}  // namespace faultline::api
