#include "tests/support/fault_harness.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <sstream>

#include "config/config.hpp"
#include "proxy/logging.hpp"
#include "control/server.hpp"

namespace faultline::test {
namespace {

std::string indent_items(const std::string& yaml) {
  std::istringstream in(yaml);
  std::string line, out;
  while (std::getline(in, line))
    out += "      " + line + "\n";
  return out;
}

config::Config config_with(const std::string& faults_yaml) {
  std::string y =
      "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: 127.0.0.1:1\n"
      "    faults:\n" +
      indent_items(faults_yaml);
  return config::load_config_string(y, "test.yaml");
}

const faults::FaultRegistry& registry() {
  static faults::FaultRegistry r = [] {
    faults::FaultRegistry reg;
    faults::register_builtin_faults(reg);
    return reg;
  }();
  return r;
}

}  // namespace

struct VirtualClock::Sleeper {
  asio::steady_timer timer;
  bool woken = false;
};

asio::awaitable<void> VirtualClock::sleep_until(Clock::time_point t) {
  if (t <= now_) co_return;
  Sleeper sleeper{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
  auto it = sleepers_.emplace(t, &sleeper);
  co_await sleeper.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (!sleeper.woken) {
    sleepers_.erase(it);
    throw asio::system_error(asio::error::operation_aborted);
  }
}

asio::awaitable<bool> VirtualClock::wait(faults::Signal& signal, Clock::time_point deadline) {
  if (signal.consume()) co_return true;
  if (deadline <= now_) co_return false;
  Sleeper sleeper{asio::steady_timer(context_, asio::steady_timer::time_point::max())};
  auto it = sleepers_.emplace(deadline, &sleeper);
  signal.set_waker([&] {
    if (sleeper.woken) return;
    sleeper.woken = true;
    sleepers_.erase(it);
    sleeper.timer.cancel();
  });
  co_await sleeper.timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  signal.set_waker(nullptr);
  if (!sleeper.woken) {
    sleepers_.erase(it);
    throw asio::system_error(asio::error::operation_aborted);
  }
  co_return signal.consume();
}

void VirtualClock::run(Clock::time_point limit) {
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

class FaultHarness::RecordingSink final : public faults::Sink {
 public:
  explicit RecordingSink(FaultHarness& h) : h_(h) {}
  asio::awaitable<void> write(faults::Chunk chunk) override {
    if (h_.aborted_) co_return;
    if (h_.write_time_.count() > 0)
      co_await h_.clock_.sleep_until(h_.clock_.now() + h_.write_time_);
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
  config::Config cfg = config_with(faults_yaml);
  faults_ = proxy::compile_faults(cfg.proxies[0].faults, registry());
  proxy_ = std::make_shared<proxy::ProxyState>(cfg.proxies[0], seed, faults_);
  info_ = proxy::ConnectionInfo{1, connection_index, clock_.start(), proxy_};
  sink_ = std::make_unique<RecordingSink>(*this);
  pipeline_ = std::make_unique<proxy::Pipeline>(context_.get_executor(), clock_, *faults_,
                                                direction, info_, *sink_);
}

FaultHarness::~FaultHarness() {
  pipeline_.reset();
  context_.stop();
}

void FaultHarness::send_at(Clock::duration at, std::string bytes) {
  inputs_.emplace_back(at, std::move(bytes));
}

void FaultHarness::eof_at(Clock::duration at) {
  eof_at_ = at;
}

asio::awaitable<void> FaultHarness::feed() {
  co_await pipeline_->before_dial();
  std::size_t next_change = 0;
  std::vector<std::shared_ptr<const proxy::FaultSet>> sets;  // alive while the pipeline is
  auto apply_changes = [&]() -> asio::awaitable<void> {
    while (next_change < changes_.size() &&
           clock_.start() + changes_[next_change].first <= clock_.now()) {
      config::Config cfg = config_with(changes_[next_change].second);
      sets.push_back(proxy::compile_faults(cfg.proxies[0].faults, registry()));
      co_await pipeline_->rebuild(*sets.back(), *this);
      ++next_change;
    }
  };
  for (auto& [at, bytes] : inputs_) {
    co_await clock_.sleep_until(clock_.start() + at);
    if (aborted_) co_return;
    co_await apply_changes();
    faults::Chunk chunk;
    chunk.bytes.resize(bytes.size());
    std::memcpy(chunk.bytes.data(), bytes.data(), bytes.size());
    chunk.received_at = clock_.now();
    co_await pipeline_->head().write(std::move(chunk));
    accepted_.push_back(now());
  }
  if (eof_at_ && !aborted_) {
    co_await clock_.sleep_until(clock_.start() + *eof_at_);
    if (!aborted_) co_await pipeline_->head().finish();
  }
}

proxy::TaskId FaultHarness::spawn(std::function<asio::awaitable<void>()> make, proxy::TaskKind) {
  asio::cancellation_signal& signal = signals_.emplace_back();
  asio::co_spawn(context_.get_executor(), make(),
                 asio::bind_cancellation_slot(signal.slot(), asio::detached));
  return signals_.size();
}

void FaultHarness::cancel(proxy::TaskId task) {
  auto it = signals_.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(task - 1));
  it->emit(asio::cancellation_type::terminal);
}

void FaultHarness::run(Clock::duration limit) {
  asio::co_spawn(context_.get_executor(), feed(), asio::detached);
  pipeline_->start(*this);
  clock_.run(clock_.start() + limit);
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

std::map<std::string, std::uint64_t> FaultHarness::fired() const {
  return proxy_->stats.fired();
}

bool FaultHarness::aborted() const {
  return aborted_;
}

faults::CompiledFault compile_fault(const std::string& faults_yaml) {
  config::Config cfg = config_with(faults_yaml);
  return registry().compile(cfg.proxies[0].faults.at(0));
}

}  // namespace faultline::test
