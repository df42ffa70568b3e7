// One io_context per thread. A session lives on one worker for its whole life, so nothing in a
// session needs a lock; listeners hand accepted sockets out round-robin.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include "proxy/congestion.hpp"
#include "proxy/memory_budget.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/resolver.hpp"

namespace faultline::proxy {

class Session;

// Off by default: faultline runs beside the system it tests, usually on a small CI runner, and
// what it spins is taken from that system. The low-latency profile turns both on.
struct WorkerOptions {
  // After each burst of work a worker keeps polling its sockets this long before it sleeps
  // in epoll_wait: the next packet of a busy connection then costs no thread wake-up (the
  // largest part of a round trip through the proxy on a VM), for up to this much CPU per
  // burst. An idle proxy uses no CPU either way.
  std::chrono::microseconds busy_poll{0};
  // Relay a connection that has no fault on with splice(2) (Linux): socket to pipe to
  // socket, the bytes never enter user space.
  bool splice = true;
  // Fault timers wake this early and poll until due (see RealTime): delays accurate to a few
  // microseconds instead of the 0.1-0.5 ms a VM takes to wake a sleeping thread, for up to
  // this much CPU per timer (per chunk under latency, per piece under slicer).
  std::chrono::microseconds timer_spin{0};
  // The congestion control of the proxy's own sockets (see CongestionPolicy).
  CongestionPolicy congestion;
  // Bytes all faults of the process may hold at once (see MemoryBudget).
  std::size_t memory_budget = kDefaultMemoryBudget;
};

// `--profile low-latency`: CPU traded for round trips and timer precision.
inline constexpr std::chrono::microseconds kLowLatencyBusyPoll{50};
inline constexpr std::chrono::microseconds kLowLatencyTimerSpin{500};

class Worker {
 public:
  Worker(WorkerOptions options, MemoryBudget& budget, Resolver& resolver);
  asio::io_context& context() { return context_; }
  Resolver& resolver() { return resolver_; }  // the pool's: upstream names, off this thread
  const WorkerOptions& options() const { return options_; }
  RealTime& time() { return time_; }          // for the pipelines of this worker's sessions
  MemoryBudget& budget() { return budget_; }  // the process's, shared by every worker

  // Only from this worker's thread.
  void add(const std::shared_ptr<Session>& session);
  void remove(std::uint64_t session_id);
  void for_each_session(const std::function<void(Session&)>& fn);

  void start();
  void stop_when_idle();  // drops the work guard: run() returns once every session has ended
  void stop_now();
  void join();

 private:
  void run();

  WorkerOptions options_;
  MemoryBudget& budget_;
  Resolver& resolver_;
  RealTime time_;
  asio::io_context context_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::unordered_map<std::uint64_t, std::weak_ptr<Session>> sessions_;
  std::thread thread_;
};

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, WorkerOptions options);
  ~WorkerPool();

  Worker& next();
  const WorkerOptions& options() const { return options_; }
  MemoryBudget& budget() { return *budget_; }
  std::vector<std::unique_ptr<Worker>>& workers() { return workers_; }
  // Ends every session (FIN), waits up to `grace` for them, then stops the threads.
  void shutdown(std::chrono::milliseconds grace);

 private:
  WorkerOptions options_;
  std::unique_ptr<MemoryBudget> budget_;  // before the workers: they refer to it
  Resolver resolver_;                     // shut down before the workers' io_contexts go
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<std::size_t> next_{0};
  bool stopped_ = false;
};

}  // namespace faultline::proxy
