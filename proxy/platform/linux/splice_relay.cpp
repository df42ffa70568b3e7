// splice(2) relay (proxy/splice_relay.hpp), Linux only.
#include "proxy/splice_relay.hpp"

#include <vector>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

namespace faultline::proxy {

namespace {

asio::error_code last_error() {
  return {errno, asio::error::get_system_category()};
}

// Pipes recycled per thread. A pipe given back is empty; one that may still hold bytes (an
// error on the way out) is closed instead, so stale bytes can never reach another connection.
class PipePool {
 public:
  struct Pipe {
    int read = -1;
    int write = -1;
  };

  static PipePool& local() {
    thread_local PipePool pool;
    return pool;
  }

  ~PipePool() {
    for (Pipe& p : free_)
      close(p);
  }

  // false when no pipe can be made (EMFILE, ENFILE): the caller relays through buffers.
  bool take(Pipe& pipe) {
    if (!free_.empty()) {
      pipe = free_.back();
      free_.pop_back();
      return true;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    // A bigger pipe moves more per call. Refused past the per-user pipe budget
    // (fs.pipe-user-pages-soft): the default size still works.
    (void)::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(kPipeSize));
    pipe = {fds[0], fds[1]};
    return true;
  }

  void give(Pipe pipe) {
    if (free_.size() >= kMaxFree) {
      close(pipe);
    } else {
      free_.push_back(pipe);
    }
  }

  static void close(Pipe pipe) {
    ::close(pipe.read);
    ::close(pipe.write);
  }

 private:
  static constexpr std::size_t kPipeSize = 256 * 1024;
  static constexpr std::size_t kMaxFree = 16;
  std::vector<Pipe> free_;
};

constexpr std::size_t kMaxMove = 256 * 1024;

}  // namespace

bool splice_available() {
  return true;
}

asio::awaitable<SpliceResult> splice_once(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
  using Status = SpliceResult::Status;
  PipePool& pool = PipePool::local();
  PipePool::Pipe pipe;
  if (!pool.take(pipe)) co_return SpliceResult{Status::unavailable, 0, {}};

  ssize_t in;
  do {
    in = ::splice(from.native_handle(), nullptr, pipe.write, nullptr, kMaxMove,
                  SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (in < 0 && errno == EINTR);
  if (in <= 0) {
    SpliceResult r{Status::eof, 0, {}};
    if (in < 0) {
      r.error = last_error();
      r.status = errno == EAGAIN                      ? Status::would_block
                 : errno == EINVAL || errno == ENOSYS ? Status::unavailable
                                                      : Status::read_error;
    }
    pool.give(pipe);  // nothing went in
    co_return r;
  }

  // Out: all of it before the next read, so bytes keep their order whichever path the next
  // chunk takes. SIGPIPE on a vanished peer is blocked on the worker threads (splice has no
  // MSG_NOSIGNAL); it comes back as EPIPE.
  auto left = static_cast<std::size_t>(in);
  while (left > 0) {
    ssize_t out = ::splice(pipe.read, nullptr, to.native_handle(), nullptr, left,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (out > 0) {
      left -= static_cast<std::size_t>(out);
      continue;
    }
    if (out < 0 && errno == EINTR) continue;
    if (out < 0 && errno == EAGAIN) {
      auto [ec] = co_await to.async_wait(asio::ip::tcp::socket::wait_write,
                                         asio::experimental::as_tuple(asio::use_awaitable));
      if (!ec) continue;
      PipePool::close(pipe);
      co_return SpliceResult{Status::write_error, static_cast<std::size_t>(in), ec};
    }
    asio::error_code ec = out < 0 ? last_error() : asio::error::broken_pipe;
    PipePool::close(pipe);
    co_return SpliceResult{Status::write_error, static_cast<std::size_t>(in), ec};
  }
  pool.give(pipe);
  co_return SpliceResult{Status::moved, static_cast<std::size_t>(in), {}};
}

}  // namespace faultline::proxy
