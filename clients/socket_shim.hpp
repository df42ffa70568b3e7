// The one place where BSD sockets and Winsock differ. Everything else in the echo client is
// written against these names, so it builds with g++ on Linux and with MinGW for Windows.
#pragma once

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0600  // WSAPoll
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <cerrno>
#endif

#include <cstddef>
#include <string>

namespace faultline::clients::net {

#ifdef _WIN32
using Socket = SOCKET;
inline constexpr Socket invalid_socket = INVALID_SOCKET;
inline constexpr int err_conn_reset = WSAECONNRESET;
inline constexpr int err_conn_aborted = WSAECONNABORTED;
inline constexpr int err_conn_refused = WSAECONNREFUSED;
inline constexpr int err_timed_out = WSAETIMEDOUT;
inline constexpr int err_broken_pipe = WSAESHUTDOWN;  // Winsock's nearest to EPIPE
#else
using Socket = int;
inline constexpr Socket invalid_socket = -1;
inline constexpr int err_conn_reset = ECONNRESET;
inline constexpr int err_conn_aborted = ECONNABORTED;
inline constexpr int err_conn_refused = ECONNREFUSED;
inline constexpr int err_timed_out = ETIMEDOUT;
inline constexpr int err_broken_pipe = EPIPE;
#endif

// Process-wide set-up: WSAStartup on Windows; on POSIX, SIGPIPE ignored so a send() to a
// reset peer is an EPIPE error value rather than a dead process.
class NetRuntime {
 public:
  NetRuntime();
  ~NetRuntime();
  NetRuntime(const NetRuntime&) = delete;
  NetRuntime& operator=(const NetRuntime&) = delete;
};

// errno, or WSAGetLastError().
int last_error();
// "ECONNRESET (Connection reset by peer)" on POSIX, "WSAECONNRESET (10054)" on Windows.
std::string error_name(int err);

bool would_block(int err);  // EAGAIN/EWOULDBLOCK/WSAEWOULDBLOCK
bool in_progress(int err);  // a non-blocking connect under way
bool interrupted(int err);  // EINTR/WSAEINTR
// The peer broke the connection: RST, abort, EPIPE.
bool is_reset(int err);

void close_socket(Socket s);
bool set_nonblocking(Socket s, bool on);
void set_no_delay(Socket s);
void shutdown_send(Socket s);
// The pending error of a socket (SO_ERROR), e.g. how a non-blocking connect ended.
int pending_error(Socket s);

// One send()/recv() call; never raises SIGPIPE. Returns bytes, 0 (recv: EOF) or -1.
long send_some(Socket s, const void* data, std::size_t size);
long recv_some(Socket s, void* data, std::size_t size);

// poll()/WSAPoll() on one socket; timeout_ms < 0 waits forever. Returns >0 ready (revents
// set), 0 timeout, -1 error. Retries EINTR with the time left.
int poll_one(Socket s, short events, int timeout_ms, short& revents);
// Waits for a non-blocking connect to finish. Returns 0 connected, an error code, or -1 on
// timeout. (select() on Windows: WSAPoll misses failed connects before Windows 10 2004.)
int wait_connected(Socket s, int timeout_ms);

}  // namespace faultline::clients::net
