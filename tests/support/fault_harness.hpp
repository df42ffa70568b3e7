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

#include "config/config_error.hpp"
#include "faults/fault.hpp"
#include "faults/registry.hpp"
#include "proxy/pipeline.hpp"
#include "tests/support/virtual_clock.hpp"
#include "tests/support/virtual_pipeline.hpp"

namespace faultline::test {

using namespace std::chrono_literals;

struct SinkEvent {
  enum class Kind { data, finish, abort };
  Kind kind;
  Clock::duration at;  // since the connection started
  std::string bytes;   // data
  faults::Abort how = faults::Abort::close;
  faults::Peer who = faults::Peer::both;
};

class FaultHarness {
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
  std::string delivered() const;                    // all data bytes, in order
  std::vector<std::size_t> piece_sizes() const;     // size of each data event
  std::vector<Clock::duration> data_times() const;  // time of each data event
  std::vector<Clock::duration> write_accepted() const { return accepted_; }  // per send_at
  std::map<std::string, std::uint64_t> fired() const;  // fault type -> times fired
  bool stage_present() const { return !rig_->pipeline().empty(); }
  bool aborted() const;
  Clock::duration now() const { return clock().now() - clock().start(); }

 private:
  class RecordingSink;
  asio::awaitable<void> feed();
  VirtualClock& clock() { return rig_->clock(); }
  const VirtualClock& clock() const { return rig_->clock(); }

  std::unique_ptr<RecordingSink> sink_;  // outlives the pipeline that writes to it
  std::unique_ptr<VirtualPipeline> rig_;
  std::vector<std::pair<Clock::duration, std::string>> inputs_;
  std::optional<Clock::duration> eof_at_;
  Clock::duration write_time_{0};
  std::vector<SinkEvent> events_;
  std::vector<Clock::duration> accepted_;
  bool aborted_ = false;
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

// The ConfigError one fault from YAML is refused with; fails the test (and returns an empty
// error) when it compiles.
config::ConfigError error_of(const std::string& faults_yaml);

}  // namespace faultline::test
