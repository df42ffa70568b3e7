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
  virtual asio::awaitable<void> sleep_until(Clock::time_point t) = 0;  // throws on cancel
  // When the fault was put on the listener (its `after` and `duration` count from here).
  virtual Clock::time_point started_at() const = 0;

  virtual std::uint64_t active_connections() const = 0;
  // Resumes when active_connections() satisfies `at_least ? >= n : < n`, or at the deadline;
  // returns whether the condition holds.
  virtual asio::awaitable<bool> wait_connections(bool at_least, std::uint64_t n,
                                                 Clock::time_point deadline) = 0;

  // Stop calling accept(2) and shorten the kernel's accept queue to `backlog`: once it is
  // full, new clients' SYNs go unanswered and their connect() times out.
  virtual void stall(int backlog) = 0;
  // Accept, then reset at once: connect() succeeds, the first recv fails with ECONNRESET.
  virtual void reset_on_accept() = 0;
  // Close the listening socket: connect() fails with ECONNREFUSED.
  virtual void refuse() = 0;
  // Back to normal accepting on the same address (reopening it if refused).
  virtual void resume() = 0;

  virtual void fired(std::string_view detail) = 0;
};

class ListenerFault {
 public:
  virtual ~ListenerFault() = default;
  // Runs for as long as the fault is on the listener; cancelled when it is removed or the
  // listener closes.
  virtual asio::awaitable<void> run(ListenerControl& control) = 0;
};

}  // namespace faultline::faults
