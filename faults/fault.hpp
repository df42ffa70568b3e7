// The fault pipeline's vocabulary. A fault sees chunks (what one read returned, with the time
// it arrived) and hands them to the next Sink; it never sees a socket. Awaiting next.write()
// is the backpressure: a stage that has not handed on its chunk stops the reader.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string_view>
#include <type_traits>
#include <utility>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

namespace faultline::faults {

using Clock = std::chrono::steady_clock;

// std::allocator that leaves bytes uninitialised on resize: a read buffer is filled by the
// kernel, and zeroing 64 KiB per read would cost more than the copy it avoids.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<std::byte, UninitializedAllocator<std::byte>>;

struct Chunk {
  Bytes bytes;
  Clock::time_point received_at;
};

// How a connection-level action ends the connection.
enum class Abort {
  reset,  // RST: SO_LINGER {1, 0} then close; the peer's next recv/send fails with ECONNRESET
  close,  // FIN on both sockets
};

// Which socket an abort targets; the other one is closed with a FIN.
enum class Peer { client, upstream, both };

// The next stage, or the socket at the end of the pipeline.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual asio::awaitable<void> write(Chunk chunk) = 0;  // resumes when accepted
  virtual asio::awaitable<void> finish() = 0;            // EOF: shutdown(send) at the end
  virtual asio::awaitable<void> abort(Abort how, Peer who) = 0;
};

// A condition a fault's coroutines can wait on with a deadline (e.g. "more data arrived" for
// coalesce). Notifying wakes the waiter; a notification with no waiter is kept for the next.
class Signal {
 public:
  void notify() {
    notified_ = true;
    if (wake_) wake_();
  }
  bool consume() { return std::exchange(notified_, false); }
  void set_waker(std::function<void()> wake) { wake_ = std::move(wake); }

 private:
  bool notified_ = false;
  std::function<void()> wake_;
};

// What a fault may ask of its connection: time (virtual in unit tests), randomness drawn from
// the configured seed, and the window in which its conditions (`after`, `duration`) hold.
class FaultContext {
 public:
  virtual ~FaultContext() = default;
  virtual Clock::time_point now() const = 0;
  virtual asio::awaitable<void> sleep_until(Clock::time_point t) = 0;
  asio::awaitable<void> sleep_for(Clock::duration d) { return sleep_until(now() + d); }
  // Waits until `signal` is notified (true) or the deadline passes (false).
  virtual asio::awaitable<bool> wait(Signal& signal, Clock::time_point deadline) = 0;
  virtual std::mt19937_64& rng() = 0;
  // When the EOF now being handled by on_eof() arrived at this stage (behind a queue, this is
  // earlier than now()).
  virtual Clock::time_point eof_received_at() const = 0;

  virtual Clock::time_point connected_at() const = 0;
  virtual Clock::time_point active_from() const = 0;   // connected_at + after
  virtual Clock::time_point active_until() const = 0;  // time_point::max() when unbounded
  bool active_at(Clock::time_point t) const { return t >= active_from() && t < active_until(); }

  // "[C7] fault reset_peer fired (client) after 2.000s": one line per firing, and a metric.
  virtual void fired(std::string_view detail) = 0;

  // Bytes a fault holds beyond the chunk in hand (e.g. coalesce's merged buffer) come out of
  // the process's memory budget: hold() waits until they may be held (the reader waits
  // meanwhile), release() gives them back. Whatever is still held when the fault goes away is
  // given back for it.
  virtual asio::awaitable<void> hold(std::size_t bytes);
  virtual void release(std::size_t bytes);
};

// One instance per connection and direction, created by the fault's factory.
class Fault {
 public:
  virtual ~Fault() = default;

  // >0: a bounded queue of that many chunks sits in front of this stage, so a stage that
  // sleeps (latency) does not stop the reader and its sleeps overlap instead of adding up.
  virtual std::size_t buffer_chunks() const { return 0; }
  // The most bytes (buffer capacity) that queue holds; past it the reader waits, so TCP holds
  // the sender back and a peer that never reads costs at most this much memory.
  virtual std::size_t buffer_bytes() const { return std::size_t{16} << 20; }

  virtual asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx);
  virtual asio::awaitable<void> on_eof(Sink& next, FaultContext& ctx);
  // Runs beside the data path for the connection's lifetime (timers that fire on an idle
  // connection); returns when it has nothing more to do.
  virtual asio::awaitable<void> watch(Sink& next, FaultContext& ctx);
  // Connection-scoped faults only: runs before the proxy dials the upstream.
  virtual asio::awaitable<void> before_dial(FaultContext& ctx);
  // The connection's fault set is changing under live traffic: hand on anything held back
  // (e.g. coalesced bytes) so that no byte is lost or reordered by the change. Data may
  // still come through this fault afterwards if it stays in the new set.
  virtual asio::awaitable<void> on_handover(Sink& next, FaultContext& ctx);
};

}  // namespace faultline::faults
