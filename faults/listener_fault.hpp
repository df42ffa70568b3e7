// Faults that act on a proxy's listener rather than on a connection's bytes: they decide
// whether and how new clients are accepted (a full accept queue, resets at accept, refusal).
// They see a ListenerControl, never the acceptor itself.
#pragma once

#include <cstdint>
#include <string_view>

#include <asio/awaitable.hpp>

#include "faults/fault.hpp"

namespace faultline::faults {

class ListenerControl {
 public:
  virtual ~ListenerControl() = default;
  virtual Clock::time_point now() const = 0;
  virtual asio::awaitable<void> sleep_until(Clock::time_point t) = 0;
  // When the fault was added to the proxy (its `after` and `duration` count from here).
  virtual Clock::time_point started_at() const = 0;
  virtual std::uint64_t active_connections() const = 0;
  virtual void set_backlog(int backlog) = 0;  // listen(2) again with this queue length
  virtual void close_listener() = 0;          // new connects get ECONNREFUSED
  virtual bool reopen_listener() = 0;         // same address; false if it cannot be bound
  virtual void fired(std::string_view detail) = 0;
};

enum class AcceptVerdict {
  accept,  // relay as usual
  reset,   // the client's connect() succeeded; reset it at once (first recv: ECONNRESET)
};

class ListenerFault {
 public:
  virtual ~ListenerFault() = default;
  // Awaited before each accept(): may hold the accept loop (the kernel queue fills) or close
  // the listening socket for a while. Returns once accepting may go on.
  virtual asio::awaitable<void> before_accept(ListenerControl& control) = 0;
  virtual AcceptVerdict on_accepted(ListenerControl& control) = 0;
};

}  // namespace faultline::faults
