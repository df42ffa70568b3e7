// pipeline_bench: the cost of proxy::Pipeline alone, no sockets. The real Pipeline (stages,
// queues, conditions) runs on one io_context with a counting sink at the end, fed 1 KiB chunks
// from the per-thread BufferPool as the pump does. Time is the unit tests' virtual clock
// (sleepers wake in time order only when nothing else can run), so a 100 ms latency costs its
// timer work, not 100 ms.
//
//   build-bench/bin/pipeline_bench                       (scripts/bench --pipeline runs it)
//   items_per_second = chunks/s into the pipeline head; bytes_per_second likewise.
#include <benchmark/benchmark.h>

#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "config/config.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/logging.hpp"
#include "proxy/pipeline.hpp"
#include "tests/support/virtual_pipeline.hpp"

namespace {

using namespace faultline;
using faults::Clock;

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

// One connection's downstream pipeline with the given `faults:` items, on the tests' virtual
// clock (tests/support/virtual_pipeline.hpp).
class Rig {
 public:
  explicit Rig(const std::string& faults_yaml) : pipe_(faults_yaml, sink_) { pipe_.start(); }

  ~Rig() {
    asio::co_spawn(pipe_.context(), finish(), asio::detached);
    pipe_.clock().run(Clock::time_point::max());
    pipe_.cancel_tasks();
  }

  // Writes `n` chunks of `size` bytes into the pipeline head and runs until all is handed on.
  void batch(int n, std::size_t size) {
    asio::co_spawn(pipe_.context(), feed(n, size), asio::detached);
    pipe_.clock().run(Clock::time_point::max() - std::chrono::hours(1));
  }
  const CountingSink& sink() const { return sink_; }

 private:
  asio::awaitable<void> feed(int n, std::size_t size) {
    proxy::BufferPool& pool = proxy::BufferPool::local();
    for (int i = 0; i < n; ++i) {
      faults::Bytes b = pool.take();
      b.resize(size);
      faults::Chunk chunk{std::move(b), pipe_.clock().now()};
      co_await pipe_.pipeline().head().write(std::move(chunk));
    }
  }
  asio::awaitable<void> finish() { co_await pipe_.pipeline().head().finish(); }

  CountingSink sink_;  // outlives the pipeline that writes to it
  test::VirtualPipeline pipe_;
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
