// pipeline_bench: the cost of proxy::Pipeline alone, no sockets. The real Pipeline (stages,
// queues, conditions) runs on one io_context with a counting sink at the end, fed 1 KiB chunks
// from the per-thread BufferPool as the pump does. Time is virtual (sleepers wake in time
// order only when nothing else can run), so a 100 ms latency costs its timer work, not 100 ms.
//
//   build-bench/bin/pipeline_bench                       (scripts/bench --pipeline runs it)
//   items_per_second = chunks/s into the pipeline head; bytes_per_second likewise.
#include <benchmark/benchmark.h>

#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <string>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/logging.hpp"
#include "proxy/pipeline.hpp"
#include "control/server.hpp"

namespace {

using namespace faultline;
using faults::Clock;

class VirtualTime final : public proxy::TimeSource {
 public:
  explicit VirtualTime(asio::io_context& context) : context_(context) {}
  Clock::time_point now() const override { return now_; }

  asio::awaitable<void> sleep_until(Clock::time_point t) override {
    if (t <= now_) co_return;
    Sleeper s{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
    auto it = sleepers_.emplace(t, &s);
    co_await s.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (!s.woken) {
      sleepers_.erase(it);
      throw asio::system_error(asio::error::operation_aborted);
    }
  }

  asio::awaitable<bool> wait(faults::Signal& signal, Clock::time_point deadline) override {
    if (signal.consume()) co_return true;
    if (deadline <= now_) co_return false;
    Sleeper s{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
    auto it = sleepers_.emplace(deadline, &s);
    signal.set_waker([&] {
      if (s.woken) return;
      s.woken = true;
      sleepers_.erase(it);
      s.timer.cancel();
    });
    co_await s.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    signal.set_waker(nullptr);
    if (!s.woken) {
      sleepers_.erase(it);
      throw asio::system_error(asio::error::operation_aborted);
    }
    co_return signal.consume();
  }

  // Runs until nothing is ready and nobody sleeps (or only sleepers past `limit`).
  void run(Clock::time_point limit) {
    for (;;) {
      context_.restart();
      context_.poll();
      if (sleepers_.empty()) return;
      auto it = sleepers_.begin();
      if (it->first > limit) return;
      now_ = it->first;
      it->second->woken = true;
      it->second->timer.cancel();
      sleepers_.erase(it);
    }
  }

 private:
  struct Sleeper {
    asio::steady_timer timer;
    bool woken = false;
  };
  asio::io_context& context_;
  Clock::time_point now_ = Clock::time_point{} + std::chrono::hours(1);
  std::multimap<Clock::time_point, Sleeper*> sleepers_;
};

class CountingSink final : public faults::Sink {
 public:
  asio::awaitable<void> write(faults::Chunk chunk) override {
    ++chunks;
    bytes += chunk.bytes.size();
    proxy::BufferPool::local().give(std::move(chunk.bytes));
    co_return;
  }
  asio::awaitable<void> finish() override {
    finished = true;
    co_return;
  }
  asio::awaitable<void> abort(faults::Abort, faults::Peer) override {
    aborted = true;
    co_return;
  }
  std::uint64_t chunks = 0, bytes = 0;
  bool finished = false, aborted = false;
};

const faults::FaultRegistry& registry() {
  static faults::FaultRegistry r = [] {
    faults::FaultRegistry reg;
    faults::register_builtin_faults(reg);
    return reg;
  }();
  return r;
}

// One connection's downstream pipeline with the given `faults:` items.
class Rig final : private proxy::TaskSpawner {
 public:
  explicit Rig(const std::string& faults_yaml) {
    std::string y =
        "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
        "    faults:" +
        (faults_yaml.empty() ? std::string(" []\n") : "\n" + faults_yaml);
    config::Config cfg = config::load_config_string(y, "bench.yaml");
    faults_ = proxy::compile_faults(cfg.proxies[0].faults, registry());
    proxy_ = std::make_shared<proxy::ProxyState>(cfg.proxies[0], 1, faults_);
    info_ = proxy::ConnectionInfo{1, 1, time_.now(), proxy_};
    pipeline_ = std::make_unique<proxy::Pipeline>(context_.get_executor(), time_, *faults_,
                                                  proxy::Direction::downstream, info_, sink_);
    pipeline_->start(*this);
  }

  ~Rig() {
    asio::co_spawn(context_, finish(), asio::detached);
    time_.run(Clock::time_point::max());
    for (auto& s : signals_)
      s.emit(asio::cancellation_type::terminal);
    context_.restart();
    context_.poll();
    pipeline_.reset();
  }

  // Writes `n` chunks of `size` bytes into the pipeline head and runs until all is handed on.
  void batch(int n, std::size_t size) {
    asio::co_spawn(context_, feed(n, size), asio::detached);
    time_.run(Clock::time_point::max() - std::chrono::hours(1));
  }
  const CountingSink& sink() const { return sink_; }

 private:
  asio::awaitable<void> feed(int n, std::size_t size) {
    proxy::BufferPool& pool = proxy::BufferPool::local();
    for (int i = 0; i < n; ++i) {
      faults::Bytes b = pool.take();
      b.resize(size);
      faults::Chunk chunk{std::move(b), time_.now()};
      co_await pipeline_->head().write(std::move(chunk));
    }
  }
  asio::awaitable<void> finish() { co_await pipeline_->head().finish(); }

  proxy::TaskId spawn(std::function<asio::awaitable<void>()> make, proxy::TaskKind) override {
    asio::cancellation_signal& s = signals_.emplace_back();
    asio::co_spawn(context_, make(),
                   asio::bind_cancellation_slot(s.slot(), [](std::exception_ptr) {}));
    return signals_.size();
  }
  void cancel(proxy::TaskId task) override {
    auto it = signals_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(task - 1));
    it->emit(asio::cancellation_type::terminal);
  }

  asio::io_context context_{1};
  VirtualTime time_{context_};
  std::shared_ptr<const proxy::FaultSet> faults_;
  std::shared_ptr<proxy::ProxyState> proxy_;
  proxy::ConnectionInfo info_;
  CountingSink sink_;
  std::unique_ptr<proxy::Pipeline> pipeline_;
  std::list<asio::cancellation_signal> signals_;
};

constexpr int kBatch = 1024;
constexpr std::size_t kChunk = 1024;

void run(benchmark::State& state, const std::string& faults_yaml) {
  proxy::setup_logging("warn", config::LogFormat::text);
  Rig rig(faults_yaml);
  for (auto _ : state)
    rig.batch(kBatch, kChunk);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<std::int64_t>(kChunk));
  state.counters["out_chunks_per_in"] =
      static_cast<double>(rig.sink().chunks) / static_cast<double>(state.iterations() * kBatch);
}

// A fault that is on and sees every chunk but changes nothing: limit_data far above the bytes.
std::string pass_through(int n) {
  std::string y;
  for (int i = 0; i < n; ++i) {
    y += "      - { type: limit_data, name: pass" + std::to_string(i) + ", bytes: 512GiB }\n";
  }
  return y;
}

void BM_PassThrough(benchmark::State& state) {
  run(state, pass_through(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_PassThrough)->Arg(0)->Arg(1)->Arg(5);

// Off stages (toxicity 0) are unlinked: this shows they cost nothing per chunk.
void BM_OffStages5(benchmark::State& state) {
  std::string y;
  for (int i = 0; i < 5; ++i) {
    y += "      - { type: latency, name: off" + std::to_string(i) +
         ", latency: 1ms, toxicity: 0 }\n";
  }
  run(state, y);
}
BENCHMARK(BM_OffStages5);

void BM_Latency100ms(benchmark::State& state) {
  run(state, "      - { type: latency, latency: 100ms }\n");
}
BENCHMARK(BM_Latency100ms);

void BM_Slicer64B(benchmark::State& state) {
  run(state, "      - { type: slicer, average_size: 64 }\n");
}
BENCHMARK(BM_Slicer64B);

void BM_Coalesce64KiB(benchmark::State& state) {
  run(state, "      - { type: coalesce, max_bytes: 64KiB, window: 1ms }\n");
}
BENCHMARK(BM_Coalesce64KiB);

void BM_Bandwidth1GBps(benchmark::State& state) {
  run(state, "      - { type: bandwidth, rate: 1GB/s }\n");
}
BENCHMARK(BM_Bandwidth1GBps);

}  // namespace

BENCHMARK_MAIN();
