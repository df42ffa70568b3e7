// GET /metrics: the proxies' live counters in the Prometheus text exposition format (0.0.4).
#pragma once

#include <string>
#include <vector>

#include "control/server.hpp"

namespace faultline::api {

using control::ProxyView;

// Every metric is prefixed faultline_ and carries HELP and TYPE lines; per proxy (and per
// direction, close cause or fault type where that applies).
std::string render_metrics(const std::vector<ProxyView>& proxies, const std::string& version);

// The content type Prometheus expects for that text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace faultline::api
