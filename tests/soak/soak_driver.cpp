// The soak driver (scripts/soak): real client sockets against a running `faultline` with an
// echo upstream. Plain POSIX, no project code, so it observes the proxy exactly as any client
// would. Every wait has a deadline; every loop is bounded in count and time.
//
//   soak_driver churn --port P [--rst-port Q] --connections N [--threads T] [--seconds S]
//                     [--tolerate]
//       N connections, cycling through: clean close, client reset after the echo, client
//       reset with data in flight, half-close first, and (with --rst-port: a proxy whose
//       upstream is `echo-server --rst-after 1`) upstream reset. Every echoed byte checked.
//       --tolerate: connection failures are counted, not fatal (traffic during upstream flaps).
//   soak_driver flood --port P --keep K --flood F --hold S
//       K connections that echo, then F more connects (the proxy runs out of descriptors),
//       held S seconds while the K are pinged every 250 ms; then the flood is closed and a new
//       connection must echo within 10 s (recovery), and the K still echo.
//   soak_driver expect --port P (--up | --down) [--seconds S]
//       --up: one connection echoes within S seconds (retrying); --down: a connection ends
//       (RST or EOF, not a hang) within S seconds.
//   soak_driver free-port [--count N]  prints N distinct ports nothing listens on (127.0.0.1)
//
// Exit 0 when every check held, 1 otherwise; figures on stdout as key=value.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::map<std::string, std::string> g_args;

std::string arg(const std::string& k, const std::string& def = "") {
  auto it = g_args.find(k);
  return it == g_args.end() ? def : it->second;
}
long num(const std::string& k, long def) {
  auto s = arg(k);
  return s.empty() ? def : std::strtol(s.c_str(), nullptr, 10);
}
bool flag(const std::string& k) {
  return g_args.count(k) > 0;
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      close();
      fd = o.fd;
      o.fd = -1;
    }
    return *this;
  }
  ~Fd() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Connects from 127.0.0.(src) to 127.0.0.1:port with a deadline; -1 and errno on failure.
// Spreading the source address keeps 100 000 connections clear of TIME_WAIT port reuse.
int connect_to(std::uint16_t port, int src, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (src > 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(0x7f000000u | static_cast<unsigned>(src));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    if (r <= 0) {
      err = ETIMEDOUT;
    } else {
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
    if (err != 0) {
      ::close(fd);
      errno = err;
      return -1;
    }
  }
  return fd;
}

// Sends everything (non-blocking socket, poll with deadline). false and errno on failure.
bool send_all(int fd, const std::uint8_t* p, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd pf{fd, POLLOUT, 0};
    if (::poll(&pf, 1, remaining_ms(deadline)) <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
  }
  return true;
}

// Reads into `out` until `want` bytes, EOF (returns 0), error (-1, errno) or deadline
// (-1, ETIMEDOUT). Returns 1 when `want` bytes arrived.
int read_n(int fd, std::vector<std::uint8_t>& out, std::size_t want, Clock::time_point deadline) {
  std::uint8_t buf[65536];
  while (out.size() < want) {
    ssize_t r = ::recv(fd, buf, std::min(sizeof buf, want - out.size()), 0);
    if (r > 0) {
      out.insert(out.end(), buf, buf + r);
      continue;
    }
    if (r == 0) return 0;
    if (errno != EAGAIN && errno != EINTR) return -1;
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, remaining_ms(deadline)) <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
  }
  return 1;
}

// After the data: waits for EOF (0), RST (-1, ECONNRESET), or more bytes (2: a failure).
int read_end(int fd, Clock::time_point deadline) {
  std::uint8_t b;
  for (;;) {
    ssize_t r = ::recv(fd, &b, 1, 0);
    if (r > 0) return 2;
    if (r == 0) return 0;
    if (errno != EAGAIN && errno != EINTR) return -1;
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, remaining_ms(deadline)) <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
  }
}

void linger_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

std::vector<std::uint8_t> payload(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v)
    b = static_cast<std::uint8_t>(rng());
  return v;
}

