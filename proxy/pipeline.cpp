#include "proxy/pipeline.hpp"

#include <algorithm>
#include <atomic>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "proxy/logging.hpp"

namespace faultline::proxy {
namespace {

std::atomic<std::int64_t> g_live_stages{0};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool applies_to(config::Stream stream, Direction d) {
  return stream == config::Stream::both ||
         (stream == config::Stream::upstream) == (d == Direction::upstream);
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, std::string_view proxy, std::uint64_t connection,
                          Direction direction, std::size_t stage) {
  std::uint64_t h = splitmix(seed);
  for (char c : proxy)
    h = splitmix(h ^ static_cast<unsigned char>(c));
  h = splitmix(h ^ connection);
  h = splitmix(h ^ static_cast<std::uint64_t>(direction));
  return splitmix(h ^ stage);
}

static bool same_fault(const config::FaultSpec& a, const config::FaultSpec& b) {
  if (a.name != b.name || a.type != b.type || a.stream != b.stream || a.toxicity != b.toxicity ||
      a.after != b.after || a.duration != b.duration || !(a.connections == b.connections) ||
      a.attributes.size() != b.attributes.size()) {
    return false;
  }
  for (const auto& [key, value] : a.attributes) {
    auto it = b.attributes.find(key);
    if (it == b.attributes.end() || it->second.text != value.text) return false;
  }
  return true;
}

// The Sink a fault writes to. It stays the same object for the fault's whole life while the
// stage behind it may change (a live rebuild re-links the pipeline under a running watch()).
// It also keeps that stage alive: a stage that left the pipeline lives on until its own
// coroutines end, and whatever it may still write into must outlive it.
class ForwardSink final : public faults::Sink {
 public:
  void set(faults::Sink* target, std::shared_ptr<faults::Sink> owner) {
    target_ = target;
    owner_ = std::move(owner);
  }
  // Each call holds its target: a live change may re-link this sink while a write into a
  // stage that is leaving is still in progress.
  asio::awaitable<void> write(faults::Chunk chunk) override {
    auto hold = owner_;
    co_await target_->write(std::move(chunk));
  }
  asio::awaitable<void> finish() override {
    auto hold = owner_;
    co_await target_->finish();
  }
  asio::awaitable<void> abort(faults::Abort how, faults::Peer who) override {
    auto hold = owner_;
    co_await target_->abort(how, who);
  }

