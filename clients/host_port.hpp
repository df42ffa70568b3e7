// "HOST:PORT" as the apps take it on the command line; "[::1]:7000" for IPv6.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace faultline::clients {

struct HostPort {
  std::string host;
  std::string port;
};

inline std::optional<HostPort> split_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return std::nullopt;
  for (const char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  if (port.size() > 5 || std::stoul(std::string(port)) > 65535) return std::nullopt;
  return HostPort{std::string(host), std::string(port)};
}

}  // namespace faultline::clients
