#include "proxy/listener.hpp"

#include <atomic>
#include <system_error>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/logging.hpp"
#include "proxy/platform/platform.hpp"
#include "proxy/session.hpp"
#include "proxy/worker_pool.hpp"

namespace faultline::proxy {

using asio::ip::tcp;
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
// Clients taken per wake-up before the control thread serves anything else (the API).
constexpr int kAcceptBatch = 64;

// A client from the container's bridge gateway came from the host: through a published port
// (docker-proxy, Docker Desktop), whose user-space relay ends the client's connection with a
// FIN when this proxy sends an RST, or straight to the container's address, which keeps it.
// Said once per process, with the routes that keep a reset a reset (docs/docker.md).
void note_gateway_client(const std::string& proxy, const tcp::endpoint& peer) {
  static const std::optional<asio::ip::address> gateway = platform::container_gateway();
  static std::atomic<bool> said{false};
  if (!gateway || peer.address() != *gateway || said.exchange(true)) return;
  log_proxy().warn(
      "proxy {}: client {}:{} comes from the container's gateway, as every client through a "
      "published port (-p) does. Docker's port forwarding turns this proxy's resets into a clean "
      "close (FIN): to see an RST, connect to the container's own address, from the same "
      "network (compose), or run with --network host (docs/docker.md)",
      proxy, peer.address().to_string(), peer.port());
}

}  // namespace

class Listener::FaultControl final : public faults::ListenerControl {
 public:
  FaultControl(Listener& listener, const config::FaultSpec& spec)
      : listener_(listener), spec_(spec) {}

  faults::Clock::time_point now() const override { return faults::Clock::now(); }
  asio::awaitable<void> sleep_until(faults::Clock::time_point t) override {
    return listener_.sleep_until(t);
  }
  faults::Clock::time_point started_at() const override { return listener_.faults_started_; }
  std::uint64_t active_connections() const override { return listener_.active_connections(); }
  asio::awaitable<bool> wait_connections(bool at_least, std::uint64_t n,
                                         faults::Clock::time_point deadline) override {
    return listener_.wait_connections(at_least, n, deadline);
  }
  void stall(int backlog) override { listener_.stall(backlog); }
  void reset_on_accept() override { listener_.reset_on_accept(); }
  void refuse() override { listener_.refuse(); }
  void resume() override { listener_.resume(); }
  void fired(std::string_view detail) override {
    log_fault().info("proxy {}: fault {} ({}) fired: {}", listener_.proxy_->name(), spec_.name,
                     spec_.type, detail);
    listener_.proxy_->stats.count_fired(spec_.type);
  }

 private:
  Listener& listener_;
  const config::FaultSpec spec_;
};

Listener::Listener(asio::io_context& context, WorkerPool& workers,
                   std::shared_ptr<ProxyState> proxy)
    : context_(context),
      workers_(workers),
      proxy_(std::move(proxy)),
      acceptor_(context),
      wake_(context, asio::steady_timer::time_point::max()) {}

Listener::~Listener() = default;

void Listener::bind_and_listen(const tcp::endpoint& endpoint) {
  acceptor_.open(endpoint.protocol());
  platform::set_listen_options(acceptor_.native_handle());
  acceptor_.bind(endpoint);
  // Set before listen so every accepted socket starts on it: no other algorithm ever runs on
  // it (BBR, once initialised, leaves the socket paced whatever comes after). Under auto a
  // wildcard listener does the same for its loopback clients and gives every other client
  // the system's default back after accept.
  const CongestionPolicy& policy = workers_.options().congestion;
  std::string_view algorithm = policy.for_peer(endpoint.address());
  congestion_inherited_ = false;
  restore_congestion_.clear();
  if (policy.mode() == CongestionPolicy::Mode::automatic && endpoint.address().is_unspecified()) {
    const std::string system = congestion_of(acceptor_.native_handle());
    algorithm = policy.for_peer(asio::ip::address_v4::loopback());
    if (system.empty() || system == algorithm) algorithm = {};  // nothing to change
    restore_congestion_ = system;
  }
  if (!algorithm.empty()) {
    std::string error;
    congestion_inherited_ = set_congestion(acceptor_.native_handle(), algorithm, error);
    if (!congestion_inherited_) {
      restore_congestion_.clear();
      log_proxy().warn("proxy {}: congestion control {} refused on the listening socket: {}",
                       proxy_->name(), algorithm, error);
    }
  }
  acceptor_.listen(asio::socket_base::max_listen_connections);
  clients_.prepare();
}

void Listener::open(const config::Endpoint& listen) {
  tcp::resolver resolver(context_);
  auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service);
  bind_and_listen(results.begin()->endpoint());
  bound_ = acceptor_.local_endpoint();
  open_ = true;
}

