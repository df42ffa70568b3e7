// Which TCP congestion control the proxy's own legs (client side and upstream side) use.
//
// Where BBR is the system's default, every segment a socket sends is paced by a model of the
// path's bandwidth. Loopback has no bottleneck to model: through the relay that model and its
// timers cost about 40 % of the throughput and add timing of the kernel's own to the bytes
// (docs/performance.md). `auto` puts loopback legs on reno (built into every kernel, allowed
// for every user, never paces) and leaves every other leg to the system; a name puts every leg
// on that algorithm; `system` leaves the sockets alone.
#pragma once

#include <string>
#include <string_view>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

namespace faultline::proxy {

class CongestionPolicy {
 public:
  enum class Mode { automatic, system, named };

  CongestionPolicy() = default;  // auto
  // "auto", "system" or an algorithm's name; check() says whether a name can be used here.
  static CongestionPolicy parse(std::string_view text);
  // Empty when `text` can be used on this machine, else why not, e.g.
  //   no congestion control "vegas" in this kernel (available: reno cubic); or auto, system
  static std::string check(std::string_view text);

  Mode mode() const { return mode_; }
  std::string to_string() const;  // as parsed: "auto", "system", "cubic"

  // The algorithm for a leg whose far end is `peer`; empty: leave the socket alone. Set on a
  // listening socket, it passes to every socket accepted there (see Listener).
  std::string_view for_peer(const asio::ip::address& peer) const;

 private:
  Mode mode_ = Mode::automatic;
  std::string name_;
};

// Sets `algorithm` on a TCP socket: before connect or listen, or on an open connection. Both
// are per platform (proxy/platform/): Windows has no choice of algorithm and always fails.
bool set_congestion(asio::ip::tcp::socket::native_handle_type fd, std::string_view algorithm,
                    std::string& error);
// The socket's algorithm, or empty when it cannot be read (not Linux, not TCP).
std::string congestion_of(asio::ip::tcp::socket::native_handle_type fd);
// A loopback address, IPv4-mapped IPv6 included (asio's is_loopback() misses ::ffff:127.x).
bool is_loopback(const asio::ip::address& address);

}  // namespace faultline::proxy
