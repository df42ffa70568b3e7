// A child process for tests: the real binaries, with their stdout+stderr captured, waited on
// with deadlines, and killed (by PID, the one we started) if a test ends early.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace faultline::test {

class Process {
 public:
  explicit Process(std::vector<std::string> argv);
  ~Process();  // SIGKILL + reap if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until a line matches; returns the match, or nullopt at the deadline or EOF.
  std::optional<std::smatch> wait_for_line(const std::regex& re, std::chrono::milliseconds timeout);
  // Waits for exit; returns the exit status (or 128+signal), nullopt at the deadline.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int signo);
  const std::string& output() const { return output_; }  // everything read so far

 private:
  bool read_more(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::size_t scanned_ = 0;
  std::string last_line_;
  std::smatch match_;
  std::optional<int> status_;
};

std::string binary_path(const std::string& name);  // binary_dir()/bin/NAME
// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); -1 when there is none.
long status_kib(pid_t pid, const std::string& field);
long rss_kib();  // this process's VmRSS
std::string write_temp_file(const std::string& name, const std::string& content);

}  // namespace faultline::test
