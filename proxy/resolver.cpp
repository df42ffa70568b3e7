#include "proxy/resolver.hpp"

#include <deque>
#include <map>
#include <thread>

namespace faultline::proxy {
namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxCached = 1024;  // names come from the config: a handful

}  // namespace

ResolveResult Resolver::system_lookup(const std::string& host, std::uint16_t port) {
  // Asio's blocking resolve: getaddrinfo on this (the resolver's own) thread, its errors
  // mapped to asio's, the same on every platform.
  asio::io_context context(1);
  tcp::resolver resolver(context);
  ResolveResult result;
  auto found =
      resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, result.error);
  if (result.error) return result;
  for (const auto& entry : found)
    result.endpoints.push_back(entry.endpoint());
  if (result.endpoints.empty()) result.error = asio::error::host_not_found;
  return result;
}

void Resolver::Waiter::complete(ResolveResult result) {
  std::unique_ptr<Deliverer> d;
  {
    std::lock_guard lock(mutex_);
    d.swap(deliverer_);
  }
  if (d) d->deliver(std::move(result));
}

void Resolver::Waiter::drop() {
  std::unique_ptr<Deliverer> gone;
  {
    std::lock_guard lock(mutex_);
    gone.swap(deliverer_);
  }
  // `gone` (the handler, maybe the last reference to its connection) dies here, unlocked.
}

struct Resolver::State {
  struct Lookup {
    std::string host;
    std::uint16_t port = 0;
    std::vector<std::shared_ptr<Waiter>> waiters;
  };
  struct Cached {
    Clock::time_point until;
    std::vector<tcp::endpoint> endpoints;
  };

  explicit State(LookupFunction f) : lookup(std::move(f)) {}

  const LookupFunction lookup;
  mutable std::mutex mutex;
  bool closed = false;
  std::size_t running = 0;                // threads alive
  std::map<std::string, Lookup> lookups;  // by key, each running or queued
  std::deque<std::string> queued;         // keys waiting for a thread
  std::map<std::string, Cached> cache;

  static std::string key(const std::string& host, std::uint16_t port) {
    return host + '\n' + std::to_string(port);
  }
};

namespace {

// The thread of one lookup and then of every queued one: it owns a share of the state, so it
// may outlive the Resolver (and, detached, the process's wish to exit).
void lookup_thread(std::shared_ptr<Resolver::State> state, std::string key) {
  for (;;) {
    std::string host;
    std::uint16_t port = 0;
    {
      std::lock_guard lock(state->mutex);
      if (state->closed) {
        --state->running;
        return;
      }
      const auto& l = state->lookups.at(key);
      host = l.host;
      port = l.port;
    }
    ResolveResult result = state->lookup(host, port);
    std::lock_guard lock(state->mutex);
    if (state->closed) {  // the waiters were dropped by shutdown()
      --state->running;
      return;
    }
    if (!result.error) {
      if (state->cache.size() >= kMaxCached) state->cache.clear();
      state->cache[key] =
          Resolver::State::Cached{Clock::now() + Resolver::kCacheFor, result.endpoints};
    }
    auto node = state->lookups.extract(key);
    // Under the lock, so that nothing is posted after shutdown() returns; complete() only posts.
    for (auto& w : node.mapped().waiters)
      w->complete(result);
    if (state->queued.empty()) {
      --state->running;
      return;
    }
    key = std::move(state->queued.front());
    state->queued.pop_front();
  }
}

}  // namespace

Resolver::Resolver(LookupFunction lookup) : state_(std::make_shared<State>(std::move(lookup))) {}

Resolver::~Resolver() {
  shutdown();
}

void Resolver::lookup(std::string host, std::uint16_t port, std::shared_ptr<Waiter> waiter) {
  std::string key = State::key(host, port);
  std::unique_lock lock(state_->mutex);
  if (state_->closed) {
    lock.unlock();
    waiter->drop();
    return;
  }
  if (auto it = state_->cache.find(key); it != state_->cache.end()) {
    if (Clock::now() < it->second.until) {
      waiter->complete(ResolveResult{{}, it->second.endpoints});
      return;
    }
    state_->cache.erase(it);
  }
  if (auto it = state_->lookups.find(key); it != state_->lookups.end()) {
    it->second.waiters.push_back(std::move(waiter));  // the same name is already on its way
    return;
  }
  state_->lookups.emplace(key, State::Lookup{std::move(host), port, {std::move(waiter)}});
  if (state_->running >= kMaxLookupThreads) {
    state_->queued.push_back(std::move(key));
    return;
  }
  try {
    std::thread(lookup_thread, state_, key).detach();
    ++state_->running;
  } catch (const std::system_error& e) {
    auto node = state_->lookups.extract(key);
    for (auto& w : node.mapped().waiters)
      w->complete(ResolveResult{e.code(), {}});
  }
}

void Resolver::shutdown() {
  std::map<std::string, State::Lookup> abandoned;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->closed) return;
    state_->closed = true;
    abandoned.swap(state_->lookups);
    state_->queued.clear();
  }
  for (auto& [key, l] : abandoned) {
    for (auto& w : l.waiters)
      w->drop();
  }
}

std::size_t Resolver::running() const {
  std::lock_guard lock(state_->mutex);
  return state_->running;
}

}  // namespace faultline::proxy
