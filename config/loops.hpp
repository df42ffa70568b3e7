// Proxies that would dial themselves. A proxy whose upstream is its own listen address (or
// another proxy of the same process whose upstream leads back to it) turns one client
// connection into an endless chain of connections that ends only when descriptors run out.
// One check for every way proxies come to be: the loader (file:line:col at the upstream),
// the control layer (the API's 400) and hence --check and reloads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace faultline::config {

struct LoopNode {
  std::string name;
  Endpoint listen;  // where it listens (the bound port when known)
  Endpoint upstream;
};

struct Loop {
  std::size_t proxy = 0;  // the node whose upstream closes the loop (the first one listed)
  std::string message;    // "expected an upstream that does not lead back ...: ..."
};

// The first loop among the nodes, if any. Names in upstreams are not looked up (no DNS here),
// except "localhost". A wildcard listen (0.0.0.0, ::) is reached through a loopback address,
// 0.0.0.0/:: (which dial the local host) or any address of this machine's interfaces.
std::optional<Loop> find_loop(const std::vector<LoopNode>& nodes);

}  // namespace faultline::config
