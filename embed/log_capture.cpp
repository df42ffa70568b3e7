#include "embed/log_capture.hpp"

#include <array>
#include <unordered_map>

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "proxy/logging.hpp"

namespace faultline::embed {
namespace {

// The component loggers of proxy/logging.cpp.
constexpr std::array<const char*, 5> kComponents = {"proxy", "session", "fault", "config", "api"};

class RoutingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void attach(std::size_t thread_id, std::shared_ptr<LogCapture> capture) {
    std::lock_guard lock(mutex_);
    captures_[thread_id] = std::move(capture);
  }
  void detach(std::size_t thread_id) {
    std::lock_guard lock(mutex_);
    captures_.erase(thread_id);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto it = captures_.find(msg.thread_id);
    if (it == captures_.end() || !it->second->wants(msg.level)) return;  // not ours
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.pop_back();
    it->second->add(std::move(line));
  }
  void flush_() override {}

 private:
  std::unordered_map<std::size_t, std::shared_ptr<LogCapture>> captures_;  // by thread
};

std::mutex g_install_mutex;
std::shared_ptr<RoutingSink> g_router;  // set once, never removed

RoutingSink& router() {
  std::lock_guard lock(g_install_mutex);
  if (!g_router) throw std::logic_error("route_component_logs() was not called");
  return *g_router;
}

}  // namespace

LogCapture::LogCapture(std::size_t capacity, spdlog::level::level_enum level,
                       std::function<void(std::string_view)> on_line)
    : capacity_(capacity), level_(level), on_line_(std::move(on_line)) {}

void LogCapture::add(std::string line) {
  if (on_line_) on_line_(line);
  std::lock_guard lock(mutex_);
  if (capacity_ == 0) return;
  if (lines_.size() == capacity_) lines_.pop_front();
  lines_.push_back(std::move(line));
}

std::vector<std::string> LogCapture::lines() const {
  std::lock_guard lock(mutex_);
  return {lines_.begin(), lines_.end()};
}

void route_component_logs(spdlog::level::level_enum level) {
  std::lock_guard lock(g_install_mutex);
  if (!g_router) {
    // Nobody set the loggers up: create them silent (the stdout sink off).
    if (!spdlog::get(kComponents[0])) proxy::setup_logging("off", config::LogFormat::text);
    g_router = std::make_shared<RoutingSink>();
    g_router->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %-5l %-7n %v", spdlog::pattern_time_type::utc));
    for (const char* name : kComponents) {
      auto logger = spdlog::get(name);
      // The process's own sinks keep what the logger let through until now.
      for (auto& sink : logger->sinks())
        sink->set_level(logger->level());
      logger->sinks().push_back(g_router);
    }
  }
  for (const char* name : kComponents) {
    auto logger = spdlog::get(name);
    if (logger && level < logger->level()) logger->set_level(level);
  }
}

std::size_t this_thread_id() {
  return spdlog::details::os::thread_id();
}

void attach_this_thread(const std::shared_ptr<LogCapture>& capture) {
  router().attach(this_thread_id(), capture);
}

void detach_thread(std::size_t thread_id) {
  router().detach(thread_id);
}

}  // namespace faultline::embed
