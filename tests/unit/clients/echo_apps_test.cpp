// The two binaries as a user runs them: the server's first stdout line, its exit on SIGTERM
// and on a port in use; the client's exit codes and JSON summary.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace faultline::clients {
namespace {

using Clock = std::chrono::steady_clock;

// A child process with its stdout and stderr on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("spawn " + args[0]);
    }
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }

  // Reads stdout up to the first newline, waiting at most `deadline`.
  std::string first_line(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    while (out_.find('\n') == std::string::npos && pump(until)) {
    }
    return out_.substr(0, out_.find('\n'));
  }

  // Waits until both pipes close (the child has exited), then reaps it. -1 on timeout.
  int wait_exit(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    while (pump(until)) {
    }
    if (out_fd_ >= 0 || err_fd_ >= 0) return -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void signal(int sig) { ::kill(pid_, sig); }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // One poll over the open pipes; false when both are closed or the deadline passed.
  bool pump(Clock::time_point until) {
    std::vector<pollfd> fds;
    if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
    if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
    if (fds.empty()) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) return false;
    for (const auto& p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(p.fd, buffer, sizeof buffer);
      int& fd = p.fd == out_fd_ ? out_fd_ : err_fd_;
      std::string& text = p.fd == out_fd_ ? out_ : err_;
      if (n <= 0) {
        ::close(fd);
        fd = -1;
      } else {
        text.append(buffer, static_cast<std::size_t>(n));
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

constexpr std::chrono::seconds deadline{10};

TEST(EchoAppsTest, ServerPrintsItsPortServesTheClientAndExitsOnSigterm) {
  Child server({ECHO_SERVER_PATH, "--listen", "127.0.0.1:0", "--quiet"});
  const std::string line = server.first_line(deadline);
  ASSERT_EQ(line.rfind("listening on 127.0.0.1:", 0), 0u) << line;
  const std::string address = line.substr(std::string("listening on ").size());
  EXPECT_NE(address, "127.0.0.1:0");

  Child client({ECHO_CLIENT_PATH, "--connect", address, "--count", "100", "--size", "1-5000",
                "--pipeline", "4"});
  EXPECT_EQ(client.wait_exit(deadline), 0) << client.err();
  EXPECT_EQ(client.out().rfind("echo-client: 100/100 verified; partial_reads=", 0), 0u)
      << client.out();

  Child naive({ECHO_CLIENT_PATH, "--connect", address, "--naive", "--json"});
  EXPECT_EQ(naive.wait_exit(deadline), 0) << naive.err();
  EXPECT_NE(naive.out().find("\"outcome\":\"ok\""), std::string::npos) << naive.out();
  EXPECT_NE(naive.out().find("\"verified\":100,\"count\":100"), std::string::npos) << naive.out();

  // A second server on the same port cannot bind: non-zero, with a clear message.
  Child clash({ECHO_SERVER_PATH, "--listen", address});
  EXPECT_EQ(clash.wait_exit(deadline), 1);
  EXPECT_NE(clash.err().find("cannot listen on " + address), std::string::npos) << clash.err();

  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(deadline), 0);
}

TEST(EchoAppsTest, ClientExitCodes) {
  Child usage({ECHO_CLIENT_PATH, "--count", "3"});  // --connect missing
  EXPECT_EQ(usage.wait_exit(deadline), 2);
  Child bad_size({ECHO_CLIENT_PATH, "--connect", "127.0.0.1:1", "--size", "9-3"});
  EXPECT_EQ(bad_size.wait_exit(deadline), 2);
  Child help({ECHO_CLIENT_PATH, "--help"});
  EXPECT_EQ(help.wait_exit(deadline), 0);
  EXPECT_NE(help.out().find("6 could not connect"), std::string::npos);

  // Port 1 on loopback: nothing listens, so every connect is refused.
  Child refused(
      {ECHO_CLIENT_PATH, "--connect", "127.0.0.1:1", "--retries", "1", "--backoff", "1", "--json"});
  EXPECT_EQ(refused.wait_exit(deadline), 6);
  EXPECT_NE(refused.out().find("\"outcome\":\"connect\""), std::string::npos) << refused.out();
  EXPECT_NE(refused.out().find("\"connect_failures\":2"), std::string::npos) << refused.out();
  EXPECT_NE(refused.err().find("last error: ECONNREFUSED (Connection refused)"), std::string::npos)
      << refused.err();
}

}  // namespace
}  // namespace faultline::clients
