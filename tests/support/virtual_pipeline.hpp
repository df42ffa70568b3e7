// One connection's pipeline as a proxy builds it — the `faults:` items compiled with the
// built-in registry, the proxy's state, the real Pipeline with its stages, queues and
// conditions — on one io_context and a VirtualClock, its tasks spawned on that context. The
// unit tests' FaultHarness and bench/pipeline_bench.cpp both stand on it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>

#include "config/config.hpp"
#include "faults/registry.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/proxy_state.hpp"
#include "proxy/task_spawner.hpp"
#include "tests/support/virtual_clock.hpp"

namespace faultline::test {

// The registry with every built-in fault, made once.
const faults::FaultRegistry& builtin_registry();

// A config with one proxy whose `faults:` are `faults_yaml`: the items of a `faults:` list, as
// in a config file (indented or not; empty for none). Throws config::ConfigError.
config::Config config_with_faults(const std::string& faults_yaml);

class VirtualPipeline final : private proxy::TaskSpawner {
 public:
  // `terminal` is the sink at the end; it must outlive this object.
  VirtualPipeline(const std::string& faults_yaml, faults::Sink& terminal, std::uint64_t seed = 1,
                  std::uint64_t connection_index = 1,
                  proxy::Direction direction = proxy::Direction::downstream);
  ~VirtualPipeline();

  asio::io_context& context() { return context_; }
  VirtualClock& clock() { return clock_; }
  const VirtualClock& clock() const { return clock_; }
  proxy::Pipeline& pipeline() { return *pipeline_; }
  const proxy::Pipeline& pipeline() const { return *pipeline_; }
  proxy::ProxyState& proxy() const { return *proxy_; }

  // Starts the stages' coroutines (drainers, watchers), as the session does.
  void start() { pipeline_->start(*this); }
  // A live change of the connection's fault set to `faults_yaml`, as over the API.
  asio::awaitable<void> change_faults(const std::string& faults_yaml);
  // Cancels every task spawned so far (terminal cancellation, as when the connection ends)
  // and lets them unwind.
  void cancel_tasks();

 private:
  proxy::TaskId spawn(std::function<asio::awaitable<void>()> make, proxy::TaskKind kind) override;
  void cancel(proxy::TaskId task) override;

  asio::io_context context_{1};
  VirtualClock clock_{context_};
  std::shared_ptr<const proxy::FaultSet> faults_;
  std::vector<std::shared_ptr<const proxy::FaultSet>> changed_;  // alive while the pipeline is
  std::shared_ptr<proxy::ProxyState> proxy_;
  proxy::ConnectionInfo info_;
  std::unique_ptr<proxy::Pipeline> pipeline_;
  std::list<asio::cancellation_signal> signals_;  // task id n is the n-th
};

}  // namespace faultline::test
