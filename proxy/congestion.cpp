#include "proxy/congestion.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#ifdef __linux__
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace faultline::proxy {
namespace {

constexpr std::string_view kLoopbackAlgorithm = "reno";

#ifdef __linux__
std::string sysctl_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}
#endif

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
#ifdef __linux__
  if (text.empty() || text.size() >= 16) {  // TCP_CA_NAME_MAX, the kernel's limit
    return "expected auto, system or an algorithm's name (e.g. cubic), got \"" + std::string(text) +
           "\"";
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("cannot open a socket to try it: ") + std::strerror(errno);
  std::string error;
  const bool ok = set_congestion(fd, text, error);
  const int err = errno;
  ::close(fd);
  if (ok) return "";
  const std::string name(text);
  if (err == ENOENT) {
    return "no congestion control \"" + name + "\" in this kernel (available: " +
           sysctl_line("/proc/sys/net/ipv4/tcp_available_congestion_control") +
           "); or auto, system";
  }
  if (err == EPERM) {
    const std::string allowed = sysctl_line("/proc/sys/net/ipv4/tcp_allowed_congestion_control");
    return "\"" + name + "\" is not allowed for this user (allowed: " + allowed +
           "); run as root or add it to net.ipv4.tcp_allowed_congestion_control";
  }
  return "\"" + name + "\": " + error;
#else
  return "only auto and system exist on this platform, got \"" + std::string(text) + "\"";
#endif
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
      return is_loopback(peer) ? kLoopbackAlgorithm : std::string_view();
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

#ifdef __linux__
bool set_congestion(int fd, std::string_view algorithm, std::string& error) {
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algorithm.data(),
                   static_cast<socklen_t>(algorithm.size())) == 0) {
    return true;
  }
  error = std::strerror(errno);
  return false;
}

std::string congestion_of(int fd) {
  char name[32] = {};
  socklen_t size = sizeof name - 1;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &size) != 0) return "";
  return std::string(name, ::strnlen(name, size));
}
#else
bool set_congestion(int, std::string_view, std::string& error) {
  error = "not supported on this platform";
  return false;
}

std::string congestion_of(int) {
  return "";
}
#endif

}  // namespace faultline::proxy
