#include "tests/support/virtual_pipeline.hpp"

#include <sstream>

#include <asio/bind_cancellation_slot.hpp>
#include <iterator>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

namespace faultline::test {

const faults::FaultRegistry& builtin_registry() {
  static const faults::FaultRegistry registry = [] {
    faults::FaultRegistry r;
    faults::register_builtin_faults(r);
    return r;
  }();
  return registry;
}

config::Config config_with_faults(const std::string& faults_yaml) {
  std::istringstream in(faults_yaml);
  std::string line, items;
  while (std::getline(in, line))
    items += "      " + line + "\n";
  std::string yaml =
      "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
      "    faults:" +
      (items.empty() ? std::string(" []\n") : "\n" + items);
  return config::load_config_string(yaml, "test.yaml");
}

VirtualPipeline::VirtualPipeline(const std::string& faults_yaml, faults::Sink& terminal,
                                 std::uint64_t seed, std::uint64_t connection_index,
                                 proxy::Direction direction) {
  config::Config cfg = config_with_faults(faults_yaml);
  faults_ = proxy::compile_faults(cfg.proxies[0].faults, builtin_registry());
  proxy_ = std::make_shared<proxy::ProxyState>(cfg.proxies[0], seed, faults_);
  info_ = proxy::ConnectionInfo{1, connection_index, clock_.start(), proxy_};
  pipeline_ = std::make_unique<proxy::Pipeline>(context_.get_executor(), clock_, *faults_,
                                                direction, info_, terminal);
}

VirtualPipeline::~VirtualPipeline() {
  pipeline_.reset();
  context_.stop();
}

asio::awaitable<void> VirtualPipeline::change_faults(const std::string& faults_yaml) {
  config::Config cfg = config_with_faults(faults_yaml);
  changed_.push_back(proxy::compile_faults(cfg.proxies[0].faults, builtin_registry()));
  co_await pipeline_->rebuild(*changed_.back(), *this);
}

void VirtualPipeline::cancel_tasks() {
  for (auto& signal : signals_)
    signal.emit(asio::cancellation_type::terminal);
  context_.restart();
  context_.poll();
}

proxy::TaskId VirtualPipeline::spawn(std::function<asio::awaitable<void>()> make, proxy::TaskKind) {
  asio::cancellation_signal& signal = signals_.emplace_back();
  asio::co_spawn(context_.get_executor(), make(),
                 asio::bind_cancellation_slot(signal.slot(), asio::detached));
  return signals_.size();
}

void VirtualPipeline::cancel(proxy::TaskId task) {
  auto it = signals_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(task - 1));
  it->emit(asio::cancellation_type::terminal);
}

}  // namespace faultline::test