 private:
  faults::Sink* target_ = nullptr;
  std::shared_ptr<faults::Sink> owner_;  // null for the terminal sink (the session's)
};

// A stage is both the Sink the previous stage writes to and the FaultContext of its fault.
// Its coroutines hold it (and it holds the stage it writes into), so a stage that leaves the
// pipeline in a live change is freed as soon as its last coroutine has ended.
class Pipeline::Stage final : public faults::Sink,
                              public faults::FaultContext,
                              public std::enable_shared_from_this<Stage> {
 public:
  Stage(asio::any_io_executor executor, TimeSource& time, const faults::CompiledFault& compiled,
        Direction direction, const ConnectionInfo& connection, std::size_t index)
      : executor_(executor),
        time_(time),
        spec_(compiled.spec),
        direction_(direction),
        connection_(connection),
        rng_(derive_seed(connection.proxy->seed(), connection.proxy->name(), connection.index,
                         direction, index)) {
    g_live_stages.fetch_add(1, std::memory_order_relaxed);
    // Drawn once per connection and direction, and kept across live changes that leave this
    // fault as it is, so a seed replays exactly.
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    bool drawn = spec_.toxicity >= 1.0 || coin(rng_) < spec_.toxicity;
    on_ = drawn && spec_.connections.matches(connection.index);
    if (on_) {
      fault_ = compiled.factory->create();
      if (std::size_t n = fault_->buffer_chunks(); n > 0) {
        queue_ = std::make_unique<Queue>(executor_, n);
        queue_limit_ = fault_->buffer_bytes();
      }
    }
  }

  ~Stage() override {
    if (holder_) connection_.budget->close(*holder_);  // queued chunks, coalesced bytes
    g_live_stages.fetch_sub(1, std::memory_order_relaxed);
  }

  const config::FaultSpec& spec() const { return spec_; }
  bool on() const { return on_; }
  bool queued() const { return queue_ != nullptr; }
  void set_next(faults::Sink* next, std::shared_ptr<Stage> owner) {
    next_.set(next, std::move(owner));
  }

  void start(TaskSpawner& spawner) {
    if (!on_ || started_) return;  // once: two drainers on one queue would split its EOF
    started_ = true;
    spawner_ = &spawner;
    auto self = shared_from_this();
    if (queue_) {
      tasks_.push_back(spawner.spawn([self] { return drain_task(self); }, TaskKind::data));
    }
    tasks_.push_back(spawner.spawn([self] { return watch_task(self); }, TaskKind::watcher));
  }

  // Leaving the pipeline: its coroutines end (the drainer has nothing queued by then).
  void stop() {
    for (TaskId task : tasks_)
      spawner_->cancel(task);
    tasks_.clear();
  }

  // Sink: what the previous stage (or the pump) hands in.
  asio::awaitable<void> write(faults::Chunk chunk) override {
    if (!on_) {
      co_await next_.write(std::move(chunk));
    } else if (queue_) {
      // Bounded in bytes as well as chunks: a peer that never reads must not make a queue
      // hold 4096 buffers of 64 KiB. Past the budget, the reader waits (backpressure).
      const std::size_t size = chunk.bytes.capacity();
      while (queued_bytes_ > 0 && queued_bytes_ + size > queue_limit_) {
        co_await time_.wait(space_, faults::Clock::time_point::max());
      }
      // And the process's budget, shared with every other connection.
      co_await hold(size);
      queued_bytes_ += size;
      ++queued_chunks_;
      co_await queue_->async_send(asio::error_code{}, std::move(chunk), asio::use_awaitable);
    } else {
      co_await process(std::move(chunk));
    }
  }

  asio::awaitable<void> finish() override {
    if (!on_) {
      co_await next_.finish();
    } else if (queue_) {
      // An empty chunk marks EOF (a read never yields zero bytes), stamped with its arrival.
      // Named, not a temporary in the co_await: see the note in Session::copy_step (GCC bug
      // 101367).
      faults::Chunk eof{{}, now()};
      ++queued_chunks_;
      co_await queue_->async_send(asio::error_code{}, std::move(eof), asio::use_awaitable);
    } else {
      co_await end_of_stream(now());
    }
  }

  asio::awaitable<void> abort(faults::Abort how, faults::Peer who) override {
    co_await next_.abort(how, who);
  }

  // The drainer of a queued stage: data path, ends after EOF.
  asio::awaitable<void> drain() {
    for (;;) {
      faults::Chunk chunk = co_await queue_->async_receive(asio::use_awaitable);
      const bool eof = chunk.bytes.empty();
      const std::size_t size = chunk.bytes.capacity();
      if (eof) {
        co_await end_of_stream(chunk.received_at);
      } else {
        co_await process(std::move(chunk));
      }
      queued_bytes_ -= size;
      release(size);
      space_.notify();
      if (--queued_chunks_ == 0) drained_.notify();
      if (eof) co_return;
    }
  }

  // Before a live change: everything this stage accepted has been handed on.
  asio::awaitable<void> hand_over() {
    if (!on_) co_return;
    while (queued_chunks_ > 0) {
      co_await time_.wait(drained_, faults::Clock::time_point::max());
    }
    drained_.consume();
    co_await fault_->on_handover(next_, *this);
  }

  asio::awaitable<void> watch() { co_await fault_->watch(next_, *this); }

  // A task's frame owns the stage (a parameter lives in the coroutine frame).
  static asio::awaitable<void> drain_task(std::shared_ptr<Stage> self) { co_await self->drain(); }
  static asio::awaitable<void> watch_task(std::shared_ptr<Stage> self) { co_await self->watch(); }

  asio::awaitable<void> before_dial() {
    if (on_ && active_at(now())) co_await fault_->before_dial(*this);
  }

  // FaultContext.
  faults::Clock::time_point now() const override { return time_.now(); }
  asio::awaitable<void> sleep_until(faults::Clock::time_point t) override {
    co_await time_.sleep_until(t);
  }
  asio::awaitable<bool> wait(faults::Signal& signal, faults::Clock::time_point deadline) override {
    co_return co_await time_.wait(signal, deadline);
  }
  faults::Clock::time_point eof_received_at() const override { return eof_received_at_; }
  asio::awaitable<void> hold(std::size_t bytes) override {
    MemoryBudget* budget = connection_.budget;
    if (!budget || bytes == 0) co_return;
    if (!holder_) holder_ = budget->holder();
    // Granted on whichever thread gives bytes back: the wake-up comes home through a post.
    auto wake = [weak = weak_from_this(), executor = executor_] {
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->budget_space_.notify();
      });
    };
    while (!budget->take(holder_, bytes, wake)) {
      co_await time_.wait(budget_space_, faults::Clock::time_point::max());
    }
  }
  void release(std::size_t bytes) override {
    if (holder_ && bytes > 0) connection_.budget->give(*holder_, bytes);
  }
  std::mt19937_64& rng() override { return rng_; }
  faults::Clock::time_point connected_at() const override { return connection_.connected_at; }
  faults::Clock::time_point active_from() const override {
    return connection_.connected_at + spec_.after;
  }
  faults::Clock::time_point active_until() const override {
    if (!spec_.duration) return faults::Clock::time_point::max();
    return active_from() + *spec_.duration;
  }
  void fired(std::string_view detail) override {
    auto since = std::chrono::duration<double>(now() - connection_.connected_at);
    log_fault().info("[C{}] fault {} ({}, {}) fired{}{} after {:.3f}s", connection_.id, spec_.name,
                     spec_.type, to_string(direction_), detail.empty() ? "" : ": ", detail,
                     since.count());
    connection_.proxy->stats.count_fired(spec_.type);
  }

