#include "proxy/congestion.hpp"

#include "proxy/platform/platform.hpp"

namespace faultline::proxy {
namespace {

constexpr std::string_view kLoopbackAlgorithm = "reno";

}  // namespace

CongestionPolicy CongestionPolicy::parse(std::string_view text) {
  CongestionPolicy p;
  if (text == "auto") return p;
  if (text == "system") {
    p.mode_ = Mode::system;
    return p;
  }
  p.mode_ = Mode::named;
  p.name_ = std::string(text);
  return p;
}

std::string CongestionPolicy::check(std::string_view text) {
  if (text == "auto" || text == "system") return "";
  return platform::check_congestion(text);
}

std::string CongestionPolicy::to_string() const {
  switch (mode_) {
    case Mode::automatic:
      return "auto";
    case Mode::system:
      return "system";
    case Mode::named:
      return name_;
  }
  return "auto";
}

std::string_view CongestionPolicy::for_peer(const asio::ip::address& peer) const {
  switch (mode_) {
    case Mode::automatic:
      // Where no algorithm can be chosen (Windows) auto is system.
      return is_loopback(peer) && platform::congestion_selectable() ? kLoopbackAlgorithm
                                                                    : std::string_view();
    case Mode::system:
      return {};
    case Mode::named:
      return name_;
  }
  return {};
}

bool is_loopback(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

}  // namespace faultline::proxy
