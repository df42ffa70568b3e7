#include "config/loops.hpp"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

namespace faultline::config {
namespace {

// An IP address without a library: IPv4 kept as IPv4-mapped IPv6, so both compare alike.
struct Ip {
  std::array<unsigned char, 16> bytes{};
  bool v4 = false;

  bool operator==(const Ip&) const = default;
  bool unspecified() const {
    return std::all_of(bytes.begin() + (v4 ? 12 : 0), bytes.end(),
                       [](unsigned char b) { return b == 0; });
  }
  bool loopback() const {
    if (v4) return bytes[12] == 127;
    static const Ip one = [] {
      Ip ip;
      ip.bytes[15] = 1;
      return ip;
    }();
    return *this == one;
  }
};

Ip from_v4(const in_addr& a) {
  Ip ip;
  ip.v4 = true;
  ip.bytes[10] = ip.bytes[11] = 0xff;
  std::memcpy(ip.bytes.data() + 12, &a, 4);
  return ip;
}

Ip from_v6(const in6_addr& a) {
  Ip ip;
  std::memcpy(ip.bytes.data(), &a, 16);
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  ip.v4 = std::memcmp(ip.bytes.data(), kMapped, 12) == 0;
  return ip;
}

// The addresses a host string stands for; empty for a name (not looked up).
std::vector<Ip> addresses_of(const std::string& host) {
  in_addr a4{};
  in6_addr a6{};
  if (host == "localhost") {
    Ip v4 = from_v4(in_addr{htonl(INADDR_LOOPBACK)});
    return {v4, from_v6(in6addr_loopback)};
  }
  if (::inet_pton(AF_INET, host.c_str(), &a4) == 1) return {from_v4(a4)};
  if (::inet_pton(AF_INET6, host.c_str(), &a6) == 1) return {from_v6(a6)};
  return {};
}

// This machine's interface addresses, read once per check. On Windows none are read: a
// wildcard listen then matches loopback only (a loop through a LAN address is not caught).
std::vector<Ip> local_addresses() {
  std::vector<Ip> out;
#ifndef _WIN32
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      out.push_back(from_v4(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      out.push_back(from_v6(reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr));
    }
  }
  ::freeifaddrs(list);
#endif
  return out;
}

class Reach {
 public:
  // Does a connection to `to` arrive at a listener bound to `at` (same port)?
  bool reaches(const Ip& to, const Ip& at) {
    Ip dest = to;
    if (dest.unspecified()) {  // connect(0.0.0.0) and connect(::) reach the local host
      dest = dest.v4 ? from_v4(in_addr{htonl(INADDR_LOOPBACK)}) : from_v6(in6addr_loopback);
    }
    if (!at.unspecified()) return dest == at;
    // A wildcard: 0.0.0.0 takes IPv4 only, :: both (Linux's default dual stack).
    if (at.v4 && !dest.v4) return false;
    return dest.loopback() || local(dest);
  }

 private:
  bool local(const Ip& ip) {
    if (!local_) local_ = local_addresses();
    return std::find(local_->begin(), local_->end(), ip) != local_->end();
  }
  std::optional<std::vector<Ip>> local_;
};

}  // namespace

std::optional<Loop> find_loop(const std::vector<LoopNode>& nodes) {
  // Edges: node -> the proxies its upstream reaches, found through an index by port.
  std::unordered_map<std::uint16_t, std::vector<std::size_t>> by_port;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].listen.port != 0) by_port[nodes[i].listen.port].push_back(i);
  }
  Reach reach;
  std::vector<std::vector<std::size_t>> next(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    auto it = by_port.find(nodes[i].upstream.port);
    if (it == by_port.end()) continue;
    std::vector<Ip> to = addresses_of(nodes[i].upstream.host);
    for (std::size_t j : it->second) {
      std::vector<Ip> at = addresses_of(nodes[j].listen.host);
      bool hit = false;
      for (const Ip& t : to) {
        for (const Ip& a : at)
          hit = hit || reach.reaches(t, a);
      }
      if (hit) next[i].push_back(j);
    }
  }
  // Depth-first, iteratively (a hostile file may chain thousands of proxies).
  enum class Mark { unseen, on_path, done };
  std::vector<Mark> mark(nodes.size(), Mark::unseen);
  for (std::size_t root = 0; root < nodes.size(); ++root) {
    if (mark[root] != Mark::unseen) continue;
    std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};  // node, next edge
    mark[root] = Mark::on_path;
    while (!stack.empty()) {
      auto& [node, edge] = stack.back();
      if (edge == next[node].size()) {
        mark[node] = Mark::done;
        stack.pop_back();
        continue;
      }
      std::size_t to = next[node][edge++];
      if (mark[to] == Mark::unseen) {
        mark[to] = Mark::on_path;
        stack.emplace_back(to, 0);
        continue;
      }
      if (mark[to] != Mark::on_path) continue;
      // A loop: `to` ... node -> to. Name it from the node listed first.
      std::vector<std::size_t> cycle;
      for (auto k = stack.size(); k-- > 0;) {
        cycle.insert(cycle.begin(), stack[k].first);
        if (stack[k].first == to) break;
      }
      auto first = std::min_element(cycle.begin(), cycle.end());
      std::rotate(cycle.begin(), first, cycle.end());
      const LoopNode& head = nodes[cycle.front()];
      Loop loop;
      loop.proxy = cycle.front();
      if (cycle.size() == 1) {
        loop.message = fmt::format(
            "expected an upstream other than this proxy's own listen address, {} is where proxy "
            "\"{}\" listens ({}): each connection would dial itself until descriptors run out",
            head.upstream.to_string(), head.name, head.listen.to_string());
      } else {
        std::string path = fmt::format("\"{}\"", head.name);
        for (std::size_t k = 1; k < cycle.size(); ++k) {
          const LoopNode& n = nodes[cycle[k]];
          path += fmt::format(" -> \"{}\" ({})", n.name, n.listen.to_string());
        }
        path += fmt::format(" -> \"{}\" ({})", head.name, head.listen.to_string());
        loop.message = fmt::format(
            "expected an upstream that does not lead back to this proxy, {} goes round in a loop: "
            "{}; each connection would dial itself until descriptors run out",
            head.upstream.to_string(), path);
      }
      return loop;
    }
  }
  return std::nullopt;
}

}  // namespace faultline::config
