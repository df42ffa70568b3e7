#include "app/ctl.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "faults/registry.hpp"

namespace faultline::app {
namespace {

using json = nlohmann::ordered_json;

// The fault types and their declared attributes: the units attributes are shown in.
const faults::FaultRegistry& registry() {
  static const faults::FaultRegistry r = [] {
    faults::FaultRegistry reg;
    faults::register_builtin_faults(reg);
    return reg;
  }();
  return r;
}

// Thrown to end the command with a message and exit status 1.
struct Failure {
  std::string message;
};

class Client {
 public:
  Client(const std::string& api, const std::string& token, const std::string& user_agent)
      : api_(api) {
    auto ep = config::parse_endpoint(api);
    if (!ep || ep->port == 0)
      throw Failure{fmt::format("--api: expected HOST:PORT, got \"{}\"", api)};
    cli_ = std::make_unique<httplib::Client>(ep->host.empty() ? "127.0.0.1" : ep->host, ep->port);
    cli_->set_connection_timeout(3, 0);
    cli_->set_read_timeout(15, 0);
    cli_->set_write_timeout(15, 0);
    headers_ = {{"User-Agent", user_agent}};
    if (!token.empty()) headers_.emplace("Authorization", "Bearer " + token);
  }

  // Sends a request; returns the body as JSON (null for an empty body). Non-2xx: Failure.
  json call(const std::string& method, const std::string& path,
            const std::optional<json>& body = std::nullopt) {
    std::string text = body ? body->dump() : "";
    httplib::Result r = method == "GET"      ? cli_->Get(path.c_str(), headers_)
                        : method == "DELETE" ? cli_->Delete(path.c_str(), headers_)
                        : method == "PATCH"
                            ? cli_->Patch(path.c_str(), headers_, text, "application/json")
                            : cli_->Post(path.c_str(), headers_, text, "application/json");
    if (!r) {
      throw Failure{fmt::format("cannot reach the control API at {}: {}", api_,
                                httplib::to_string(r.error()))};
    }
    json parsed;
    if (!r->body.empty()) {
      parsed = json::parse(r->body, nullptr, false);
      if (parsed.is_discarded()) parsed = r->body;  // /metrics: text
    }
    if (r->status >= 400) {
      std::string message =
          parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()
              ? parsed["error"].get<std::string>()
              : r->body;
      throw Failure{fmt::format("{} (HTTP {})", message, r->status)};
    }
    return parsed;
  }

 private:
  std::string api_;
  std::unique_ptr<httplib::Client> cli_;
  httplib::Headers headers_;
};

// "--attr latency=100": numbers and booleans as JSON values (Toxiproxy's units), anything else
// ("100ms", "64KiB", "normal") as a string.
json attributes(const std::vector<std::string>& attrs) {
  json out = json::object();
  for (const auto& a : attrs) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Failure{fmt::format("--attr: expected KEY=VALUE, got \"{}\"", a)};
    }
    std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    json v = json::parse(value, nullptr, false);
    out[key] = (!v.is_discarded() && (v.is_number() || v.is_boolean())) ? v : json(value);
  }
  return out;
}

// An attribute as the API shows it, with the unit its number is in (latency 100 -> "100ms",
// slicer delay 10 -> "10us", rate 100 -> "100KB/s"), as a YAML file would write it.
std::string attribute_text(const std::string& type, const std::string& key, const json& v) {
  if (v.is_string()) return v.get<std::string>();
  const faults::AttributeSpec* declared = registry().attribute(type, key);
  if (v.is_number() && declared) return faults::text_from_api_number(declared->api_unit, v.dump());
  return v.dump();
}

std::string toxic_summary(const json& t) {
  std::string attrs;
  if (t.contains("attributes")) {
    const std::string type = t.value("type", "");
    for (const auto& [k, v] : t["attributes"].items()) {
      attrs += fmt::format("{}{}={}", attrs.empty() ? "" : ", ", k, attribute_text(type, k, v));
    }
  }
  return fmt::format("{} ({}, {}, toxicity {}{}{})", t.value("name", "?"), t.value("type", "?"),
                     t.value("stream", "?"), t.contains("toxicity") ? t["toxicity"].dump() : "?",
                     attrs.empty() ? "" : ": ", attrs);
}

void print_proxy(const json& p) {
  std::cout << fmt::format("{}  listen {}  upstream {}  {}\n", p.value("name", "?"),
                           p.value("listen", "?"), p.value("upstream", "?"),
                           p.value("enabled", false) ? "enabled" : "DISABLED");
  if (p.contains("toxics")) {
    for (const auto& t : p["toxics"])
      std::cout << "    " << toxic_summary(t) << "\n";
  }
}

}  // namespace

