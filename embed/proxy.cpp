// The embedded proxy: a control::Server of its own with one proxy, its control io_context run
// on a thread of its own, every change posted to that thread (as the HTTP API does).
#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <fmt/format.h>

#include "config/config.hpp"
#include "control/server.hpp"
#include "embed/convert.hpp"
#include "embed/log_capture.hpp"
#include "faultline/faultline.hpp"
#include "faults/registry.hpp"

namespace faultline {
namespace {

std::atomic<unsigned> g_proxies{0};  // for default names

static_assert(kCloseCauses == proxy::kCloseCauses, "CloseCause mirrors proxy::CloseCause");

config::Endpoint endpoint(const std::string& text, const char* what) {
  auto e = config::parse_endpoint(text);
  if (!e) throw Error(fmt::format("{}: expected HOST:PORT, got \"{}\"", what, text));
  return *e;
}

}  // namespace

const char* to_string(CloseCause c) {
  return proxy::to_string(static_cast<proxy::CloseCause>(c));
}

std::uint64_t Counters::closed_total() const {
  std::uint64_t n = 0;
  for (auto c : closed)
    n += c;
  return n;
}

std::uint64_t Counters::faults_fired() const {
  std::uint64_t n = 0;
  for (const auto& [type, count] : fired)
    n += count;
  return n;
}

std::uint64_t Counters::fired_of(std::string_view type) const {
  const auto* t = embed::builtin_registry().find(type);
  auto it = fired.find(t ? t->name : std::string(type));
  return it == fired.end() ? 0 : it->second;
}

std::string Counters::to_string() const {
  std::string s = fmt::format(
      "accepted {}, active {}, bytes {} up / {} down, chunks {} up / {} down, upstream "
      "failures {}, closed",
      accepted, active, bytes_upstream, bytes_downstream, chunks_upstream, chunks_downstream,
      upstream_failures);
  for (std::size_t i = 0; i < kCloseCauses; ++i)
    s += fmt::format(" {} {}", faultline::to_string(static_cast<CloseCause>(i)), closed[i]);
  s += ", fired";
  if (fired.empty()) s += " none";
  for (const auto& [type, count] : fired)
    s += fmt::format(" {} {}", type, count);
  return s;
}

struct Proxy::Impl {
  ProxyOptions options;
  std::string name;
  asio::io_context control{1};
  std::unique_ptr<control::Server> server;
  std::thread thread;
  std::shared_ptr<embed::LogCapture> capture;
  std::vector<std::size_t> threads;  // whose log lines are ours
  std::shared_ptr<proxy::ProxyState> state;
  std::string host;
  std::uint16_t port = 0;
  bool stopped = false;

  // Runs `f` on the control thread and returns its result (or rethrows, as Error).
  template <typename F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(control, [&task] { task(); });
    try {
      return result.get();
    } catch (const control::ControlError& e) {
      throw Error(fmt::format("proxy {}: {}", name, e.what()));
    } catch (const control::StartError& e) {
      throw Error(e.what());
    } catch (const config::ConfigError& e) {
      throw Error(e.what());
    }
  }

  void start(ProxyOptions o) {
    options = std::move(o);
    name = options.name.empty() ? fmt::format("faultline-{}", ++g_proxies) : options.name;
    auto level = spdlog::level::from_str(options.log_level);
    if (level == spdlog::level::off && options.log_level != "off") {
      throw Error(
          fmt::format("log_level: unknown level \"{}\", expected trace, debug, info, "
                      "warn, error, critical or off",
                      options.log_level));
    }
    if (options.threads == 0) throw Error("threads: expected at least 1");

    config::ProxyConfig pc;
    pc.name = name;
    pc.listen = endpoint(options.listen, "listen");
    pc.upstream = endpoint(options.upstream, "upstream");
    if (pc.upstream.port == 0) throw Error("upstream: expected a port above 0");
    pc.connect_timeout = options.connect_timeout;
    pc.on_upstream_failure = options.reset_on_upstream_failure ? config::UpstreamFailure::reset
                                                               : config::UpstreamFailure::close;
    pc.faults = embed::to_specs(options.faults, options.faults_yaml);
    config::Config cfg;
    cfg.seed = options.seed;
    cfg.seed_given = true;
    cfg.api.enabled = false;
    cfg.proxies.push_back(pc);

    capture = std::make_shared<embed::LogCapture>(options.log_capacity, level, options.on_log);
    embed::route_component_logs(level);
    proxy::WorkerOptions workers;
    workers.busy_poll = options.busy_poll;
    workers.timer_spin = options.timer_spin;
    server = std::make_unique<control::Server>(control, embed::builtin_registry(), options.threads,
                                               workers);
    // The workers are running: learn their threads before they relay anything.
    for (auto& w : server->workers().workers()) {
      std::promise<std::size_t> id;
      asio::post(w->context(), [&id, this] {
        embed::attach_this_thread(capture);
        id.set_value(embed::this_thread_id());
      });
      threads.push_back(id.get_future().get());
    }
    std::promise<std::size_t> control_id;
    thread = std::thread([this, &control_id] {
      embed::attach_this_thread(capture);
      control_id.set_value(embed::this_thread_id());
      auto guard = asio::make_work_guard(control);
      control.run();
    });
    threads.push_back(control_id.get_future().get());

    call([&] {
      server->start(cfg);
      state = server->proxy(name);
      auto bound = server->listen_endpoint(name);
      host = bound.address().to_string();
      port = bound.port();
    });
  }

