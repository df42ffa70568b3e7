#include "clients/socket_shim.hpp"

#include <chrono>
#include <climits>
#include <cstring>
#include <iterator>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#include <csignal>
#endif

namespace faultline::clients::net {
namespace {

struct ErrorName {
  int code;
  const char* name;
};

#ifdef _WIN32
#define FAULTLINE_ERR(name) \
  { name, #name }
constexpr ErrorName error_names[] = {
    FAULTLINE_ERR(WSAECONNRESET),   FAULTLINE_ERR(WSAECONNABORTED),
    FAULTLINE_ERR(WSAECONNREFUSED), FAULTLINE_ERR(WSAETIMEDOUT),
    FAULTLINE_ERR(WSAESHUTDOWN),    FAULTLINE_ERR(WSAENOTCONN),
    FAULTLINE_ERR(WSAEHOSTUNREACH), FAULTLINE_ERR(WSAENETUNREACH),
    FAULTLINE_ERR(WSAENETDOWN),     FAULTLINE_ERR(WSAENETRESET),
    FAULTLINE_ERR(WSAEADDRINUSE),   FAULTLINE_ERR(WSAEADDRNOTAVAIL),
    FAULTLINE_ERR(WSAEWOULDBLOCK),  FAULTLINE_ERR(WSAEINPROGRESS),
    FAULTLINE_ERR(WSAEINTR),        FAULTLINE_ERR(WSAENOTSOCK),
    FAULTLINE_ERR(WSAEINVAL),       FAULTLINE_ERR(WSAEMFILE),
    FAULTLINE_ERR(WSAENOBUFS),      FAULTLINE_ERR(WSAHOST_NOT_FOUND)};
#else
#define FAULTLINE_ERR(name) \
  { name, #name }
constexpr ErrorName error_names[] = {
    FAULTLINE_ERR(ECONNRESET),   FAULTLINE_ERR(ECONNABORTED), FAULTLINE_ERR(ECONNREFUSED),
    FAULTLINE_ERR(ETIMEDOUT),    FAULTLINE_ERR(EPIPE),        FAULTLINE_ERR(ENOTCONN),
    FAULTLINE_ERR(EHOSTUNREACH), FAULTLINE_ERR(ENETUNREACH),  FAULTLINE_ERR(ENETDOWN),
    FAULTLINE_ERR(ENETRESET),    FAULTLINE_ERR(EADDRINUSE),   FAULTLINE_ERR(EADDRNOTAVAIL),
    FAULTLINE_ERR(EAGAIN),       FAULTLINE_ERR(EINPROGRESS),  FAULTLINE_ERR(EINTR),
    FAULTLINE_ERR(ENOTSOCK),     FAULTLINE_ERR(EINVAL),       FAULTLINE_ERR(EMFILE),
    FAULTLINE_ERR(ENOBUFS),      FAULTLINE_ERR(EBADF)};
#endif
#undef FAULTLINE_ERR

const char* symbol_of(int err) {
  for (const auto& e : error_names) {
    if (e.code == err) return e.name;
  }
  return nullptr;
}

}  // namespace

#ifdef _WIN32

NetRuntime::NetRuntime() {
  WSADATA data;
  WSAStartup(MAKEWORD(2, 2), &data);
}
NetRuntime::~NetRuntime() {
  WSACleanup();
}

int last_error() {
  return WSAGetLastError();
}

std::string error_name(int err) {
  const char* symbol = symbol_of(err);
  return std::string(symbol ? symbol : "error") + " (" + std::to_string(err) + ")";
}

bool would_block(int err) {
  return err == WSAEWOULDBLOCK;
}
bool in_progress(int err) {
  return err == WSAEWOULDBLOCK || err == WSAEINPROGRESS;
}
bool interrupted(int err) {
  return err == WSAEINTR;
}

void close_socket(Socket s) {
  closesocket(s);
}

bool set_nonblocking(Socket s, bool on) {
  u_long mode = on ? 1 : 0;
  return ioctlsocket(s, FIONBIO, &mode) == 0;
}

long send_some(Socket s, const void* data, std::size_t size) {
  const int n = size > INT_MAX ? INT_MAX : static_cast<int>(size);
  return ::send(s, static_cast<const char*>(data), n, 0);
}

long recv_some(Socket s, void* data, std::size_t size) {
  const int n = size > INT_MAX ? INT_MAX : static_cast<int>(size);
  return ::recv(s, static_cast<char*>(data), n, 0);
}

void shutdown_send(Socket s) {
  ::shutdown(s, SD_SEND);
}

int wait_connected(Socket s, int timeout_ms) {
  fd_set writable;
  fd_set failed;
  FD_ZERO(&writable);
  FD_ZERO(&failed);
  FD_SET(s, &writable);
  FD_SET(s, &failed);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  const int rc = ::select(0, nullptr, &writable, &failed, timeout_ms < 0 ? nullptr : &tv);
  if (rc == 0) return -1;
  if (rc < 0) return last_error();
  return pending_error(s);
}

static int poll_call(WSAPOLLFD* fd, int timeout_ms) {
  return WSAPoll(fd, 1, timeout_ms);
}
using PollFd = WSAPOLLFD;

#else

NetRuntime::NetRuntime() {
  std::signal(SIGPIPE, SIG_IGN);
}
NetRuntime::~NetRuntime() = default;

int last_error() {
  return errno;
}

std::string error_name(int err) {
  const char* symbol = symbol_of(err);
  return std::string(symbol ? symbol : ("errno " + std::to_string(err)).c_str()) + " (" +
         std::strerror(err) + ")";
}

bool would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK;
}
bool in_progress(int err) {
  return err == EINPROGRESS;
}
bool interrupted(int err) {
  return err == EINTR;
}

void close_socket(Socket s) {
  ::close(s);
}

bool set_nonblocking(Socket s, bool on) {
  const int flags = ::fcntl(s, F_GETFL, 0);
  if (flags < 0) return false;
  return ::fcntl(s, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) == 0;
}

long send_some(Socket s, const void* data, std::size_t size) {
  for (;;) {
    const long n = ::send(s, data, size, MSG_NOSIGNAL);
    if (n >= 0 || errno != EINTR) return n;
  }
}

long recv_some(Socket s, void* data, std::size_t size) {
  for (;;) {
    const long n = ::recv(s, data, size, 0);
    if (n >= 0 || errno != EINTR) return n;
  }
}

void shutdown_send(Socket s) {
  ::shutdown(s, SHUT_WR);
}

static int poll_call(pollfd* fd, int timeout_ms) {
  return ::poll(fd, 1, timeout_ms);
}
using PollFd = pollfd;

int wait_connected(Socket s, int timeout_ms) {
  short revents = 0;
  const int rc = poll_one(s, POLLOUT, timeout_ms, revents);
  if (rc == 0) return -1;
  if (rc < 0) return last_error();
  return pending_error(s);
}

#endif

bool is_reset(int err) {
  return err == err_conn_reset || err == err_conn_aborted || err == err_broken_pipe;
}

void set_no_delay(Socket s) {
  int on = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&on), sizeof on);
}

int pending_error(Socket s) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&err), &len) != 0) {
    return last_error();
  }
  return err;
}

int poll_one(Socket s, short events, int timeout_ms, short& revents) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    PollFd fd{};
    fd.fd = s;
    fd.events = events;
    int wait = timeout_ms;
    if (timeout_ms >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait = left > 0 ? static_cast<int>(left) : 0;
    }
    const int rc = poll_call(&fd, wait);
    if (rc < 0 && interrupted(last_error())) continue;
    revents = rc > 0 ? fd.revents : 0;
    return rc;
  }
}

}  // namespace faultline::clients::net
