#include "tests/support/sock_diag.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace faultline::test {
namespace {

// Dumps one address family into `out`; false when the kernel refused or the reply was cut.
bool dump_family(int nl, std::uint8_t family, std::vector<TcpSocketInfo>& out) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = family;
  message.request.sdiag_protocol = IPPROTO_TCP;
  message.request.idiag_states = 1u << TCP_ESTABLISHED;
  message.request.idiag_ext = 1u << (INET_DIAG_CONG - 1);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof message)) {
    return false;
  }
  alignas(nlmsghdr) char buffer[32 * 1024];
  for (;;) {
    // MSG_TRUNC: n is the datagram's full length, so a reply bigger than the buffer shows.
    const ssize_t n = ::recv(nl, buffer, sizeof buffer, MSG_TRUNC);
    if (n <= 0 || static_cast<std::size_t>(n) > sizeof buffer) return false;
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return true;
      if (h->nlmsg_type == NLMSG_ERROR) return false;
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      const auto* diag = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      TcpSocketInfo info;
      info.local_port = ntohs(diag->id.idiag_sport);
      info.peer_port = ntohs(diag->id.idiag_dport);
      int attr_left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *diag));
      for (auto* a = reinterpret_cast<const rtattr*>(diag + 1); RTA_OK(a, attr_left);
           a = RTA_NEXT(a, attr_left)) {
        if (a->rta_type != INET_DIAG_CONG) continue;
        const auto* name = static_cast<const char*>(RTA_DATA(a));
        info.congestion.assign(name, ::strnlen(name, RTA_PAYLOAD(a)));
      }
      out.push_back(std::move(info));
    }
  }
}

}  // namespace

std::vector<TcpSocketInfo> established_tcp_sockets() {
  std::vector<TcpSocketInfo> out;
  const int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return out;
  if (!dump_family(nl, AF_INET, out) || !dump_family(nl, AF_INET6, out)) out.clear();
  ::close(nl);
  return out;
}

}  // namespace faultline::test
