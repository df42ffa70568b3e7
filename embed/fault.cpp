// The public Fault: its setters, its YAML form, the builders, and the loader round trip.
#include <fmt/format.h>

#include <sstream>

#include "config/config.hpp"
#include "embed/convert.hpp"
#include "faultline/faultline.hpp"

namespace faultline {
namespace {

const char* stream_name(Stream s) {
  switch (s) {
    case Stream::upstream:
      return "upstream";
    case Stream::downstream:
      return "downstream";
    case Stream::both:
      return "both";
  }
  return "downstream";
}

// A duration as the loader reads it, exact to the microsecond: 2s, 100ms, 250us.
std::string duration_text(microseconds d) {
  auto us = d.count();
  if (us != 0 && us % 1000000 == 0) return fmt::format("{}s", us / 1000000);
  if (us != 0 && us % 1000 == 0) return fmt::format("{}ms", us / 1000);
  return fmt::format("{}us", us);
}

// A YAML scalar: plain when it cannot be misread, else double-quoted.
std::string scalar(std::string_view text) {
  bool plain = !text.empty();
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '+' || c == '-' || c == '/';
    if (!ok) plain = false;
  }
  if (plain && text.front() != '-') return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// "all" stays a scalar; "first: 3" becomes the mapping {first: 3}.
std::string connections_yaml(const std::string& which) {
  auto colon = which.find(':');
  if (colon == std::string::npos) return scalar(which);
  auto trim = [](std::string s) {
    auto b = s.find_first_not_of(" \t");
    auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  return fmt::format("{{{}: {}}}", scalar(trim(which.substr(0, colon))),
                     scalar(trim(which.substr(colon + 1))));
}

Fault make(std::string type, Stream stream) {
  Fault f;
  f.type = std::move(type);
  f.stream = stream;
  return f;
}

}  // namespace

Fault& Fault::named(std::string n) {
  name = std::move(n);
  return *this;
}
Fault& Fault::on(Stream s) {
  stream = s;
  return *this;
}
Fault& Fault::with_toxicity(double p) {
  toxicity = p;
  return *this;
}
Fault& Fault::starting_after(microseconds d) {
  after = d;
  return *this;
}
Fault& Fault::lasting(microseconds d) {
  duration = d;
  return *this;
}
Fault& Fault::on_connections(std::string which) {
  connections = std::move(which);
  return *this;
}
Fault& Fault::set(std::string attribute, std::string value) {
  attributes[std::move(attribute)] = std::move(value);
  return *this;
}

std::string Fault::to_yaml() const {
  std::string y = "{ type: " + scalar(type);
  if (!name.empty()) y += ", name: " + scalar(name);
  y += fmt::format(", stream: {}", stream_name(stream));
  if (toxicity != 1.0) y += fmt::format(", toxicity: {}", toxicity);
  if (after.count() != 0) y += ", after: " + duration_text(after);
  if (duration) y += ", duration: " + duration_text(*duration);
  if (connections != "all") y += ", connections: " + connections_yaml(connections);
  for (const auto& [key, value] : attributes)
    y += ", " + scalar(key) + ": " + scalar(value);
  return y + " }";
}

std::vector<Fault> faults_from_yaml(std::string_view yaml) {
  std::vector<Fault> out;
  for (const auto& spec : embed::to_specs({}, yaml))
    out.push_back(embed::from_spec(spec));
  return out;
}

Fault latency(const LatencyOptions& o) {
  Fault f = make("latency", o.stream);
  f.set("latency", duration_text(o.latency));
  if (o.jitter.count() != 0) f.set("jitter", duration_text(o.jitter));
  return f;
}

Fault bandwidth(const BandwidthOptions& o) {
  return make("bandwidth", o.stream).set("rate", fmt::format("{}B/s", o.bytes_per_second));
}

Fault slicer(const SlicerOptions& o) {
  Fault f = make("slicer", o.stream);
  f.set("average_size", std::to_string(o.average_size));
  if (o.size_variation != 0) f.set("size_variation", std::to_string(o.size_variation));
  f.set("delay", duration_text(o.delay));
  return f;
}

Fault coalesce(const CoalesceOptions& o) {
  return make("coalesce", o.stream)
      .set("window", duration_text(o.window))
      .set("max_bytes", std::to_string(o.max_bytes));
}

Fault drop(const DropOptions& o) {
  return make("drop", o.stream).set("after_bytes", std::to_string(o.after_bytes));
}

Fault timeout(const TimeoutOptions& o) {
  return make("timeout", o.stream).set("timeout", duration_text(o.timeout));
}

Fault reset_peer(const ResetPeerOptions& o) {
  Fault f = make("reset_peer", o.stream);
  if (o.timeout.count() != 0) f.set("timeout", duration_text(o.timeout));
  if (o.after_bytes) f.set("after_bytes", std::to_string(*o.after_bytes));
  if (o.target == ResetTarget::upstream) f.set("target", "upstream");
  if (o.target == ResetTarget::both) f.set("target", "both");
  return f;
}

Fault limit_data(const LimitDataOptions& o) {
  return make("limit_data", o.stream).set("bytes", std::to_string(o.bytes));
}

Fault slow_close(const SlowCloseOptions& o) {
  return make("slow_close", o.stream).set("delay", duration_text(o.delay));
}

Fault connect_delay(const ConnectDelayOptions& o) {
  return make("connect_delay", Stream::downstream).set("delay", duration_text(o.delay));
}

namespace embed {

const faults::FaultRegistry& builtin_registry() {
  static const faults::FaultRegistry registry = [] {
    faults::FaultRegistry r;
    faults::register_builtin_faults(r);
    return r;
  }();
  return registry;
}

std::vector<config::FaultSpec> to_specs(const std::vector<Fault>& faults, std::string_view yaml) {
  // A one-proxy file whose `faults:` list holds them; its first lines are ours.
  constexpr int kHeaderLines = 5;
  constexpr int kIndent = 4;
  std::string doc =
      "proxies:\n"
      "  - name: embedded\n"
      "    listen: 127.0.0.1:0\n"
      "    upstream: 127.0.0.1:1\n"
      "    faults:\n";
  for (const auto& f : faults)
    doc += "    - " + f.to_yaml() + "\n";
  int user_first_line = kHeaderLines + static_cast<int>(faults.size()) + 1;
  std::istringstream lines{std::string(yaml)};
  for (std::string l; std::getline(lines, l);)
    doc += std::string(kIndent, ' ') + l + "\n";
  try {
    config::Config cfg = config::load_config_string(doc, "faults.yaml");
    if (cfg.proxies.empty()) return {};
    for (const auto& spec : cfg.proxies.front().faults)
      builtin_registry().compile(spec);
    return cfg.proxies.front().faults;
  } catch (const config::ConfigError& e) {
    std::string field = e.field();
    if (field.rfind("proxies[0].", 0) == 0) field = field.substr(11);
    const auto& pos = e.pos();
    if (pos.line >= user_first_line) {
      throw Error(fmt::format("faults yaml:{}:{}: {}: {}", pos.line - user_first_line + 1,
                              std::max(1, pos.column - kIndent), field, e.expected()));
    }
    if (pos.line > kHeaderLines) {
      std::size_t i = static_cast<std::size_t>(pos.line - kHeaderLines - 1);
      throw Error(
          fmt::format("fault {} ({}): {}: {}", i, faults[i].to_yaml(), field, e.expected()));
    }
    throw Error(fmt::format("faults: {}: {}", field, e.expected()));
  }
}

Fault from_spec(const config::FaultSpec& spec) {
  Fault f;
  f.type = spec.type;
  f.name = spec.name;
  f.stream = spec.stream == config::Stream::upstream     ? Stream::upstream
             : spec.stream == config::Stream::downstream ? Stream::downstream
                                                         : Stream::both;
  f.toxicity = spec.toxicity;
  f.after = std::chrono::duration_cast<microseconds>(spec.after);
  if (spec.duration) f.duration = std::chrono::duration_cast<microseconds>(*spec.duration);
  f.connections = spec.connections.to_string();
  for (const auto& [key, value] : spec.attributes)
    f.attributes[key] = value.text;
  return f;
}

}  // namespace embed
}  // namespace faultline
