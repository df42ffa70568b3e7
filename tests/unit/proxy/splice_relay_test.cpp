// splice_once on real loopback sockets: what it reports for each thing a source or a
// destination can do, and that the bytes arrive whole and in order.
#include "proxy/splice_relay.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <csignal>
#include <dirent.h>
#include <future>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "tests/support/net.hpp"

namespace faultline::test {
namespace {

using proxy::SpliceResult;
using Status = SpliceResult::Status;
using asio::ip::tcp;

// A connected loopback pair: `outside` is the test's blocking fd, `inside` an Asio socket
// (non-blocking, as the session's are).
struct Pair {
  Fd outside;
  tcp::socket inside;
};

Pair make_pair(asio::io_context& io) {
  std::uint16_t port = 0;
  Fd listener = listen_tcp(&port);
  Fd outside = connect_tcp(port);
  int fd = ::accept(listener.get(), nullptr, nullptr);
  tcp::socket inside(io);
  inside.assign(tcp::v4(), fd);
  inside.non_blocking(true);
  return {std::move(outside), std::move(inside)};
}

void wait_readable(tcp::socket& s) {
  pollfd p{s.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "not readable within 5 s";
}

SpliceResult run_once(asio::io_context& io, tcp::socket& from, tcp::socket& to) {
  SpliceResult result;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { result = co_await proxy::splice_once(from, to); },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.restart();
  io.run();
  return result;
}

class SpliceOnce : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!proxy::splice_available()) GTEST_SKIP() << "no splice(2) on this platform";
  }
  asio::io_context io_;
  Pair src_ = make_pair(io_);  // test writes src_.outside -> splice reads src_.inside
  Pair dst_ = make_pair(io_);  // splice writes dst_.inside -> test reads dst_.outside
};

TEST_F(SpliceOnce, NothingToReadIsWouldBlock) {
  SpliceResult r = run_once(io_, src_.inside, dst_.inside);
  EXPECT_EQ(r.status, Status::would_block);
  EXPECT_EQ(r.bytes, 0u);
}

TEST_F(SpliceOnce, MovesEveryByteInOrderThroughAFullDestination) {
  // 8 MiB: more than the socket buffers hold, so the way out fills up and splice_once must
  // wait for room (the reader below drains it concurrently).
  const std::string payload = random_bytes(8 << 20, 5);
  auto sender = std::async(std::launch::async, [&] {
    bool ok = send_all(src_.outside.get(), payload);
    shutdown_write(src_.outside.get());
    return ok;
  });
  auto reader = std::async(std::launch::async,
                           [&] { return read_n(dst_.outside.get(), payload.size(), 30s); });
  // If an assertion ends the test early, unblock the two threads before their futures wait.
  struct Unblock {
    int a, b;
    ~Unblock() {
      ::shutdown(a, SHUT_RDWR);
      ::shutdown(b, SHUT_RDWR);
    }
  } unblock{src_.outside.get(), dst_.outside.get()};
  std::size_t moved = 0;
  int calls = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline;) {
    SpliceResult r = run_once(io_, src_.inside, dst_.inside);
    if (r.status == Status::eof) break;
    ASSERT_TRUE(r.status == Status::moved || r.status == Status::would_block)
        << static_cast<int>(r.status) << " " << r.error.message();
    if (r.status == Status::would_block) {
      wait_readable(src_.inside);
      continue;
    }
    EXPECT_GT(r.bytes, 0u);
    moved += r.bytes;
    ++calls;
  }
  EXPECT_TRUE(sender.get());
  ReadResult got = reader.get();
  EXPECT_EQ(moved, payload.size());
  ASSERT_EQ(got.data.size(), payload.size());
  EXPECT_TRUE(got.data == payload);
  EXPECT_LT(calls, 8 << 20) << "one call per byte?";
}

TEST_F(SpliceOnce, FinIsEof) {
  shutdown_write(src_.outside.get());
  wait_readable(src_.inside);
  EXPECT_EQ(run_once(io_, src_.inside, dst_.inside).status, Status::eof);
}

TEST_F(SpliceOnce, RstIsAReadErrorWithEconnreset) {
  set_linger_reset(src_.outside.get());
  src_.outside.reset();
  wait_readable(src_.inside);
  SpliceResult r = run_once(io_, src_.inside, dst_.inside);
  EXPECT_EQ(r.status, Status::read_error);
  EXPECT_EQ(r.error, asio::error::connection_reset) << r.error.message();
}

TEST_F(SpliceOnce, VanishedDestinationIsAWriteErrorAndNoSignal) {
  // Workers block SIGPIPE (splice has no MSG_NOSIGNAL); so does this thread, as a worker
  // would. A SIGPIPE raised anyway would stay pending: check that none is.
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &pipe, &old), 0);
  dst_.inside.shutdown(tcp::socket::shutdown_send);  // a write now is EPIPE, with SIGPIPE
  ASSERT_TRUE(send_all(src_.outside.get(), "lost"));
  wait_readable(src_.inside);
  SpliceResult r = run_once(io_, src_.inside, dst_.inside);
  EXPECT_EQ(r.status, Status::write_error);
  EXPECT_EQ(r.error, asio::error::broken_pipe) << r.error.message();
  EXPECT_EQ(r.bytes, 4u);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 1) << "expected the kernel to raise SIGPIPE";
  // Consume it before unblocking, so the test process survives.
  int sig = 0;
  timespec zero{0, 0};
  siginfo_t info;
  sig = sigtimedwait(&pipe, &info, &zero);
  EXPECT_EQ(sig, SIGPIPE);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_F(SpliceOnce, NoDescriptorForAPipeIsUnavailableWithoutAnError) {
  ASSERT_TRUE(send_all(src_.outside.get(), "copied instead"));
  wait_readable(src_.inside);
  // A fresh thread has an empty pipe pool; with no descriptor left, it cannot make a pipe.
  auto r = std::async(std::launch::async, [&] {
             rlimit old{};
             getrlimit(RLIMIT_NOFILE, &old);
             int highest = 0;
             if (DIR* d = opendir("/proc/self/fd")) {
               while (dirent* e = readdir(d))
                 highest = std::max(highest, std::atoi(e->d_name));
               closedir(d);
             }
             rlimit tight = old;
             tight.rlim_cur = static_cast<rlim_t>(highest + 1);
             setrlimit(RLIMIT_NOFILE, &tight);
             std::vector<int> fillers;  // the holes below the limit
             for (int fd; (fd = ::dup(0)) >= 0;)
               fillers.push_back(fd);
             SpliceResult result = run_once(io_, src_.inside, dst_.inside);
             for (int fd : fillers)
               ::close(fd);
             setrlimit(RLIMIT_NOFILE, &old);
             return result;
           }).get();
  EXPECT_EQ(r.status, Status::unavailable);
  EXPECT_FALSE(r.error) << "out of descriptors is not 'unsupported': " << r.error.message();
  // Nothing was consumed: the bytes are still there for the copying path.
  char buf[32];
  asio::error_code ec;
  std::size_t n = src_.inside.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(std::string(buf, n), "copied instead");
}

}  // namespace
}  // namespace faultline::test
