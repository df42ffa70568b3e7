// proxy/platform/platform.hpp and the congestion control of proxy/congestion.hpp on Linux.
#include "proxy/platform/platform.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proxy/congestion.hpp"

namespace faultline::proxy {
namespace {

std::string sysctl_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

namespace platform {

void ignore_broken_pipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

void block_broken_pipe_on_this_thread() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

void precise_timers_on_this_thread() {
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void set_listen_options(NativeSocket socket) {
  const int yes = 1;
  ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::optional<int> reload_signal() {
  return SIGHUP;
}

bool congestion_selectable() {
  return true;
}

std::string check_congestion(std::string_view text) {
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
}

std::optional<asio::ip::address> container_gateway() {
  // Docker leaves /.dockerenv in every container (Podman /run/.containerenv); the gateway is
  // the default route's, from the kernel's routing table in hex, little-endian.
  if (::access("/.dockerenv", F_OK) != 0 && ::access("/run/.containerenv", F_OK) != 0) {
    return std::nullopt;
  }
  std::ifstream routes("/proc/net/route");
  std::string line;
  std::getline(routes, line);  // the header
  while (std::getline(routes, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway;
    if (!(fields >> iface >> destination >> gateway) || destination != "00000000") continue;
    const unsigned long raw = std::stoul(gateway, nullptr, 16);
    if (raw == 0) continue;
    const asio::ip::address_v4::bytes_type bytes{static_cast<unsigned char>(raw & 0xff),
                                                 static_cast<unsigned char>((raw >> 8) & 0xff),
                                                 static_cast<unsigned char>((raw >> 16) & 0xff),
                                                 static_cast<unsigned char>((raw >> 24) & 0xff)};
    return asio::ip::address_v4(bytes);
  }
  return std::nullopt;
}

}  // namespace platform

bool set_congestion(platform::NativeSocket fd, std::string_view algorithm, std::string& error) {
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, algorithm.data(),
                   static_cast<socklen_t>(algorithm.size())) == 0) {
    return true;
  }
  error = std::strerror(errno);
  return false;
}

std::string congestion_of(platform::NativeSocket fd) {
  char name[32] = {};
  socklen_t size = sizeof name - 1;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &size) != 0) return "";
  return std::string(name, ::strnlen(name, size));
}

}  // namespace faultline::proxy
