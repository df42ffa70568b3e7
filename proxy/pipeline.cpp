#include "proxy/pipeline.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "proxy/logging.hpp"

namespace faultline::proxy {
namespace {

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

RealTime& RealTime::instance() {
  static RealTime time;
  return time;
}

asio::awaitable<void> RealTime::sleep_until(faults::Clock::time_point t) {
  if (t <= faults::Clock::now()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, t);
  co_await timer.async_wait(asio::use_awaitable);  // throws when the connection ends
}

asio::awaitable<bool> RealTime::wait(faults::Signal& signal, faults::Clock::time_point deadline) {
  if (signal.consume()) co_return true;
  if (deadline <= faults::Clock::now()) co_return false;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  signal.set_waker([&timer] { timer.cancel(); });
  auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  signal.set_waker(nullptr);
  if (signal.consume()) co_return true;
  if (ec) throw asio::system_error(ec);  // cancelled: the connection is ending
  co_return false;
}

std::uint64_t derive_seed(std::uint64_t seed, std::string_view proxy, std::uint64_t connection,
                          Direction direction, std::size_t stage) {
  std::uint64_t h = splitmix(seed);
  for (char c : proxy) h = splitmix(h ^ static_cast<unsigned char>(c));
  h = splitmix(h ^ connection);
  h = splitmix(h ^ static_cast<std::uint64_t>(direction));
  return splitmix(h ^ stage);
}

// A stage is both the Sink the previous stage writes to and the FaultContext of its fault.
class Pipeline::Stage final : public faults::Sink, public faults::FaultContext {
 public:
  Stage(asio::any_io_executor executor, TimeSource& time, const faults::CompiledFault& compiled,
        Direction direction, const ConnectionInfo& connection, std::size_t index,
        faults::Sink& next)
      : executor_(executor),
        time_(time),
        spec_(compiled.spec),
        direction_(direction),
        connection_(connection),
        next_(next),
        rng_(derive_seed(connection.proxy->seed(), connection.proxy->name(), connection.index,
                         direction, index)) {
    // Drawn once per connection and direction, in a fixed order, so a seed replays exactly.
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    bool drawn = spec_.toxicity >= 1.0 || coin(rng_) < spec_.toxicity;
    on_ = drawn && spec_.connections.matches(connection.index);
    if (on_) {
      fault_ = compiled.factory->create();
      if (std::size_t n = fault_->buffer_chunks(); n > 0) {
        queue_ = std::make_unique<Queue>(executor_, n);
      }
    }
  }

  bool on() const { return on_; }
  faults::Fault& fault() { return *fault_; }
  bool queued() const { return queue_ != nullptr; }

  // Sink: what the previous stage (or the pump) hands in.
  asio::awaitable<void> write(faults::Chunk chunk) override {
    if (!on_) {
      co_await next_.write(std::move(chunk));
    } else if (queue_) {
      co_await queue_->async_send(asio::error_code{}, std::move(chunk), asio::use_awaitable);
    } else {
      co_await process(std::move(chunk));
    }
  }

  asio::awaitable<void> finish() override {
    if (!on_) {
      co_await next_.finish();
    } else if (queue_) {
      // An empty chunk with no arrival time marks EOF behind everything queued.
      // An empty chunk marks EOF (a read never yields zero bytes), stamped with its arrival.
      // Named, not a temporary in the co_await: see the note in Session::pump.
      faults::Chunk eof{{}, now()};
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
      if (chunk.bytes.empty()) {
        co_await end_of_stream(chunk.received_at);
        co_return;
      }
      co_await process(std::move(chunk));
    }
  }

  asio::awaitable<void> watch() { co_await fault_->watch(next_, *this); }

  asio::awaitable<void> before_dial() {
    if (active_at(now())) co_await fault_->before_dial(*this);
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
  faults::Sink& next_;
  std::mt19937_64 rng_;
  bool on_ = false;
  std::unique_ptr<faults::Fault> fault_;
  std::unique_ptr<Queue> queue_;
  faults::Clock::time_point eof_received_at_{};
};

Pipeline::Pipeline(asio::any_io_executor executor, TimeSource& time, const FaultSet& faults,
                   Direction direction, const ConnectionInfo& connection, faults::Sink& terminal)
    : head_(&terminal) {
  // Built back to front: each stage writes into the one after it. A connection-scoped fault
  // (one that acts on the connection, not on a stream) sits in the downstream pipeline only,
  // so it acts once per connection; listener faults live in the listener.
  std::vector<const faults::CompiledFault*> mine;
  for (const auto& f : faults.faults) {
    bool here = f.scope == faults::FaultScope::stream
                    ? applies_to(f.spec.stream, direction)
                    : f.scope == faults::FaultScope::connection && direction == Direction::downstream;
    if (here) mine.push_back(&f);
  }
  for (std::size_t i = mine.size(); i-- > 0;) {
    auto stage =
        std::make_unique<Stage>(executor, time, *mine[i], direction, connection, i, *head_);
    if (!stage->on()) continue;  // not drawn or not this connection: no stage at all
    head_ = stage.get();
    stages_.push_back(std::move(stage));
  }
}

Pipeline::~Pipeline() = default;

asio::awaitable<void> Pipeline::before_dial() {
  // stages_ is back to front; hooks run in config order.
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it) co_await (*it)->before_dial();
}

std::vector<Pipeline::Task> Pipeline::tasks() {
  std::vector<Task> tasks;
  for (auto& stage : stages_) {
    Stage* s = stage.get();
    if (s->queued()) tasks.push_back({[s] { return s->drain(); }, true});
    tasks.push_back({[s] { return s->watch(); }, false});
  }
  return tasks;
}

}  // namespace faultline::proxy
