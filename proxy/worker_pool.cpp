#include "proxy/worker_pool.hpp"

#include <chrono>
#include <future>

#include <asio/post.hpp>

#include "proxy/platform/platform.hpp"
#include "proxy/session.hpp"

namespace faultline::proxy {

Worker::Worker(WorkerOptions options, MemoryBudget& budget, Resolver& resolver)
    : options_(options),
      budget_(budget),
      resolver_(resolver),
      time_(options.timer_spin),
      context_(1),
      guard_(asio::make_work_guard(context_)) {}

void Worker::add(const std::shared_ptr<Session>& session) {
  sessions_[session->id()] = session;
}

void Worker::remove(std::uint64_t session_id) {
  sessions_.erase(session_id);
}

void Worker::for_each_session(const std::function<void(Session&)>& fn) {
  // Copy first: fn may end a session, which removes it from the map.
  std::vector<std::shared_ptr<Session>> live;
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live)
    fn(*s);
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  platform::block_broken_pipe_on_this_thread();  // splice(2) has no MSG_NOSIGNAL
  platform::precise_timers_on_this_thread();
  if (options_.busy_poll.count() <= 0) {
    context_.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  // Sleep until something happens; then poll (epoll_wait with a zero timeout) until nothing
  // has happened for busy_poll. run_one() and poll() return 0 once the context is stopped
  // or out of work.
  while (context_.run_one() > 0) {
    auto last_work = Clock::now();
    for (;;) {
      std::size_t handled = context_.poll();
      if (context_.stopped()) return;
      auto now = Clock::now();
      if (handled > 0) {
        last_work = now;
      } else if (now - last_work >= options_.busy_poll) {
        break;
      }
    }
  }
}

void Worker::stop_when_idle() {
  asio::post(context_, [this] { guard_.reset(); });
}

void Worker::stop_now() {
  context_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

WorkerPool::WorkerPool(std::size_t threads, WorkerOptions options)
    : options_(options), budget_(std::make_unique<MemoryBudget>(options.memory_budget)) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(options, *budget_, resolver_));
    workers_.back()->start();
  }
}

WorkerPool::~WorkerPool() {
  shutdown(std::chrono::milliseconds(500));
}

Worker& WorkerPool::next() {
  return *workers_[next_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

void WorkerPool::shutdown(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->context(),
               [worker] { worker->for_each_session([](Session& s) { s.shutdown(); }); });
    worker->stop_when_idle();
  }
  // Sessions end within a few event loop turns; a stuck one must not keep the process alive.
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    auto done = std::async(std::launch::async, [worker] { worker->join(); });
    if (done.wait_until(deadline) != std::future_status::ready) worker->stop_now();
    done.wait();
  }
  // A lookup still running (a resolver that never answers) is abandoned, not waited for.
  resolver_.shutdown();
}

}  // namespace faultline::proxy