  void stop(std::chrono::milliseconds grace) {
    if (stopped) return;
    stopped = true;
    if (thread.joinable()) {
      std::promise<void> done;
      asio::post(control, [&] {
        server->stop(grace);
        done.set_value();
      });
      done.get_future().wait();
      control.stop();
      thread.join();
    }
    server.reset();  // joins the workers (stop() is idempotent)
    for (auto id : threads)
      embed::detach_thread(id);
    threads.clear();
  }

  void running_or_throw() const {
    if (stopped) throw Error(fmt::format("proxy {} is stopped", name));
  }

  std::vector<config::FaultSpec> specs() {
    return call([&] { return server->view(name).faults; });
  }
  void set_specs(std::vector<config::FaultSpec> specs) {
    call([&] { server->set_faults(name, std::move(specs)); });
  }
};

Proxy::Proxy(ProxyOptions options) : impl_(std::make_unique<Impl>()) {
  try {
    impl_->start(std::move(options));
  } catch (...) {
    impl_->stop(std::chrono::milliseconds(0));
    throw;
  }
}

Proxy::Proxy(std::string upstream, std::vector<Fault> faults)
    : Proxy(ProxyOptions{.upstream = std::move(upstream), .faults = std::move(faults)}) {}

Proxy::~Proxy() {
  if (impl_) impl_->stop(std::chrono::milliseconds(500));
}

Proxy::Proxy(Proxy&&) noexcept = default;
Proxy& Proxy::operator=(Proxy&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->stop(std::chrono::milliseconds(500));
    impl_ = std::move(other.impl_);
  }
  return *this;
}

const std::string& Proxy::name() const {
  return impl_->name;
}
std::string Proxy::host() const {
  return impl_->host;
}
std::uint16_t Proxy::port() const {
  return impl_->port;
}
std::string Proxy::address() const {
  return config::Endpoint{impl_->host, impl_->port}.to_string();
}
const std::string& Proxy::upstream() const {
  return impl_->options.upstream;
}

std::vector<Fault> Proxy::faults() const {
  impl_->running_or_throw();
  std::vector<Fault> out;
  for (const auto& spec : impl_->specs())
    out.push_back(embed::from_spec(spec));
  return out;
}

void Proxy::set_faults(std::vector<Fault> faults) {
  impl_->running_or_throw();
  impl_->set_specs(embed::to_specs(faults));
}

void Proxy::set_faults(std::string_view yaml) {
  impl_->running_or_throw();
  impl_->set_specs(embed::to_specs({}, yaml));
}

std::string Proxy::add_fault(Fault fault) {
  impl_->running_or_throw();
  auto added = embed::to_specs({fault});
  auto specs = impl_->specs();
  for (const auto& s : specs) {
    if (s.name == added.front().name) {
      throw Error(fmt::format("proxy {}: a fault named {} exists already", impl_->name, s.name));
    }
  }
  specs.push_back(added.front());
  impl_->set_specs(std::move(specs));
  return added.front().name;
}

void Proxy::update_fault(Fault fault) {
  impl_->running_or_throw();
  auto changed = embed::to_specs({fault});
  auto specs = impl_->specs();
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&](const auto& s) { return s.name == changed.front().name; });
  if (it == specs.end()) {
    throw Error(fmt::format("proxy {}: no fault named {}", impl_->name, changed.front().name));
  }
  *it = changed.front();
  impl_->set_specs(std::move(specs));
}

void Proxy::remove_fault(std::string_view name) {
  impl_->running_or_throw();
  auto specs = impl_->specs();
  auto it = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
  if (it == specs.end()) throw Error(fmt::format("proxy {}: no fault named {}", impl_->name, name));
  specs.erase(it);
  impl_->set_specs(std::move(specs));
}

void Proxy::clear_faults() {
  impl_->running_or_throw();
  impl_->set_specs({});
}

Counters Proxy::counters() const {
  Counters c;
  const auto& state = impl_->state;
  if (!state) return c;
  const auto& s = state->stats;
  c.bytes_upstream = s.bytes[0].load();
  c.bytes_downstream = s.bytes[1].load();
  c.chunks_upstream = s.chunks[0].load();
  c.chunks_downstream = s.chunks[1].load();
  c.accepted = s.accepted.load();
  c.active = s.active.load();
  c.upstream_failures = s.upstream_failures.load();
  for (std::size_t i = 0; i < kCloseCauses; ++i)
    c.closed[i] = s.closed[i].load();
  c.fired = s.fired();
  return c;
}

bool Proxy::wait_for(const std::function<bool(const Counters&)>& done,
                     std::chrono::milliseconds timeout) const {
  // The counters are plain atomics with no event to wait on: look again every millisecond
  // until the deadline.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done(counters())) {
    if (std::chrono::steady_clock::now() >= deadline) return done(counters());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

std::vector<std::string> Proxy::log_lines() const {
  return impl_->capture ? impl_->capture->lines() : std::vector<std::string>{};
}

std::string Proxy::log() const {
  std::string out;
  for (const auto& l : log_lines())
    out += l + "\n";
  return out;
}

void Proxy::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

bool Proxy::running() const {
  return impl_ && !impl_->stopped;
}

}  // namespace faultline
