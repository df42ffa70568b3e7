// flbench: the load tool behind scripts/bench. One binary, a subcommand per role:
//
//   flbench serve      [--listen 127.0.0.1:0] [--threads 2]
//       The upstream. Prints "listening on HOST:PORT". The first byte a client sends picks the
//       mode of its connection: 'e' echoes every byte (that one included); 's' is a sink that
//       reads to EOF and replies 32 bytes: total bytes, bytes of the first read, and the
//       CLOCK_MONOTONIC ns of the first and the last read (u64 each, host order).
//   flbench throughput --connect H:P [--streams 1] [--seconds 2]
//       Bulk client -> sink for that long, then shutdown(SHUT_WR); the rate is the sink's:
//       bytes after the first read / time from the first to the last read (so neither the
//       connect nor a fixed delay in front counts). Prints "rate_Bps=... client_Bps=...".
//   flbench rtt        --connect H:P [--size 64] [--count 2000] [--warmup 100] [--gap-ms 0]
//                      [--connections 1]
//       One connection, TCP_NODELAY, ping-pong of `size` bytes. Prints "p50_us=... p99_us=...".
//       --connections: that many at once, each `count` round trips, percentiles over all.
//       --gap-ms: the client sleeps that long before each round trip, so both ends are idle
//       as they are under a latency fault (waking a thread costs a VM 0.1-0.2 ms).
//   flbench connrate   --connect H:P [--parallel 8] [--seconds 2]
//       Each worker loops: connect, send 1 byte, read its echo, close. Prints "conn_per_s=...".
//   flbench idle       --connect H:P --pid PID [--steps 1000,10000]
//       Opens idle connections (each one echoes a byte first, so the proxy has dialled its
//       upstream), and at each step reads the memory of PID and its descendants. Prints one
//       "idle n=... rss_kb=... hwm_kb=... pss_kb=... procs=..." line per step (n=0 first).
//   flbench freeport
//       Prints a TCP port on 127.0.0.1 that is free now.
//
// Plain POSIX: blocking sockets with SO_SNDTIMEO/SO_RCVTIMEO on the client side, epoll on the
// server side. Every loop is bounded in time; --max-seconds (alarm) bounds the whole process.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "flbench: %s\n", what.c_str());
  std::exit(2);
}

std::uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

struct Args {
  std::map<std::string, std::string> kv;
  std::string get(const std::string& k, const std::string& def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  long num(const std::string& k, long def) const {
    auto it = kv.find(k);
    if (it == kv.end()) return def;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (!end || *end) die("--" + k + ": expected a number, got \"" + it->second + "\"");
    return v;
  }
  double real(const std::string& k, double def) const {
    auto it = kv.find(k);
    if (it == kv.end()) return def;
    return std::strtod(it->second.c_str(), nullptr);
  }
};

Args parse(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0 || i + 1 >= argc) die("bad argument: " + s);
    a.kv[s.substr(2)] = argv[++i];
  }
  return a;
}

sockaddr_in endpoint(const std::string& hp) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) die("expected HOST:PORT, got " + hp);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::atoi(hp.c_str() + colon + 1)));
  std::string host = hp.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) die("not an IPv4 address: " + host);
  return sa;
}

void raise_fd_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
}

