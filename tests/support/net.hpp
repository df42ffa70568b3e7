// Blocking POSIX sockets for tests, with a deadline on every wait: a test observes the proxy
// the way a real client does (the errno it gets, the bytes each recv returns).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace faultline::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release();
  explicit operator bool() const { return fd_ >= 0; }
  void reset();  // close now (FIN, or RST if unread data is pending)

 private:
  int fd_ = -1;
};

// Connects to 127.0.0.1:port; on failure returns an invalid Fd and sets *err to the errno.
Fd connect_tcp(std::uint16_t port, Ms timeout = 2000ms, int* err = nullptr);
// A listening socket on 127.0.0.1 with a kernel-chosen port.
Fd listen_tcp(std::uint16_t* port, int backlog = 128);
// A port that nothing listens on (bound, then closed).
std::uint16_t unused_port();

bool send_all(int fd, const void* data, std::size_t size);
bool send_all(int fd, const std::string& s);

// One recv with a deadline. Returns >0 bytes, 0 on EOF, -1 with *err = errno (ETIMEDOUT when
// the deadline passed).
long recv_some(int fd, void* buf, std::size_t size, Ms timeout, int* err);

struct ReadResult {
  std::string data;
  std::vector<std::size_t> recv_sizes;  // what each recv returned
  bool eof = false;
  int error = 0;  // errno of the failing recv, ETIMEDOUT on deadline
};
// Reads until `want` bytes arrived, EOF, an error, or the deadline.
ReadResult read_n(int fd, std::size_t want, Ms timeout);
ReadResult read_to_eof(int fd, Ms timeout);
// One echo round trip of `msg` on an open connection: how long it took (ms), or -1 when it
// could not be sent or did not come back whole within `timeout`.
double echo_ms(int fd, const std::string& msg = "x", Ms timeout = std::chrono::seconds(3));

// Milliseconds from `t` until now.
inline double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void set_linger_reset(int fd);  // SO_LINGER {1, 0}: the next close sends an RST
void shutdown_write(int fd);
// This network namespace's default TCP congestion control (net.ipv4.tcp_congestion_control).
std::string system_congestion();

std::string random_bytes(std::size_t n, std::uint64_t seed);

// Accepts connections on a kernel-chosen port and runs `handler` for each on its own thread.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(Fd)> handler);
  ~ScriptedServer();
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_ = 0;  // before listener_: set while listener_ is initialised
  Fd listener_;
  std::function<void(Fd)> handler_;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;
  std::mutex mutex_;
  bool stopping_ = false;
};

// An echo server on its own thread (Asio, many connections); on EOF it echoes what is left,
// then shuts down its send side: half-close goes through.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  std::uint16_t port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Raises RLIMIT_NOFILE's soft limit to at least `want` (or the hard limit); returns the new one.
std::uint64_t raise_fd_limit(std::uint64_t want);

}  // namespace faultline::test