 private:
  using Queue = asio::experimental::channel<void(asio::error_code, faults::Chunk)>;

  asio::awaitable<void> process(faults::Chunk chunk) {
    if (active_at(chunk.received_at)) {
      co_await fault_->on_data(std::move(chunk), next_, *this);
    } else {
      co_await next_.write(std::move(chunk));
    }
  }

  asio::awaitable<void> end_of_stream(faults::Clock::time_point received_at) {
    eof_received_at_ = received_at;
    if (active_at(received_at)) {
      co_await fault_->on_eof(next_, *this);
    } else {
      co_await next_.finish();
    }
  }

  asio::any_io_executor executor_;
  TimeSource& time_;
  const config::FaultSpec spec_;
  const Direction direction_;
  const ConnectionInfo& connection_;
  ForwardSink next_;
  std::mt19937_64 rng_;
  bool on_ = false;
  std::unique_ptr<faults::Fault> fault_;
  std::unique_ptr<Queue> queue_;
  std::size_t queue_limit_ = 0;    // bytes: the fault's buffer_bytes()
  std::size_t queued_chunks_ = 0;  // accepted into the queue, not yet handed on
  std::size_t queued_bytes_ = 0;   // their buffers' capacity
  faults::Signal space_;
  faults::Signal drained_;
  std::shared_ptr<MemoryBudget::Holder> holder_;  // made at the first hold()
  faults::Signal budget_space_;                   // a queued hold() was granted
  TaskSpawner* spawner_ = nullptr;
  std::vector<TaskId> tasks_;
  bool started_ = false;
  faults::Clock::time_point eof_received_at_{};
};

namespace {

bool belongs(const faults::CompiledFault& f, Direction direction) {
  // A connection-scoped fault (one that acts on the connection, not on a stream) sits in the
  // downstream pipeline only, so it acts once per connection; listener faults live in the
  // listener.
  switch (f.scope) {
    case faults::FaultScope::stream:
      return applies_to(f.spec.stream, direction);
    case faults::FaultScope::connection:
      return direction == Direction::downstream;
    case faults::FaultScope::listener:
      return false;
  }
  return false;
}

}  // namespace

Pipeline::Pipeline(asio::any_io_executor executor, TimeSource& time, const FaultSet& faults,
                   Direction direction, const ConnectionInfo& connection, faults::Sink& terminal)
    : executor_(executor),
      time_(time),
      direction_(direction),
      connection_(connection),
      terminal_(terminal),
      head_(&terminal) {
  std::size_t index = 0;
  for (const auto& f : faults.faults) {
    if (belongs(f, direction)) stages_.push_back(make_stage(f, index++));
  }
  link();
}

Pipeline::~Pipeline() = default;

std::int64_t Pipeline::live_stages() {
  return g_live_stages.load(std::memory_order_relaxed);
}

std::shared_ptr<Pipeline::Stage> Pipeline::make_stage(const faults::CompiledFault& fault,
                                                      std::size_t index) {
  return std::make_shared<Stage>(executor_, time_, fault, direction_, connection_, index);
}

void Pipeline::link() {
  // Each stage that is on writes into the next one that is on; stages that are off (not
  // drawn, or not this connection) are skipped, so they cost nothing per chunk.
  faults::Sink* next = &terminal_;
  std::shared_ptr<Stage> owner;
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) {
    if (!(*it)->on()) continue;
    (*it)->set_next(next, owner);
    owner = *it;
    next = it->get();
  }
  head_ = next;
}

void Pipeline::start(TaskSpawner& spawner) {
  for (auto& stage : stages_)
    stage->start(spawner);
}

asio::awaitable<void> Pipeline::before_dial() {
  for (auto& stage : stages_)
    co_await stage->before_dial();
}

asio::awaitable<void> Pipeline::rebuild(const FaultSet& faults, TaskSpawner& spawner) {
  // 1. Hand over, head to tail, so bytes held anywhere reach the socket in order.
  for (auto& stage : stages_)
    co_await stage->hand_over();

  // 2. Keep what is unchanged, make what is new.
  std::vector<std::shared_ptr<Stage>> next;
  std::vector<std::shared_ptr<Stage>> fresh;
  std::size_t index = 0;
  for (const auto& f : faults.faults) {
    if (!belongs(f, direction_)) continue;
    auto old = std::find_if(stages_.begin(), stages_.end(),
                            [&](const auto& s) { return s && same_fault(s->spec(), f.spec); });
    if (old != stages_.end()) {
      next.push_back(std::move(*old));
    } else {
      next.push_back(make_stage(f, index));
      fresh.push_back(next.back());
    }
    ++index;
  }
  // 3. Stop what left. Each is freed once its coroutines have seen the cancellation.
  for (auto& stage : stages_) {
    if (stage) stage->stop();
  }
  stages_ = std::move(next);
  link();
  for (auto& stage : fresh)
    stage->start(spawner);
}

}  // namespace faultline::proxy