void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A blocking client socket, connected, with send/recv/connect timeouts. -1 on failure.
int dial(const sockaddr_in& sa, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  set_timeouts(fd, timeout_ms);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const void* p, std::size_t n) {
  auto* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool recv_all(int fd, void* p, std::size_t n) {
  auto* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::recv(fd, c, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// serve

struct Conn {
  int fd = -1;
  char mode = 0;  // 0 until the first byte, then 'e' or 's'
  std::uint64_t total = 0, first = 0, t_first = 0, t_last = 0;
  std::string pending;  // echo bytes the socket did not take yet
  std::size_t pending_off = 0;
};

class ServeWorker {
 public:
  ServeWorker() : ep_(epoll_create1(EPOLL_CLOEXEC)), buf_(256 * 1024) {
    if (ep_ < 0) die("epoll_create1 failed");
  }
  void add(int fd) {
    auto* c = new Conn;
    c->fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      delete c;
    }
  }
  void run() {
    std::vector<epoll_event> events(256);
    for (;;) {
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(events[i].data.ptr);
        if (events[i].events & EPOLLOUT) {
          if (!flush(c)) continue;
        }
        if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
      }
    }
  }

 private:
  void close_conn(Conn* c) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    delete c;
  }
  void watch(Conn* c, std::uint32_t what) {
    epoll_event ev{};
    ev.events = what;
    ev.data.ptr = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
  }
  // false: the connection is gone.
  bool flush(Conn* c) {
    while (c->pending_off < c->pending.size()) {
      ssize_t w = ::send(c->fd, c->pending.data() + c->pending_off,
                         c->pending.size() - c->pending_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        watch(c, EPOLLOUT);  // stop reading until the peer takes what it sent
        return false;
      }
      if (w <= 0) {
        close_conn(c);
        return false;
      }
      c->pending_off += static_cast<std::size_t>(w);
    }
    c->pending.clear();
    c->pending_off = 0;
    watch(c, EPOLLIN | EPOLLRDHUP);
    return true;
  }
  void on_readable(Conn* c) {
    if (!c->pending.empty()) return;
    for (int round = 0; round < 8; ++round) {  // a few reads per wakeup, then be fair
      ssize_t r = ::recv(c->fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r == 0 && c->mode == 's') {
          std::uint64_t reply[4] = {c->total, c->first, c->t_first, c->t_last};
          ::send(c->fd, reply, sizeof reply, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        close_conn(c);
        return;
      }
      if (c->mode == 0) c->mode = buf_[0] == 's' ? 's' : 'e';
      if (c->mode == 's') {
        std::uint64_t now = mono_ns();
        if (c->total == 0) {
          c->first = static_cast<std::uint64_t>(r);
          c->t_first = now;
        }
        c->total += static_cast<std::uint64_t>(r);
        c->t_last = now;
        continue;
      }
      ssize_t w =
          ::send(c->fd, buf_.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        close_conn(c);
        return;
      }
      if (w < r) {
        std::size_t done = w < 0 ? 0 : static_cast<std::size_t>(w);
        c->pending.assign(buf_.data() + done, static_cast<std::size_t>(r) - done);
        c->pending_off = 0;
        flush(c);
        return;
      }
    }
  }

  int ep_;
  std::vector<char> buf_;
};

int serve(const Args& a) {
  raise_fd_limit();
  sockaddr_in sa = endpoint(a.get("listen", "127.0.0.1:0"));
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind failed");
  if (::listen(lfd, 4096) != 0) die("listen failed");
  socklen_t len = sizeof sa;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int threads = static_cast<int>(std::clamp(a.num("threads", 2), 1l, 16l));
  std::vector<std::unique_ptr<ServeWorker>> workers;
  for (int i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<ServeWorker>());
  for (auto& w : workers)
    std::thread([p = w.get()] { p->run(); }).detach();
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
  std::printf("listening on %s:%d\n", ip, ntohs(sa.sin_port));
  std::fflush(stdout);
  std::size_t next = 0;
  for (;;) {  // ends with the process (SIGTERM, or the --max-seconds alarm)
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) usleep(10000);
      continue;
    }
    nodelay(fd);
    workers[next++ % workers.size()]->add(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// throughput

int throughput(const Args& a) {
  sockaddr_in sa = endpoint(a.get("connect", ""));
  const int streams = static_cast<int>(std::clamp(a.num("streams", 1), 1l, 64l));
  const double seconds = std::clamp(a.real("seconds", 2.0), 0.05, 600.0);
  struct Result {
    bool ok = false;
    std::uint64_t sent = 0, total = 0, first = 0, t_first = 0, t_last = 0;
  };
  std::vector<Result> results(static_cast<std::size_t>(streams));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < streams; ++i) {
    threads.emplace_back([&, i] {
      Result& r = results[static_cast<std::size_t>(i)];
      int fd = dial(sa, 10000);
      if (fd < 0) return;
      std::vector<char> buf(256 * 1024, 'x');
      buf[0] = 's';
      bool ok = send_all(fd, buf.data(), buf.size());
      r.sent += buf.size();
      buf[0] = 'x';
      while (ok && Clock::now() < deadline) {
        ok = send_all(fd, buf.data(), buf.size());
        r.sent += buf.size();
      }
      std::uint64_t reply[4];
      if (ok && ::shutdown(fd, SHUT_WR) == 0 && recv_all(fd, reply, sizeof reply)) {
        r.ok = true;
        r.total = reply[0];
        r.first = reply[1];
        r.t_first = reply[2];
        r.t_last = reply[3];
      }
      ::close(fd);
    });
  }
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::uint64_t total = 0, first = 0, sent = 0, t0 = UINT64_MAX, t1 = 0;
  int ok = 0;
  for (auto& r : results) {
    if (!r.ok) continue;
    ++ok;
    total += r.total;
    first += r.first;
    sent += r.sent;
    t0 = std::min(t0, r.t_first);
    t1 = std::max(t1, r.t_last);
  }
  if (ok != streams || t1 <= t0) {
    std::printf("error=%d/%d streams failed\n", streams - ok, streams);
    return 1;
  }
  double rate = static_cast<double>(total - first) / (static_cast<double>(t1 - t0) / 1e9);
  std::printf("rate_Bps=%.0f client_Bps=%.0f bytes=%llu streams=%d\n", rate,
              static_cast<double>(sent) / elapsed, static_cast<unsigned long long>(total), streams);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rtt

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double idx = p * static_cast<double>(v.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(idx));
  auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

int rtt(const Args& a) {
  sockaddr_in sa = endpoint(a.get("connect", ""));
  const auto size = static_cast<std::size_t>(std::clamp(a.num("size", 64), 1l, 1l << 20));
  const long count = std::clamp(a.num("count", 2000), 1l, 10'000'000l);
  const long warmup = std::clamp(a.num("warmup", 100), 0l, 1'000'000l);
  const double max_seconds = std::clamp(a.real("seconds", 60.0), 0.1, 600.0);
  const auto gap = std::chrono::milliseconds(std::clamp(a.num("gap-ms", 0), 0l, 10'000l));
  const long connections = std::clamp(a.num("connections", 1), 1l, 1000l);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(max_seconds));
  std::mutex mutex;
  std::vector<double> samples;
  std::string error;
  auto one = [&] {
    int fd = dial(sa, 5000);
    if (fd < 0) {
      std::lock_guard lock(mutex);
      error = std::string("connect failed: ") + std::strerror(errno);
      return;
    }
    nodelay(fd);
    std::vector<char> out(size, 'x'), in(size);
    out[0] = 'e';
    std::vector<double> mine;
    mine.reserve(static_cast<std::size_t>(count));
    for (long i = 0; i < warmup + count && Clock::now() < deadline; ++i) {
      if (gap.count() > 0) std::this_thread::sleep_for(gap);
      auto t0 = Clock::now();
      if (!send_all(fd, out.data(), size) || !recv_all(fd, in.data(), size)) {
        std::lock_guard lock(mutex);
        error = "echo failed at " + std::to_string(i) + ": " + std::strerror(errno);
        break;
      }
      auto t1 = Clock::now();
      if (i >= warmup) mine.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    ::close(fd);
    std::lock_guard lock(mutex);
    samples.insert(samples.end(), mine.begin(), mine.end());
  };
  if (connections == 1) {
    one();
  } else {
    std::vector<std::thread> threads;
    for (long c = 0; c < connections; ++c)
      threads.emplace_back(one);
    for (auto& t : threads)
      t.join();
  }
  if (!error.empty()) {
    std::printf("error=%s\n", error.c_str());
    return 1;
  }
  std::printf("p50_us=%.2f p99_us=%.2f n=%zu\n", percentile(samples, 0.50),
              percentile(samples, 0.99), samples.size());
  return samples.empty() ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// connrate

int connrate(const Args& a) {
  sockaddr_in sa = endpoint(a.get("connect", ""));
  const int parallel = static_cast<int>(std::clamp(a.num("parallel", 8), 1l, 256l));
  const double seconds = std::clamp(a.real("seconds", 2.0), 0.05, 600.0);
  std::atomic<long> done{0}, errors{0};
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < parallel; ++i) {
    threads.emplace_back([&] {
      while (Clock::now() < deadline) {
        int fd = dial(sa, 5000);
        if (fd < 0) {
          if (++errors > 1000) return;
          continue;
        }
        nodelay(fd);
        char b = 'e';
        if (send_all(fd, &b, 1) && recv_all(fd, &b, 1)) {
          ++done;
        } else if (++errors > 1000) {
          ::close(fd);
          return;
        }
        ::close(fd);
      }
    });
  }
  for (auto& t : threads)
    t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("conn_per_s=%.0f n=%ld errors=%ld\n", static_cast<double>(done) / elapsed,
              done.load(), errors.load());
  return done > 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// idle

struct Memory {
  long rss_kb = 0, hwm_kb = 0, pss_kb = 0;
  int procs = 0;
};

long status_field(const std::string& path, const char* key) {
  std::ifstream f(path);
  std::string line;
  const std::size_t klen = std::strlen(key);
  while (std::getline(f, line)) {
    if (line.compare(0, klen, key) == 0) return std::atol(line.c_str() + klen + 1);
  }
  return 0;
}

std::vector<int> process_tree(int root) {
  std::map<int, std::vector<int>> children;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
      std::string s;
      std::getline(f, s);
      auto rp = s.rfind(')');
      if (rp == std::string::npos) continue;
      std::istringstream rest(s.substr(rp + 2));
      char state;
      int ppid;
      rest >> state >> ppid;
      children[ppid].push_back(pid);
    }
    closedir(d);
  }
  std::vector<int> out{root};
  for (std::size_t i = 0; i < out.size(); ++i) {
    for (int c : children[out[i]])
      out.push_back(c);
  }
  return out;
}

Memory memory_of(int root) {
  Memory m;
  for (int pid : process_tree(root)) {
    std::string base = "/proc/" + std::to_string(pid);
    m.rss_kb += status_field(base + "/status", "VmRSS");
    m.hwm_kb += status_field(base + "/status", "VmHWM");
    m.pss_kb += status_field(base + "/smaps_rollup", "Pss");
    ++m.procs;
  }
  return m;
}

int idle(const Args& a) {
  raise_fd_limit();
  sockaddr_in sa = endpoint(a.get("connect", ""));
  const int pid = static_cast<int>(a.num("pid", 0));
  if (pid <= 0) die("idle: --pid is required");
  std::vector<long> steps;
  {
    std::istringstream in(a.get("steps", "1000,10000"));
    std::string s;
    while (std::getline(in, s, ','))
      steps.push_back(std::clamp(std::atol(s.c_str()), 1l, 100000l));
  }
  const int settle_ms = static_cast<int>(std::clamp(a.num("settle-ms", 300), 0l, 10000l));
  auto report = [&](long n) {
    Memory m = memory_of(pid);
    std::printf("idle n=%ld rss_kb=%ld hwm_kb=%ld pss_kb=%ld procs=%d\n", n, m.rss_kb, m.hwm_kb,
                m.pss_kb, m.procs);
    std::fflush(stdout);
  };
  report(0);
  std::vector<int> fds;
  for (long target : steps) {
    while (static_cast<long>(fds.size()) < target) {
      int fd = dial(sa, 5000);
      char b = 'e';
      if (fd < 0 || !send_all(fd, &b, 1) || !recv_all(fd, &b, 1)) {
        std::printf("error=connection %zu failed: %s\n", fds.size() + 1, std::strerror(errno));
        return 1;
      }
      fds.push_back(fd);
    }
    usleep(static_cast<useconds_t>(settle_ms) * 1000);
    report(target);
  }
  for (int fd : fds)
    ::close(fd);
  return 0;
}

// A port the kernel says is free now (for proxies that cannot listen on port 0).
int freeport() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = endpoint("127.0.0.1:0");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind failed");
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::printf("%d\n", ntohs(sa.sin_port));
  ::close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: flbench serve|throughput|rtt|connrate|idle [--key value]...\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const std::string cmd = argv[1];
  Args a = parse(argc, argv, 2);
  // The whole process is bounded: SIGALRM's default action ends it.
  alarm(static_cast<unsigned>(
      std::clamp(a.num("max-seconds", cmd == "serve" ? 3600 : 300), 1l, 86400l)));
  a.kv.erase("max-seconds");
  if (cmd == "serve") return serve(a);
  if (cmd == "throughput") return throughput(a);
  if (cmd == "rtt") return rtt(a);
  if (cmd == "connrate") return connrate(a);
  if (cmd == "idle") return idle(a);
  if (cmd == "freeport") return freeport();
  die("unknown subcommand " + cmd);
}