// A length-prefixed frame, as echo-server --rst-after counts them.
std::vector<std::uint8_t> frame(std::mt19937_64& rng, std::size_t n) {
  auto body = payload(rng, n);
  std::vector<std::uint8_t> f{static_cast<std::uint8_t>(n >> 24),
                              static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                              static_cast<std::uint8_t>(n)};
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

enum Kind { clean, client_rst, client_rst_in_flight, half_close, upstream_rst, kinds };
const char* kKindNames[] = {"clean", "client_rst", "client_rst_in_flight", "half_close",
                            "upstream_rst"};

struct Totals {
  std::atomic<std::uint64_t> done[kinds]{};
  std::atomic<std::uint64_t> bytes_verified{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> rst_before_echo{0};  // upstream_rst: the RST overtook the echo
  std::mutex mutex;
  std::vector<std::string> first_errors;
  void fail(const std::string& what) {
    failures.fetch_add(1);
    std::lock_guard lock(mutex);
    if (first_errors.size() < 10) first_errors.push_back(what);
  }
};

std::string err_text(const char* step) {
  return std::string(step) + ": " + std::strerror(errno);
}

// One connection of the given kind; failures go to `t`.
void one_connection(Kind kind, std::uint16_t port, int src, std::mt19937_64& rng, Totals& t,
                    std::size_t max_size) {
  const auto deadline = Clock::now() + 10s;
  Fd c(connect_to(port, src, 5000ms));
  if (c.fd < 0) {
    t.connect_failures.fetch_add(1);
    t.fail(std::string(kKindNames[kind]) + " " + err_text("connect"));
    return;
  }
  std::size_t size = 1 + rng() % max_size;
  std::vector<std::uint8_t> out = kind == upstream_rst ? frame(rng, size) : payload(rng, size);
  std::vector<std::uint8_t> in;
  in.reserve(out.size());
  if (kind == client_rst_in_flight) {
    // Send and reset at once, without reading: the proxy sees RST with data pending.
    send_all(c.fd, out.data(), out.size(), deadline);
    linger_reset(c.fd);
    t.done[kind].fetch_add(1);
    return;
  }
  if (!send_all(c.fd, out.data(), out.size(), deadline)) {
    t.fail(std::string(kKindNames[kind]) + " " + err_text("send"));
    return;
  }
  if (kind == half_close) ::shutdown(c.fd, SHUT_WR);  // before reading the echo
  int r = read_n(c.fd, in, out.size(), deadline);
  if (in.size() > 0 && std::memcmp(in.data(), out.data(), in.size()) != 0) {
    t.fail(std::string(kKindNames[kind]) + ": echoed bytes differ");
    return;
  }
  if (kind == upstream_rst) {
    // echo-server --rst-after 1 echoes the frame, then resets: the client sees the echo and
    // then ECONNRESET (the proxy turns the upstream's RST into an RST).
    if (r != 1) {
      if (r < 0 && errno == ECONNRESET) {
        t.rst_before_echo.fetch_add(1);
        t.bytes_verified.fetch_add(in.size());
        t.done[kind].fetch_add(1);
      } else {
        t.fail(std::string("upstream_rst: ") + (r == 0 ? "EOF before the echo" : err_text("recv")));
      }
      return;
    }
    t.bytes_verified.fetch_add(in.size());
    int e = read_end(c.fd, deadline);
    if (e == -1 && errno == ECONNRESET) {
      t.done[kind].fetch_add(1);
    } else {
      t.fail(std::string("upstream_rst: expected ECONNRESET after the echo, got ") +
             (e == 0   ? "EOF"
              : e == 2 ? "more bytes"
                       : err_text("recv")));
    }
    return;
  }
  if (r != 1) {
    t.fail(std::string(kKindNames[kind]) + ": " +
           (r == 0 ? "EOF before the whole echo" : err_text("recv")) + " after " +
           std::to_string(in.size()) + "/" + std::to_string(out.size()) + " bytes");
    return;
  }
  t.bytes_verified.fetch_add(in.size());
  switch (kind) {
    case clean: {
      ::shutdown(c.fd, SHUT_WR);
      int e = read_end(c.fd, deadline);
      if (e != 0) {
        t.fail(std::string("clean: expected EOF after shutdown, got ") +
               (e == 2 ? "more bytes" : err_text("recv")));
        return;
      }
      break;
    }
    case client_rst:
      linger_reset(c.fd);
      break;
    case half_close: {
      int e = read_end(c.fd, deadline);
      if (e != 0) {
        t.fail(std::string("half_close: expected EOF, got ") +
               (e == 2 ? "more bytes" : err_text("recv")));
        return;
      }
      break;
    }
    default:
      break;
  }
  t.done[kind].fetch_add(1);
}

int churn() {
  const auto port = static_cast<std::uint16_t>(num("--port", 0));
  const auto rst_port = static_cast<std::uint16_t>(num("--rst-port", 0));
  const long n = num("--connections", 1000);
  const long threads = std::max(1L, num("--threads", 8));
  const auto seconds = std::chrono::seconds(num("--seconds", 600));
  const auto max_size = static_cast<std::size_t>(num("--max-size", 16384));
  const bool tolerate = flag("--tolerate");
  const std::uint64_t seed = static_cast<std::uint64_t>(num("--seed", 1));
  const int nkinds = rst_port ? kinds : upstream_rst;
  Totals t;
  std::atomic<long> next{0};
  const auto start = Clock::now();
  const auto deadline = start + seconds;
  std::vector<std::thread> pool;
  for (long i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(i));
      for (;;) {
        long k = next.fetch_add(1);
        if (k >= n || Clock::now() > deadline) return;
        auto kind = static_cast<Kind>(k % nkinds);
        one_connection(kind, kind == upstream_rst ? rst_port : port,
                       static_cast<int>(2 + (k % 250)), rng, t, max_size);
      }
    });
  }
  for (auto& th : pool)
    th.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::uint64_t total = 0;
  std::printf("churn:");
  for (int k = 0; k < nkinds; ++k) {
    std::printf(" %s=%llu", kKindNames[k], static_cast<unsigned long long>(t.done[k].load()));
    total += t.done[k].load();
  }
  std::printf(
      " ok=%llu failures=%llu connect_failures=%llu rst_before_echo=%llu "
      "bytes_verified=%llu seconds=%.1f\n",
      static_cast<unsigned long long>(total), static_cast<unsigned long long>(t.failures.load()),
      static_cast<unsigned long long>(t.connect_failures.load()),
      static_cast<unsigned long long>(t.rst_before_echo.load()),
      static_cast<unsigned long long>(t.bytes_verified.load()), secs);
  for (const auto& e : t.first_errors)
    std::printf("  error: %s\n", e.c_str());
  if (next.load() < n)
    std::printf("  stopped at the %lds time bound\n", static_cast<long>(seconds.count()));
  if (tolerate) return total > 0 ? 0 : 1;
  return t.failures.load() == 0 && static_cast<long>(total) == n ? 0 : 1;
}

