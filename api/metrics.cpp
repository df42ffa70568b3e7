#include "api/metrics.hpp"

#include <functional>

#include <fmt/format.h>

namespace faultline::api {

using proxy::CloseCause;
using proxy::Direction;
using proxy::kCloseCauses;
using proxy::to_string;
namespace {

// A label value: backslash, double quote and newline escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const std::vector<ProxyView>& proxies) : proxies_(proxies) {}

  // One metric family: its header, then each proxy's samples from `each`.
  void family(std::string_view name, std::string_view type, std::string_view help,
              const std::function<void(const ProxyView&, const std::string&)>& each) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
    name_ = name;
    for (const auto& p : proxies_)
      each(p, fmt::format("proxy=\"{}\"", label(p.name)));
  }

  void sample(const std::string& labels, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name_, labels, value);
  }

  std::string& out() { return out_; }

 private:
  const std::vector<ProxyView>& proxies_;
  std::string out_;
  std::string name_;
};

std::uint64_t load(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

}  // namespace

std::string render_metrics(const std::vector<ProxyView>& proxies, const std::string& version) {
  Writer w(proxies);
  w.out() += fmt::format(
      "# HELP faultline_build_info The running faultline version.\n"
      "# TYPE faultline_build_info gauge\n"
      "faultline_build_info{{version=\"{}\"}} 1\n",
      label(version));
  const std::array<Direction, 2> dirs{Direction::upstream, Direction::downstream};
  w.family("faultline_proxy_enabled", "gauge", "1 while the proxy listens, 0 while disabled.",
           [&](const ProxyView& p, const std::string& l) { w.sample(l, p.enabled ? 1 : 0); });
  w.family("faultline_proxy_faults", "gauge", "Faults (toxics) configured on the proxy.",
           [&](const ProxyView& p, const std::string& l) { w.sample(l, p.faults.size()); });
  w.family("faultline_bytes_total", "counter",
           "Bytes relayed, by direction (upstream: client to server).",
           [&](const ProxyView& p, const std::string& l) {
             for (auto d : dirs) {
               w.sample(fmt::format("{},direction=\"{}\"", l, to_string(d)),
                        load(p.state->stats.bytes[static_cast<int>(d)]));
             }
           });
  w.family("faultline_chunks_total", "counter", "Reads relayed, by direction.",
           [&](const ProxyView& p, const std::string& l) {
             for (auto d : dirs) {
               w.sample(fmt::format("{},direction=\"{}\"", l, to_string(d)),
                        load(p.state->stats.chunks[static_cast<int>(d)]));
             }
           });
  w.family(
      "faultline_connections_active", "gauge", "Connections open through the proxy now.",
      [&](const ProxyView& p, const std::string& l) { w.sample(l, load(p.state->stats.active)); });
  w.family("faultline_connections_accepted_total", "counter", "Connections accepted.",
           [&](const ProxyView& p, const std::string& l) {
             w.sample(l, load(p.state->stats.accepted));
           });
  w.family("faultline_connections_closed_total", "counter",
           "Connections ended, by cause (fin, rst, error, fault, shutdown).",
           [&](const ProxyView& p, const std::string& l) {
             for (std::size_t c = 0; c < kCloseCauses; ++c) {
               w.sample(fmt::format("{},cause=\"{}\"", l, to_string(static_cast<CloseCause>(c))),
                        load(p.state->stats.closed[c]));
             }
           });
  w.family("faultline_upstream_failures_total", "counter",
           "Upstream dials that failed (refused, unreachable, timed out).",
           [&](const ProxyView& p, const std::string& l) {
             w.sample(l, load(p.state->stats.upstream_failures));
           });
  w.family("faultline_faults_fired_total", "counter", "Fault firings, by fault type.",
           [&](const ProxyView& p, const std::string& l) {
             for (const auto& [type, n] : p.state->stats.fired()) {
               w.sample(fmt::format("{},type=\"{}\"", l, label(type)), n);
             }
           });
  return std::move(w.out());
}

}  // namespace faultline::api
