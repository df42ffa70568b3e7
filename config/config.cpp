#include "config/config.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>

namespace faultline::config {

std::string Endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.empty()) return std::nullopt;
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // A bare IPv6 address ("::1:80") is ambiguous: brackets are required.
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  for (char c : host) {
    if (c == '[' || c == ']' || c == '/' || static_cast<unsigned char>(c) <= ' ') {
      return std::nullopt;
    }
  }
  // All digits, no sign, no spaces; from_chars alone would accept a prefix like "80x".
  if (port.empty() || port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(port.data(), port.data() + port.size(), value);
  if (value > 65535) return std::nullopt;
  return Endpoint{host.empty() ? std::string("0.0.0.0") : std::string(host),
                  static_cast<std::uint16_t>(value)};
}

std::string_view to_string(Stream s) {
  switch (s) {
    case Stream::upstream:
      return "upstream";
    case Stream::downstream:
      return "downstream";
    case Stream::both:
      return "both";
  }
  return "unknown";
}

std::optional<Stream> parse_stream(std::string_view text) {
  for (Stream s : {Stream::upstream, Stream::downstream, Stream::both}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kNameMaxLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool ConnectionMatch::matches(std::uint64_t connection_index) const {
  switch (kind) {
    case Kind::all:
      return true;
    case Kind::first:
      return connection_index <= n;
    case Kind::every:
      return n != 0 && connection_index % n == 0;
    case Kind::nth:
      return connection_index == n;
  }
  return false;
}

std::string ConnectionMatch::to_string() const {
  switch (kind) {
    case Kind::all:
      return "all";
    case Kind::first:
      return fmt::format("first: {}", n);
    case Kind::every:
      return fmt::format("every: {}", n);
    case Kind::nth:
      return fmt::format("nth: {}", n);
  }
  return "unknown";
}

}  // namespace faultline::config