struct Ctl::Args {
  std::string api;
  std::string token;
  bool json_output = false;
  std::string name, toxic, listen, upstream, type, stream, toxic_name;
  std::optional<double> toxicity;
  std::vector<std::string> attrs;
  bool disabled = false;

  CLI::App *list = nullptr, *show = nullptr, *create = nullptr, *toggle = nullptr,
           *enable = nullptr, *disable = nullptr, *remove = nullptr, *toxics = nullptr,
           *toxic_list = nullptr, *toxic_add = nullptr, *toxic_update = nullptr,
           *toxic_remove = nullptr, *reset = nullptr, *reload = nullptr, *metrics = nullptr,
           *version = nullptr;
};

Ctl::Ctl(CLI::App& app, std::string version)
    : args_(std::make_unique<Args>()), version_(std::move(version)) {
  Args& a = *args_;
  ctl_ = app.add_subcommand("ctl", "drive a running faultline through its control API");
  ctl_->require_subcommand(1);
  ctl_->add_option("--api", a.api, "the API's HOST:PORT (default $FAULTLINE_API or 127.0.0.1:8474)")
      ->envname("FAULTLINE_API");
  ctl_->add_option("--token", a.token, "the API token (default $FAULTLINE_TOKEN)")
      ->envname("FAULTLINE_TOKEN");
  ctl_->add_flag("--json", a.json_output, "print the server's JSON instead of a summary");

  a.list = ctl_->add_subcommand("list", "list the proxies and their toxics");
  a.show = ctl_->add_subcommand("show", "show one proxy");
  a.show->add_option("name", a.name, "proxy")->required();
  a.create = ctl_->add_subcommand("create", "create a proxy");
  a.create->add_option("name", a.name, "proxy")->required();
  a.create->add_option("--listen", a.listen, "HOST:PORT to listen on (default 127.0.0.1:0)");
  a.create->add_option("--upstream", a.upstream, "HOST:PORT to relay to")->required();
  a.create->add_flag("--disabled", a.disabled, "create it disabled");
  a.toggle = ctl_->add_subcommand("toggle", "enable a disabled proxy, disable an enabled one");
  a.toggle->add_option("name", a.name, "proxy")->required();
  a.enable = ctl_->add_subcommand("enable", "enable a proxy");
  a.enable->add_option("name", a.name, "proxy")->required();
  a.disable =
      ctl_->add_subcommand("disable", "disable a proxy (closes its listener and connections)");
  a.disable->add_option("name", a.name, "proxy")->required();
  a.remove = ctl_->add_subcommand("delete", "delete a proxy");
  a.remove->add_option("name", a.name, "proxy")->required();

  a.toxics = ctl_->add_subcommand("toxic", "list, add, update or remove a proxy's toxics");
  a.toxics->require_subcommand(1);
  a.toxic_list = a.toxics->add_subcommand("list", "list a proxy's toxics");
  a.toxic_list->add_option("name", a.name, "proxy")->required();
  a.toxic_add = a.toxics->add_subcommand("add", "add a toxic");
  a.toxic_add->add_option("name", a.name, "proxy")->required();
  a.toxic_add
      ->add_option("--type,-t", a.type,
                   fmt::format("one of {} (or an alias)", fmt::join(registry().type_names(), ", ")))
      ->required();
  a.toxic_add->add_option("--name,-n", a.toxic_name, "the toxic's name (default TYPE_STREAM)");
  a.toxic_add->add_option("--stream,-s", a.stream, "upstream, downstream (default) or both");
  a.toxic_add->add_option("--toxicity", a.toxicity, "0..1 (default 1)");
  a.toxic_add->add_option("--attr,-a", a.attrs,
                          "KEY=VALUE, numbers in Toxiproxy's units (latency=100 is 100 ms, "
                          "slicer delay=10 is 10 us, rate=100 is 100 KB/s) or text with units "
                          "(latency=100ms)");
  a.toxic_update = a.toxics->add_subcommand("update", "change a toxic's attributes or toxicity");
  a.toxic_update->add_option("name", a.name, "proxy")->required();
  a.toxic_update->add_option("toxic", a.toxic, "toxic")->required();
  a.toxic_update->add_option("--toxicity", a.toxicity, "0..1");
  a.toxic_update->add_option("--attr,-a", a.attrs, "KEY=VALUE (merged into the attributes)");
  a.toxic_remove = a.toxics->add_subcommand("remove", "remove a toxic");
  a.toxic_remove->add_option("name", a.name, "proxy")->required();
  a.toxic_remove->add_option("toxic", a.toxic, "toxic")->required();

  a.reset = ctl_->add_subcommand("reset", "enable every proxy and remove every toxic");
  a.reload = ctl_->add_subcommand("reload", "re-read the config file (like SIGHUP)");
  a.metrics = ctl_->add_subcommand("metrics", "print the Prometheus metrics");
  a.version = ctl_->add_subcommand("version", "print the server's version");
}

