#include "tests/support/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace faultline::test {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  reset();
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool wait_for(int fd, short events, Ms timeout) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

}  // namespace

Fd connect_tcp(std::uint16_t port, Ms timeout, int* err) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  sockaddr_in a = loopback(port);
  int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  int e = 0;
  if (rc < 0 && errno != EINPROGRESS) {
    e = errno;
  } else if (rc < 0) {
    if (!wait_for(fd.get(), POLLOUT, timeout)) {
      e = ETIMEDOUT;
    } else {
      socklen_t len = sizeof e;
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &e, &len);
    }
  }
  if (err) *err = e;
  if (e != 0) return Fd();
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

Fd listen_tcp(std::uint16_t* port, int backlog) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return Fd();
  if (::listen(fd.get(), backlog) < 0) return Fd();
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

std::uint16_t unused_port() {
  std::uint16_t port = 0;
  Fd fd = listen_tcp(&port);
  return port;  // closed on return: connects to it are refused
}

bool send_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& s) {
  return send_all(fd, s.data(), s.size());
}

long recv_some(int fd, void* buf, std::size_t size, Ms timeout, int* err) {
  if (!wait_for(fd, POLLIN, timeout)) {
    *err = ETIMEDOUT;
    return -1;
  }
  ssize_t n;
  do {
    n = ::recv(fd, buf, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) *err = errno;
  return n;
}

namespace {

ReadResult read_until(int fd, std::size_t want, Ms timeout) {
  ReadResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<char> buf(256 * 1024);
  while (r.data.size() < want) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.error = ETIMEDOUT;
      break;
    }
    std::size_t ask = std::min(buf.size(), want - r.data.size());
    long n = recv_some(fd, buf.data(), ask, left, &r.error);
    if (n < 0) break;
    if (n == 0) {
      r.eof = true;
      break;
    }
    r.recv_sizes.push_back(static_cast<std::size_t>(n));
    r.data.append(buf.data(), static_cast<std::size_t>(n));
  }
  return r;
}

}  // namespace

double echo_ms(int fd, const std::string& msg, Ms timeout) {
  auto t = std::chrono::steady_clock::now();
  if (!send_all(fd, msg)) return -1;
  if (read_n(fd, msg.size(), timeout).data != msg) return -1;
  return ms_since(t);
}

ReadResult read_n(int fd, std::size_t want, Ms timeout) {
  return read_until(fd, want, timeout);
}

ReadResult read_to_eof(int fd, Ms timeout) {
  return read_until(fd, static_cast<std::size_t>(-1), timeout);
}

void set_linger_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void shutdown_write(int fd) {
  ::shutdown(fd, SHUT_WR);
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

ScriptedServer::ScriptedServer(std::function<void(Fd)> handler)
    : listener_(listen_tcp(&port_)), handler_(std::move(handler)) {
  acceptor_ = std::thread([this] {
    for (;;) {
      int c = ::accept(listener_.get(), nullptr, nullptr);
      if (c < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // the listener was shut down
      }
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(c);
        return;
      }
      handlers_.emplace_back([this, c] { handler_(Fd(c)); });
    }
  });
}

ScriptedServer::~ScriptedServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  for (auto& t : handlers_)
    t.join();
}

struct EchoServer::Impl {
  asio::io_context context{1};
  asio::ip::tcp::acceptor acceptor{context};
  std::thread thread;

  static asio::awaitable<void> echo(asio::ip::tcp::socket s) {
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), tuple);
      if (ec == asio::error::eof) {
        asio::error_code ignored;
        s.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        co_return;
      }
      if (ec) co_return;
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf.data(), n), tuple);
      if (wec) co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    constexpr auto tuple = asio::experimental::as_tuple(asio::use_awaitable);
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(tuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      asio::co_spawn(context, echo(std::move(s)), asio::detached);
    }
  }
};

EchoServer::EchoServer() : impl_(std::make_unique<Impl>()) {
  asio::ip::tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  asio::co_spawn(impl_->context, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->context.run(); });
}

EchoServer::~EchoServer() {
  impl_->context.stop();
  impl_->thread.join();
}

std::uint16_t EchoServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::uint64_t raise_fd_limit(std::uint64_t want) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min<rlim_t>(want, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

std::string system_congestion() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_congestion_control");
  std::string name;
  in >> name;
  return name;
}

}  // namespace faultline::test
