// Runs faults on a virtual clock through the real Pipeline (conditions, queues and all), with
// a recording sink at the end: exact pieces and exact times, no waiting.
//
//   FaultHarness h("- {type: latency, latency: 100ms}");
//   h.send_at(0ms, "hello");
//   h.eof_at(10ms);
//   h.run();
//   h.events()  ->  data "hello" at 100ms, finish at 110ms
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "faults/fault.hpp"
#include "faults/registry.hpp"
#include "proxy/pipeline.hpp"

namespace faultline::test {

using namespace std::chrono_literals;
using faults::Clock;

// Virtual time: sleepers wake in time order; time jumps to the next sleeper only when nothing
// else can run.
class VirtualClock final : public proxy::TimeSource {
 public:
  explicit VirtualClock(asio::io_context& context) : context_(context) {}
  Clock::time_point now() const override { return now_; }
  asio::awaitable<void> sleep_until(Clock::time_point t) override;
  asio::awaitable<bool> wait(faults::Signal& signal, Clock::time_point deadline) override;
  // Runs the io_context until no handler is ready and no sleeper is left, or until `limit`.
  void run(Clock::time_point limit);
  Clock::time_point start() const { return start_; }

 private:
  struct Sleeper;
  asio::io_context& context_;
  const Clock::time_point start_ = Clock::time_point{} + std::chrono::hours(1);
  Clock::time_point now_ = start_;
  std::multimap<Clock::time_point, Sleeper*> sleepers_;
};

struct SinkEvent {
  enum class Kind { data, finish, abort };
  Kind kind;
  Clock::duration at;  // since the connection started
  std::string bytes;   // data
  faults::Abort how = faults::Abort::close;
  faults::Peer who = faults::Peer::both;
};

class FaultHarness : private proxy::TaskSpawner {
 public:
  // `faults_yaml`: the items of a `faults:` list, as in a config file (indented or not).
  explicit FaultHarness(const std::string& faults_yaml, std::uint64_t seed = 1,
                        std::uint64_t connection_index = 1,
                        proxy::Direction direction = proxy::Direction::downstream);
  ~FaultHarness();

  void send_at(Clock::duration at, std::string bytes);
  void eof_at(Clock::duration at);
  // The terminal sink takes this long per write (a slow reader), to observe backpressure.
  void set_sink_write_time(Clock::duration d) { write_time_ = d; }

  void run(Clock::duration limit = std::chrono::hours(24));

  const std::vector<SinkEvent>& events() const { return events_; }
  std::string delivered() const;                 // all data bytes, in order
  std::vector<std::size_t> piece_sizes() const;  // size of each data event
  std::vector<Clock::duration> write_accepted() const { return accepted_; }  // per send_at
  std::map<std::string, std::uint64_t> fired() const;  // fault type -> times fired
  bool stage_present() const { return !pipeline_->empty(); }
  bool aborted() const;
  Clock::duration now() const { return clock_.now() - clock_.start(); }

 private:
  class RecordingSink;
  asio::awaitable<void> feed();
  proxy::TaskId spawn(std::function<asio::awaitable<void>()> make, proxy::TaskKind kind) override;
  void cancel(proxy::TaskId task) override;

  asio::io_context context_;
  VirtualClock clock_{context_};
  std::shared_ptr<proxy::ProxyState> proxy_;
  std::shared_ptr<const proxy::FaultSet> faults_;
  proxy::ConnectionInfo info_;
  std::unique_ptr<RecordingSink> sink_;
  std::unique_ptr<proxy::Pipeline> pipeline_;
  std::vector<std::pair<Clock::duration, std::string>> inputs_;
  std::optional<Clock::duration> eof_at_;
  Clock::duration write_time_{0};
  std::vector<SinkEvent> events_;
  std::vector<Clock::duration> accepted_;
  bool aborted_ = false;
  std::list<asio::cancellation_signal> signals_;                  // task id n is the n-th
  std::vector<std::pair<Clock::duration, std::string>> changes_;  // live fault set changes
 public:
  // At `at`, the connection's fault set becomes `faults_yaml` (a live change, as over the
  // API): checked before the next chunk is fed, as the pump does.
  void change_faults_at(Clock::duration at, std::string faults_yaml) {
    changes_.emplace_back(at, std::move(faults_yaml));
  }
};

// Compiles one fault from YAML (for attribute-validation tests). Throws config::ConfigError.
faults::CompiledFault compile_fault(const std::string& faults_yaml);

}  // namespace faultline::test
