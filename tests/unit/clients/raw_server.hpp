// A tiny misbehaving TCP server for the client tests: plain POSIX sockets on 127.0.0.1,
// port picked by the kernel, one thread per connection running the test's handler. Its
// destructor shuts every socket down, so a handler blocked in recv() returns and joins.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace faultline::clients::testing {

// Reads exactly n bytes; false on EOF or error.
inline bool read_exact(int fd, void* data, std::size_t n) {
  auto* p = static_cast<std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t got = ::recv(fd, p, n, 0);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

inline bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n > 0) {
    const ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
    if (put <= 0) return false;
    p += put;
    n -= static_cast<std::size_t>(put);
  }
  return true;
}

// One whole frame (header included) or an empty vector on EOF/error.
inline std::vector<std::uint8_t> read_frame(int fd) {
  std::uint8_t header[4];
  if (!read_exact(fd, header, 4)) return {};
  const std::uint32_t length = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                               (std::uint32_t{header[2]} << 8) | header[3];
  std::vector<std::uint8_t> frame(header, header + 4);
  frame.resize(4 + length);
  if (!read_exact(fd, frame.data() + 4, length)) return {};
  return frame;
}

// Closes with RST: SO_LINGER {1, 0} then close.
inline void reset_close(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

inline int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class RawServer {
 public:
  // handler(fd, connection_index); returns true to end the connection with an RST instead
  // of a FIN. The server closes fd after the handler, under its lock, so the destructor
  // never shuts down a descriptor number that has been reused.
  using Handler = std::function<bool(int fd, int index)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("RawServer: cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~RawServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      for (const int fd : open_fds_)
        ::shutdown(fd, SHUT_RDWR);  // wakes handlers in recv()
    }
    for (auto& t : connections_)
      t.join();
    ::close(listen_fd_);
  }

  std::uint16_t port() const { return port_; }
  std::string port_text() const { return std::to_string(port_); }

 private:
  void accept_loop() {
    for (int index = 0;; ++index) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      std::lock_guard lock(mutex_);
      open_fds_.push_back(fd);
      connections_.emplace_back([this, fd, index] {
        const bool reset = handler_(fd, index);
        std::lock_guard inner(mutex_);
        std::erase(open_fds_, fd);
        if (reset) {
          reset_close(fd);
        } else {
          ::close(fd);
        }
      });
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> open_fds_;
  std::vector<std::thread> connections_;
};

}  // namespace faultline::clients::testing