void Listener::start() {
  // Faults first: a fault that is on from the start (backlog with no `after`) has set the mode
  // before the first accept, so not even the first client slips through.
  start_faults();
  asio::co_spawn(
      context_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void Listener::start_faults() {
  faults_started_ = faults::Clock::now();
  for (const auto& f : proxy_->faults()->faults) {
    if (f.scope != faults::FaultScope::listener) continue;
    auto fault = f.factory->create_listener();
    faults::ListenerFault* raw = fault.get();
    faults_.push_back(std::move(fault));
    controls_.push_back(std::make_unique<FaultControl>(*this, f.spec));
    asio::cancellation_signal& signal = fault_signals_.emplace_back();
    asio::co_spawn(
        context_, raw->run(*controls_.back()),
        asio::bind_cancellation_slot(
            signal.slot(), [self = shared_from_this(), name = f.spec.name](std::exception_ptr e) {
              if (!e) return;
              try {
                std::rethrow_exception(e);
              } catch (const asio::system_error& err) {
                if (err.code() == asio::error::operation_aborted) return;
                log_fault().error("proxy {}: fault {} failed: {}", self->proxy_->name(), name,
                                  err.what());
              } catch (const std::exception& err) {
                log_fault().error("proxy {}: fault {} failed: {}", self->proxy_->name(), name,
                                  err.what());
              }
            }));
  }
}

void Listener::restart_faults() {
  for (auto& s : fault_signals_)
    s.emit(asio::cancellation_type::terminal);
  // The cancelled coroutines still reference their fault and control until they complete;
  // keep them (a few objects per change) for the listener's life.
  if (mode_ != Mode::accepting) resume();
  start_faults();
}

void Listener::close() {
  open_ = false;
  for (auto& s : fault_signals_)
    s.emit(asio::cancellation_type::terminal);
  asio::error_code ec;
  acceptor_.close(ec);
  wake_.cancel();
}

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();  // the loop keeps its listener alive
  while (open_) {
    if (mode_ == Mode::stalled || mode_ == Mode::refused) {
      co_await wake_.async_wait(use_tuple);  // until resume() or close()
      continue;
    }
    // Wait until clients are queued, then take them (platform::ClientAcceptor), each onto
    // the worker that will run its session.
    const asio::error_code wec = co_await clients_.wait();
    if (!open_) co_return;
    if (wec == asio::error::operation_aborted) continue;  // a listener fault changed the mode
    if (wec) {
      log_proxy().error("proxy {}: waiting for clients failed: {}", proxy_->name(), wec.message());
      asio::steady_timer pause(context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    for (int taken = 0; taken < kAcceptBatch && open_; ++taken) {
      if (mode_ != Mode::accepting && mode_ != Mode::resetting) break;
      Worker& worker = workers_.next();
      auto [aec, client, peer] = co_await clients_.take(worker.context());
      if (aec == asio::error::would_block || aec == asio::error::operation_aborted) break;
      if (aec == asio::error::interrupted || aec == asio::error::connection_aborted ||
          aec == asio::error::connection_reset || aec == asio::error::not_connected) {
        continue;  // gone before it was taken
      }
      if (aec) {
        // EMFILE and friends: say so at most once a second and back off instead of spinning.
        auto now = std::chrono::steady_clock::now();
        if (now - last_accept_error_log_ >= std::chrono::seconds(1)) {
          last_accept_error_log_ = now;
          log_proxy().error("proxy {}: accept failed: {}; backing off", proxy_->name(),
                            aec.message());
        }
        asio::steady_timer pause(context_, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        break;
      }
      note_gateway_client(proxy_->name(), peer);
      std::string ignored;  // best effort: the connection works either way
      if (congestion_inherited_) {
        if (!restore_congestion_.empty() && !is_loopback(peer.address())) {
          set_congestion(client.native_handle(), restore_congestion_, ignored);
        }
      } else if (const std::string_view algorithm =
                     workers_.options().congestion.for_peer(peer.address());
                 !algorithm.empty()) {
        set_congestion(client.native_handle(), algorithm, ignored);  // after the handshake
      }
      if (mode_ == Mode::resetting) {
        asio::error_code ec;
        client.set_option(asio::socket_base::linger(true, 0), ec);  // close sends an RST
        client.close(ec);
        proxy_->stats.closed[static_cast<std::size_t>(CloseCause::fault)].fetch_add(1);
        continue;
      }
      asio::post(worker.context(), [client = std::move(client), peer = peer, proxy = proxy_,
                                    index = proxy_->next_connection_index(), &worker]() mutable {
        Session::start(std::move(client), peer, std::move(proxy), index, worker);
      });
    }
  }
}

asio::awaitable<void> Listener::sleep_until(faults::Clock::time_point t) {
  if (t <= faults::Clock::now()) co_return;
  asio::steady_timer timer(context_, t);
  co_await timer.async_wait(asio::use_awaitable);
}

std::uint64_t Listener::active_connections() const {
  return proxy_->stats.active.load(std::memory_order_relaxed);
}

asio::awaitable<bool> Listener::wait_connections(bool at_least, std::uint64_t n,
                                                 faults::Clock::time_point deadline) {
  // Sessions live on other threads; a short poll keeps them free of listener callbacks.
  constexpr auto kPoll = std::chrono::milliseconds(5);
  for (;;) {
    std::uint64_t active = active_connections();
    if (at_least ? active >= n : active < n) co_return true;
    auto now = faults::Clock::now();
    if (now >= deadline) co_return false;
    co_await sleep_until(std::min(deadline, now + kPoll));
  }
}

void Listener::stall(int backlog) {
  mode_ = Mode::stalled;
  asio::error_code ec;
  acceptor_.cancel(ec);
  // listen(2) again on a listening socket just changes the queue length (Linux; Winsock keeps
  // the first one).
  asio::error_code ignored;
  acceptor_.listen(backlog, ignored);
}

void Listener::reset_on_accept() {
  mode_ = Mode::resetting;
}

void Listener::refuse() {
  mode_ = Mode::refused;
  asio::error_code ec;
  acceptor_.close(ec);  // clients still queued in the kernel are reset with it
}

void Listener::resume() {
  if (!open_) return;
  if (mode_ == Mode::refused) {
    try {
      bind_and_listen(bound_);
    } catch (const std::system_error& e) {
      log_proxy().error("proxy {}: cannot listen again on port {}: {}", proxy_->name(),
                        bound_.port(), e.code().message());
      return;
    }
  } else if (mode_ == Mode::stalled) {
    asio::error_code ignored;
    acceptor_.listen(asio::socket_base::max_listen_connections, ignored);
  }
  mode_ = Mode::accepting;
  wake_.cancel();
}

}  // namespace faultline::proxy
