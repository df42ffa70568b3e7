// The pump's fast path for a direction with no fault on (Linux): splice(2) moves the bytes
// socket -> pipe -> socket inside the kernel, so they are never copied into user space. The
// pipe is taken from a per-thread pool when bytes arrive and given back once it is empty
// again, so an idle connection holds no pipe and no descriptors for one.
#pragma once

#include <cstddef>

#include <asio/awaitable.hpp>
#include <asio/error_code.hpp>
#include <asio/ip/tcp.hpp>

namespace faultline::proxy {

struct SpliceResult {
  enum class Status {
    moved,        // `bytes` went from `from` to `to`
    would_block,  // `from` has nothing to read now
    eof,          // `from` sent FIN
    read_error,   // on `from` (`error`)
    write_error,  // on `to` (`error`; operation_aborted when the connection was cancelled)
    unavailable,  // no pipe (out of descriptors) or splice unsupported: use buffers
  };
  Status status = Status::unavailable;
  std::size_t bytes = 0;  // read from `from`
  asio::error_code error;
};

// Moves what `from` has ready now (up to the pipe's size) to `to`, waiting for room in `to`
// when it is full; returns once the pipe is empty again, or on error. Both sockets must be
// non-blocking and belong to the current coroutine's executor.
asio::awaitable<SpliceResult> splice_once(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to);

// False where splice(2) does not exist (Windows: proxy/platform/windows/splice_relay.cpp).
bool splice_available();

}  // namespace faultline::proxy
