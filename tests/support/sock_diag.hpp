// The kernel's table of established TCP sockets in this network namespace, read over
// NETLINK_SOCK_DIAG (what `ss -ti` shows). A snapshot taken by the kernel: unlike scanning
// /proc/self/fd it never touches a descriptor another thread may be closing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace faultline::test {

struct TcpSocketInfo {
  std::uint16_t local_port = 0;
  std::uint16_t peer_port = 0;
  std::string congestion;  // the algorithm's name; empty when the kernel did not report one
};

// Every ESTABLISHED TCP socket (IPv4 and IPv6) in this network namespace. Empty when the
// query fails (no sock_diag in the kernel).
std::vector<TcpSocketInfo> established_tcp_sockets();

}  // namespace faultline::test
