// Each embedded proxy's own log. The component loggers (proxy/logging.cpp) are process-wide,
// shared by every proxy in the process, so a line cannot be told apart by its logger. It can
// by its thread: every proxy runs on threads of its own (its control thread and its workers),
// so one routing sink, added once to the component loggers, hands each line to the capture of
// the proxy whose thread logged it. Two proxies in one process keep their lines apart.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

namespace faultline::embed {

// The last `capacity` lines of one proxy, oldest first.
class LogCapture {
 public:
  LogCapture(std::size_t capacity, spdlog::level::level_enum level,
             std::function<void(std::string_view)> on_line);
  // The loggers are shared: they let through what the most talkative proxy asked for.
  bool wants(spdlog::level::level_enum level) const { return level >= level_; }
  void add(std::string line);
  std::vector<std::string> lines() const;

 private:
  const std::size_t capacity_;
  const spdlog::level::level_enum level_;
  const std::function<void(std::string_view)> on_line_;
  mutable std::mutex mutex_;
  std::deque<std::string> lines_;
};

// Adds the routing sink to the component loggers (once per process) and lowers their level to
// `level` where it is above. A process that never set Faultline's logging up gets the loggers
// with their stdout sink off: an embedded proxy prints nothing of its own. Where the process
// did set it up, its own sinks keep the level they had.
void route_component_logs(spdlog::level::level_enum level);

// This thread's lines go to `capture` from now on, or nowhere (detach).
void attach_this_thread(const std::shared_ptr<LogCapture>& capture);
void detach_thread(std::size_t thread_id);
std::size_t this_thread_id();  // as spdlog records it in every message

}  // namespace faultline::embed
