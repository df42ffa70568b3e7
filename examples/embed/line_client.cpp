#include "line_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace example {
namespace {

using Clock = std::chrono::steady_clock;

// Rounded up: poll() counts whole milliseconds, and a timeout rounded down would give up
// before the deadline.
int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits until fd is ready for `events` or the deadline passed.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, ms_left(deadline));
    // Interrupted, or woken a little early: wait again until the deadline is really past.
  } while ((n < 0 && errno == EINTR) || (n == 0 && Clock::now() < deadline));
  return n > 0;
}

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::reset:
      return "reset";
    case Outcome::timeout:
      return "timeout";
    case Outcome::closed:
      return "closed";
    case Outcome::failed:
      return "failed";
  }
  return "failed";
}

Reply ask(const std::string& host, std::uint16_t port, const std::string& request,
          std::chrono::milliseconds deadline_in) {
  auto deadline = Clock::now() + deadline_in;
  Reply reply;
  Socket s;
  s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (s.fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return reply;
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return reply;
    if (!wait_ready(s.fd, POLLOUT, deadline)) return reply.outcome = Outcome::timeout, reply;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return reply;
  }

  // send() may write less than asked: loop until all of it is out.
  std::string out = request + "\n";
  for (std::size_t sent = 0; sent < out.size();) {
    if (!wait_ready(s.fd, POLLOUT, deadline)) return reply.outcome = Outcome::timeout, reply;
    ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return reply.outcome = errno == ECONNRESET ? Outcome::reset : Outcome::failed, reply;
    sent += static_cast<std::size_t>(n);
  }

  // recv() may return part of the line, or the line and more: read until the newline.
  std::string in;
  for (;;) {
    if (auto nl = in.find('\n'); nl != std::string::npos) {
      reply.line = in.substr(0, nl);
      reply.outcome = Outcome::ok;
      return reply;
    }
    if (!wait_ready(s.fd, POLLIN, deadline)) return reply.outcome = Outcome::timeout, reply;
    char buf[512];
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return reply.outcome = errno == ECONNRESET ? Outcome::reset : Outcome::failed, reply;
    if (n == 0) return reply.outcome = Outcome::closed, reply;
    ++reply.recvs;
    in.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace example
