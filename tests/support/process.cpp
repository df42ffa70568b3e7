#include "tests/support/process.hpp"
#include "tests/support/paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace faultline::test {

Process::Process(std::vector<std::string> argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_ = fds[0];
}

Process::~Process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  if (out_ >= 0) ::close(out_);
}

bool Process::read_more(std::chrono::milliseconds timeout) {
  pollfd p{out_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[4096];
  ssize_t n = ::read(out_, buf, sizeof buf);
  if (n <= 0) return false;
  output_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::smatch> Process::wait_for_line(const std::regex& re,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t nl;
    while ((nl = output_.find('\n', scanned_)) != std::string::npos) {
      last_line_ = output_.substr(scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (std::regex_search(last_line_, match_, re)) return match_;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !read_more(left)) return std::nullopt;
  }
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      while (read_more(std::chrono::milliseconds(0))) {
      }
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // Drain output while waiting so a chatty child never blocks on a full pipe.
    if (!read_more(std::chrono::milliseconds(5))) {
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 5);
    }
  }
}

void Process::signal(int signo) {
  if (!status_ && pid_ > 0) ::kill(pid_, signo);
}

std::string binary_path(const std::string& name) {
  return binary_dir() + "/bin/" + name;
}

std::string write_temp_file(const std::string& name, const std::string& content) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      std::string(tmp ? tmp : "/tmp") + "/faultline-test-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + name;
  std::ofstream(path) << content;
  return path;
}

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

long rss_kib() {
  return status_kib(getpid(), "VmRSS");
}

}  // namespace faultline::test