Ctl::~Ctl() = default;

bool Ctl::selected() const {
  return ctl_->parsed();
}

int Ctl::run() const {
  const Args& a = *args_;
  auto out = [&](const json& j) { std::cout << j.dump(2) << "\n"; };
  try {
    Client c(a.api.empty() ? "127.0.0.1:8474" : a.api, a.token, "faultline-ctl/" + version_);
    const std::string proxy = "/proxies/" + a.name;
    if (a.list->parsed()) {
      json r = c.call("GET", "/proxies");
      if (a.json_output) return out(r), 0;
      if (r.empty()) std::cout << "no proxies\n";
      for (const auto& [name, p] : r.items())
        print_proxy(p);
    } else if (a.show->parsed()) {
      json r = c.call("GET", proxy);
      a.json_output ? out(r) : print_proxy(r);
    } else if (a.create->parsed()) {
      json body{{"name", a.name}, {"upstream", a.upstream}, {"enabled", !a.disabled}};
      if (!a.listen.empty()) body["listen"] = a.listen;
      json r = c.call("POST", "/proxies", body);
      a.json_output ? out(r) : print_proxy(r);
    } else if (a.toggle->parsed() || a.enable->parsed() || a.disable->parsed()) {
      bool enabled = a.enable->parsed();
      if (a.toggle->parsed()) enabled = !c.call("GET", proxy).value("enabled", true);
      json r = c.call("PATCH", proxy, json{{"enabled", enabled}});
      if (a.json_output) return out(r), 0;
      std::cout << "proxy " << a.name << (enabled ? " enabled" : " disabled") << "\n";
    } else if (a.remove->parsed()) {
      c.call("DELETE", proxy);
      std::cout << "proxy " << a.name << " deleted\n";
    } else if (a.toxic_list->parsed()) {
      json r = c.call("GET", proxy + "/toxics");
      if (a.json_output) return out(r), 0;
      if (r.empty()) std::cout << "no toxics\n";
      for (const auto& t : r)
        std::cout << toxic_summary(t) << "\n";
    } else if (a.toxic_add->parsed()) {
      json body{{"type", a.type}, {"attributes", attributes(a.attrs)}};
      if (!a.toxic_name.empty()) body["name"] = a.toxic_name;
      if (!a.stream.empty()) body["stream"] = a.stream;
      if (a.toxicity) body["toxicity"] = *a.toxicity;
      json r = c.call("POST", proxy + "/toxics", body);
      if (a.json_output) return out(r), 0;
      std::cout << "added " << toxic_summary(r) << "\n";
    } else if (a.toxic_update->parsed()) {
      json body{{"attributes", attributes(a.attrs)}};
      if (a.toxicity) body["toxicity"] = *a.toxicity;
      json r = c.call("PATCH", proxy + "/toxics/" + a.toxic, body);
      if (a.json_output) return out(r), 0;
      std::cout << "updated " << toxic_summary(r) << "\n";
    } else if (a.toxic_remove->parsed()) {
      c.call("DELETE", proxy + "/toxics/" + a.toxic);
      std::cout << "toxic " << a.toxic << " removed from " << a.name << "\n";
    } else if (a.reset->parsed()) {
      c.call("POST", "/reset");
      std::cout << "reset: every proxy enabled, every toxic removed\n";
    } else if (a.reload->parsed()) {
      json r = c.call("POST", "/reload");
      a.json_output ? out(r) : void(std::cout << r.value("message", "reloaded") << "\n");
    } else if (a.metrics->parsed()) {
      json r = c.call("GET", "/metrics");
      std::cout << (r.is_string() ? r.get<std::string>() : r.dump());
    } else if (a.version->parsed()) {
      json r = c.call("GET", "/version");
      if (a.json_output) return out(r), 0;
      std::cout << "faultline " << r.value("faultline", "?") << " (Toxiproxy API "
                << r.value("version", "?") << ")\n";
    }
    return 0;
  } catch (const Failure& f) {
    std::cerr << "faultline ctl: " << f.message << "\n";
    return 1;
  }
}

}  // namespace faultline::app