// One small echo on an open connection.
bool ping(int fd, std::mt19937_64& rng) {
  auto out = payload(rng, 64);
  std::vector<std::uint8_t> in;
  auto deadline = Clock::now() + 3s;
  return send_all(fd, out.data(), out.size(), deadline) &&
         read_n(fd, in, out.size(), deadline) == 1 && in == out;
}

int flood() {
  const auto port = static_cast<std::uint16_t>(num("--port", 0));
  const long keep = num("--keep", 10);
  const long flood_n = num("--flood", 300);
  const auto hold = std::chrono::seconds(num("--hold", 5));
  std::mt19937_64 rng(7);
  std::vector<Fd> kept;
  for (long i = 0; i < keep; ++i) {
    Fd c(connect_to(port, 0, 2000ms));
    if (c.fd < 0 || !ping(c.fd, rng)) {
      std::printf("flood: kept connection %ld does not echo before the flood\n", i);
      return 1;
    }
    kept.push_back(std::move(c));
  }
  // The flood: connects complete in the kernel's accept queue whether or not the proxy can
  // accept them. Each sends a byte so an accepted one has something to relay.
  std::vector<Fd> flood_fds;
  long connected = 0;
  for (long i = 0; i < flood_n; ++i) {
    Fd c(connect_to(port, static_cast<int>(2 + i % 250), 500ms));
    if (c.fd >= 0) {
      ++connected;
      ::send(c.fd, "x", 1, MSG_NOSIGNAL);
      flood_fds.push_back(std::move(c));
    }
  }
  std::printf("flood: kept=%ld flood_connected=%ld/%ld\n", keep, connected, flood_n);
  std::fflush(stdout);
  // Hold: the kept connections must keep echoing while the proxy is out of descriptors.
  long pings = 0, ping_failures = 0;
  const auto until = Clock::now() + hold;
  while (Clock::now() < until) {
    for (auto& c : kept) {
      ++pings;
      if (!ping(c.fd, rng)) ++ping_failures;
    }
    std::this_thread::sleep_for(250ms);
  }
  // How the flood connections fared: echoed (accepted and relayed), reset/closed, or silent
  // (still queued, never accepted).
  long echoed = 0, ended = 0, silent = 0;
  for (auto& c : flood_fds) {
    std::vector<std::uint8_t> in;
    int r = read_n(c.fd, in, 1, Clock::now() + 10ms);
    if (r == 1) {
      ++echoed;
    } else if (r == 0 || errno != ETIMEDOUT) {
      ++ended;
    } else {
      ++silent;
    }
  }
  flood_fds.clear();  // close the flood: descriptors come back
  // Recovery: a new connection echoes within 10 s.
  bool recovered = false;
  const auto t0 = Clock::now();
  while (!recovered && Clock::now() - t0 < 10s) {
    Fd c(connect_to(port, 0, 1000ms));
    if (c.fd >= 0 && ping(c.fd, rng)) {
      recovered = true;
    } else {
      std::this_thread::sleep_for(100ms);
    }
  }
  double recovery = std::chrono::duration<double>(Clock::now() - t0).count();
  long kept_ok = 0;
  for (auto& c : kept)
    kept_ok += ping(c.fd, rng) ? 1 : 0;
  std::printf(
      "flood: pings=%ld ping_failures=%ld flood_echoed=%ld flood_ended=%ld "
      "flood_silent=%ld recovered=%s recovery_s=%.2f kept_ok_after=%ld/%ld\n",
      pings, ping_failures, echoed, ended, silent, recovered ? "yes" : "no", recovery, kept_ok,
      keep);
  return ping_failures == 0 && recovered && kept_ok == keep ? 0 : 1;
}

