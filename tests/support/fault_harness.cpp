#include "tests/support/fault_harness.hpp"

#include <cstdlib>
#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "proxy/logging.hpp"

namespace faultline::test {

class FaultHarness::RecordingSink final : public faults::Sink {
 public:
  explicit RecordingSink(FaultHarness& h) : h_(h) {}
  asio::awaitable<void> write(faults::Chunk chunk) override {
    if (h_.aborted_) co_return;
    if (h_.write_time_.count() > 0)
      co_await h_.clock().sleep_until(h_.clock().now() + h_.write_time_);
    h_.events_.push_back(
        {SinkEvent::Kind::data, h_.now(),
         std::string(reinterpret_cast<const char*>(chunk.bytes.data()), chunk.bytes.size())});
  }
  asio::awaitable<void> finish() override {
    if (!h_.aborted_) h_.events_.push_back({SinkEvent::Kind::finish, h_.now(), {}});
    co_return;
  }
  asio::awaitable<void> abort(faults::Abort how, faults::Peer who) override {
    if (!h_.aborted_) h_.events_.push_back({SinkEvent::Kind::abort, h_.now(), {}, how, who});
    h_.aborted_ = true;
    co_return;
  }

 private:
  FaultHarness& h_;
};

FaultHarness::FaultHarness(const std::string& faults_yaml, std::uint64_t seed,
                           std::uint64_t connection_index, proxy::Direction direction) {
  proxy::setup_logging(
      std::getenv("FAULTLINE_TEST_LOG") ? std::getenv("FAULTLINE_TEST_LOG") : "warn",
      config::LogFormat::text);
  sink_ = std::make_unique<RecordingSink>(*this);
  rig_ = std::make_unique<VirtualPipeline>(faults_yaml, *sink_, seed, connection_index, direction);
}

FaultHarness::~FaultHarness() = default;

void FaultHarness::send_at(Clock::duration at, std::string bytes) {
  inputs_.emplace_back(at, std::move(bytes));
}

void FaultHarness::eof_at(Clock::duration at) {
  eof_at_ = at;
}

asio::awaitable<void> FaultHarness::feed() {
  proxy::Pipeline& pipeline = rig_->pipeline();
  co_await pipeline.before_dial();
  std::size_t next_change = 0;
  auto apply_changes = [&]() -> asio::awaitable<void> {
    while (next_change < changes_.size() &&
           clock().start() + changes_[next_change].first <= clock().now()) {
      co_await rig_->change_faults(changes_[next_change].second);
      ++next_change;
    }
  };
  for (auto& [at, bytes] : inputs_) {
    co_await clock().sleep_until(clock().start() + at);
    if (aborted_) co_return;
    co_await apply_changes();
    faults::Chunk chunk;
    chunk.bytes.resize(bytes.size());
    std::memcpy(chunk.bytes.data(), bytes.data(), bytes.size());
    chunk.received_at = clock().now();
    co_await pipeline.head().write(std::move(chunk));
    accepted_.push_back(now());
  }
  if (eof_at_ && !aborted_) {
    co_await clock().sleep_until(clock().start() + *eof_at_);
    if (!aborted_) co_await pipeline.head().finish();
  }
}

void FaultHarness::run(Clock::duration limit) {
  asio::co_spawn(rig_->context().get_executor(), feed(), asio::detached);
  rig_->start();
  clock().run(clock().start() + limit);
}

std::string FaultHarness::delivered() const {
  std::string all;
  for (const auto& e : events_) {
    if (e.kind == SinkEvent::Kind::data) all += e.bytes;
  }
  return all;
}

std::vector<std::size_t> FaultHarness::piece_sizes() const {
  std::vector<std::size_t> sizes;
  for (const auto& e : events_) {
    if (e.kind == SinkEvent::Kind::data) sizes.push_back(e.bytes.size());
  }
  return sizes;
}

std::vector<Clock::duration> FaultHarness::data_times() const {
  std::vector<Clock::duration> times;
  for (const auto& e : events_) {
    if (e.kind == SinkEvent::Kind::data) times.push_back(e.at);
  }
  return times;
}

std::map<std::string, std::uint64_t> FaultHarness::fired() const {
  return rig_->proxy().stats.fired();
}

bool FaultHarness::aborted() const {
  return aborted_;
}

faults::CompiledFault compile_fault(const std::string& faults_yaml) {
  config::Config cfg = config_with_faults(faults_yaml);
  return builtin_registry().compile(cfg.proxies[0].faults.at(0));
}

config::ConfigError error_of(const std::string& faults_yaml) {
  try {
    compile_fault(faults_yaml);
  } catch (const config::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "compiled without error: " << faults_yaml;
  return config::ConfigError({}, "", "");
}

}  // namespace faultline::test