int expect() {
  const auto port = static_cast<std::uint16_t>(num("--port", 0));
  const auto seconds = std::chrono::seconds(num("--seconds", 10));
  std::mt19937_64 rng(11);
  const auto start = Clock::now();
  if (flag("--up")) {
    while (Clock::now() - start < seconds) {
      Fd c(connect_to(port, 0, 1000ms));
      if (c.fd >= 0 && ping(c.fd, rng)) {
        std::printf("expect: up after %.2fs\n",
                    std::chrono::duration<double>(Clock::now() - start).count());
        return 0;
      }
      std::this_thread::sleep_for(50ms);
    }
    std::printf("expect: no echo within %lds\n", static_cast<long>(seconds.count()));
    return 1;
  }
  // --down: the proxy accepts, cannot reach the upstream, and ends the connection.
  Fd c(connect_to(port, 0, 2000ms));
  if (c.fd < 0) {
    // Reset before the connect was even reported: the proxy accepted and reset at once.
    if (errno == ECONNRESET) {
      std::printf("expect: down: reset during connect after %.2fs\n",
                  std::chrono::duration<double>(Clock::now() - start).count());
      return 0;
    }
    std::printf("expect: down: connect failed (%s): the proxy is not listening\n",
                std::strerror(errno));
    return 1;
  }
  ::send(c.fd, "x", 1, MSG_NOSIGNAL);
  int e = read_end(c.fd, start + seconds);
  if (e == 0 || (e == -1 && errno != ETIMEDOUT)) {
    std::printf("expect: down: %s after %.2fs\n", e == 0 ? "EOF" : std::strerror(errno),
                std::chrono::duration<double>(Clock::now() - start).count());
    return 0;
  }
  std::printf("expect: down: %s\n", e == 2 ? "got bytes from a dead upstream" : "hung");
  return 1;
}

// A port below the kernel's ephemeral range (32768+ by default), so no outgoing connection
// can be given it as its local port while an upstream there is down (a connect to a port in
// the ephemeral range can then connect to itself and hold the port).
int free_port() {
  std::mt19937_64 rng(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()) ^
                      static_cast<std::uint64_t>(::getpid()));
  const long low = num("--low", 20000), high = num("--high", 32000);
  const long count = num("--count", 1);
  // Each port stays bound until all are chosen, so the ports of one call are distinct (two
  // separate calls once drew the same port for the API and a proxy).
  std::vector<int> held;
  std::vector<std::uint16_t> ports;
  for (int attempt = 0; attempt < 200 && static_cast<long>(ports.size()) < count; ++attempt) {
    auto port = static_cast<std::uint16_t>(low + static_cast<long>(rng() % (high - low)));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      held.push_back(fd);
      ports.push_back(port);
    } else {
      ::close(fd);
    }
  }
  for (int fd : held)
    ::close(fd);
  if (static_cast<long>(ports.size()) < count) return 1;
  for (auto port : ports)
    std::printf("%u\n", port);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: soak_driver churn|flood|expect|free-port [--key value ...]\n");
    return 2;
  }
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      g_args[k] = argv[++i];
    } else {
      g_args[k] = "1";
    }
  }
  std::string cmd = argv[1];
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (cmd == "churn") return churn();
  if (cmd == "flood") return flood();
  if (cmd == "expect") return expect();
  if (cmd == "free-port") return free_port();
  std::fprintf(stderr, "soak_driver: unknown command %s\n", cmd.c_str());
  return 2;
}
