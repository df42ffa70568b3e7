#include "proxy/session.hpp"

#include <atomic>
#include <chrono>
#include <tuple>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/channel_error.hpp>
#include <asio/post.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "proxy/buffer_pool.hpp"
#include "proxy/congestion.hpp"
#include "proxy/logging.hpp"
#include "proxy/resolver.hpp"
#include "proxy/splice_relay.hpp"
#include "proxy/worker_pool.hpp"

namespace faultline::proxy {
namespace {

using asio::ip::tcp;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

std::atomic<std::uint64_t> g_next_session_id{0};
std::atomic<std::int64_t> g_live_tasks{0};

const char* side_name(Direction source) {
  return source == Direction::upstream ? "client" : "upstream";
}

bool is_reset(const asio::error_code& ec) {
  return ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

std::string endpoint_string(const tcp::endpoint& ep) {
  return ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                              : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

std::string peer_string(const tcp::socket& s) {
  asio::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : endpoint_string(ep);
}

void reset_socket(tcp::socket& s) {
  asio::error_code ec;
  if (!s.is_open()) return;
  s.set_option(asio::socket_base::linger(true, 0), ec);
  s.close(ec);
}

void close_with_fin(tcp::socket& s) {
  asio::error_code ec;
  if (!s.is_open()) return;
  s.shutdown(tcp::socket::shutdown_send, ec);
  s.close(ec);
}

}  // namespace

void Session::start(tcp::socket client, const tcp::endpoint& peer,
                    std::shared_ptr<ProxyState> proxy, std::uint64_t index, Worker& worker) {
  auto session =
      std::make_shared<Session>(std::move(client), peer, std::move(proxy), index, worker);
  worker.add(session);
  session->spawn_task([session] { return session->run(); }, TaskKind::control);
}

Session::Session(tcp::socket client, const tcp::endpoint& peer, std::shared_ptr<ProxyState> proxy,
                 std::uint64_t index, Worker& worker)
    : worker_(worker),
      info_{++g_next_session_id, index, faults::Clock::now(), std::move(proxy), &worker.budget()},
      client_(std::move(client)),
      upstream_(client_.get_executor()),
      client_peer_(peer),
      sinks_{SocketSink(*this, upstream_, Direction::upstream),
             SocketSink(*this, client_, Direction::downstream)},
      data_done_(client_.get_executor(), asio::steady_timer::time_point::max()) {
  info_.proxy->stats.accepted.fetch_add(1, std::memory_order_relaxed);
  info_.proxy->stats.active.fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  info_.proxy->stats.active.fetch_sub(1, std::memory_order_relaxed);
  close_sockets();
}

Session::RunningTask::RunningTask() {
  g_live_tasks.fetch_add(1, std::memory_order_relaxed);
}

Session::RunningTask::~RunningTask() {
  g_live_tasks.fetch_sub(1, std::memory_order_relaxed);
}

std::int64_t Session::live_tasks() {
  return g_live_tasks.load(std::memory_order_relaxed);
}

TaskId Session::spawn_task(std::function<asio::awaitable<void>()> make, TaskKind kind) {
  ++tasks_;
  if (kind == TaskKind::control) {
    auto done = [self = shared_from_this(), kind](std::exception_ptr e) {
      self->task_done(kind, 0, e);
    };
    asio::co_spawn(client_.get_executor(), make(), std::move(done));
    return 0;
  }
  if (kind == TaskKind::data) ++data_tasks_;
  RunningTask& task = running_.emplace_back();
  task.id = ++next_task_;
  auto done = [self = shared_from_this(), kind, id = task.id](std::exception_ptr e) {
    self->task_done(kind, id, e);
  };
  asio::co_spawn(client_.get_executor(), make(),
                 asio::bind_cancellation_slot(task.signal.slot(), std::move(done)));
  return task.id;
}

TaskId Session::spawn(std::function<asio::awaitable<void>()> make, TaskKind kind) {
  return spawn_task(std::move(make), kind);
}

void Session::cancel(TaskId task) {
  for (auto& t : running_) {
    if (t.id == task) {
      t.signal.emit(asio::cancellation_type::terminal);
      return;
    }
  }
}

void Session::forget_task(TaskId task) {
  running_.remove_if([task](const RunningTask& t) { return t.id == task; });
}

void Session::task_done(TaskKind kind, TaskId task, std::exception_ptr error) {
  --tasks_;
  // The signal goes once this handler has returned: co_spawn calls it from inside the task's
  // frame, whose cancellation state still lives in the signal.
  if (task != 0) {
    asio::post(client_.get_executor(),
               [self = shared_from_this(), task] { self->forget_task(task); });
  }
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const asio::system_error& e) {
      // operation_aborted (a sleep or I/O) and channel_cancelled (a stage's queue) are how a
      // cancelled task ends: the connection is over, or its stage left the pipeline.
      if (e.code() != asio::error::operation_aborted &&
          e.code() != asio::experimental::error::channel_cancelled && !ended_) {
        log_session().error("[C{}] internal error: {}", id(), e.what());
        abort(faults::Abort::close, faults::Peer::both, CloseCause::error, e.what());
      }
    } catch (const std::exception& e) {
      log_session().error("[C{}] internal error: {}", id(), e.what());
      abort(faults::Abort::close, faults::Peer::both, CloseCause::error, e.what());
    }
  }
  if (kind == TaskKind::data && --data_tasks_ == 0) data_done_.cancel();
  if (tasks_ == 0) worker_.remove(id());
}

asio::awaitable<void> Session::run() {
  if (log_session().should_log(spdlog::level::info)) {
    log_session().info("[C{}] accepted from {} on proxy {}", id(), endpoint_string(client_peer_),
                       proxy().name());
  }
  // The fault set is read once per connection: it is a consistent snapshot.
  faults_version_ = info_.proxy->faults_version();
  auto faults = info_.proxy->faults();
  for (Direction d : {Direction::upstream, Direction::downstream}) {
    pipeline_version_[static_cast<std::size_t>(d)] = faults_version_;
    auto i = static_cast<std::size_t>(d);
    pipelines_[i] = std::make_unique<Pipeline>(client_.get_executor(), worker_.time(), *faults, d,
                                               info_, sinks_[i]);
  }
  for (auto& p : pipelines_)
    co_await p->before_dial();
  if (!co_await dial() || ended_) {
    end_connection();
    co_return;
  }

  asio::error_code ec;
  client_.set_option(tcp::no_delay(true), ec);
  upstream_.set_option(tcp::no_delay(true), ec);
  client_.non_blocking(true, ec);
  upstream_.non_blocking(true, ec);

  auto self = shared_from_this();
  // Stages first: co_spawn may run a pump inline up to its first wait, and a pump that sees
  // a fault change rebuilds (and starts) stages itself.
  for (auto& p : pipelines_)
    p->start(*this);
  for (Direction d : {Direction::upstream, Direction::downstream}) {
    spawn_task([self, d] { return self->pump(d); }, TaskKind::data);
  }

  // Both directions must end (EOF or abort) before the connection does: a reply that follows
  // the client's shutdown(SHUT_WR) still reaches it.
  while (data_tasks_ > 0)
    co_await data_done_.async_wait(use_tuple);
  end_connection();
}

void Session::end_connection() {
  if (!cause_) cause_ = CloseCause::fin;
  ended_ = true;
  for (auto& t : running_)
    t.signal.emit(asio::cancellation_type::terminal);  // watchers
  close_sockets();
  info_.proxy->stats.closed[static_cast<std::size_t>(*cause_)].fetch_add(1,
                                                                         std::memory_order_relaxed);
  log_session().info("[C{}] closed: {}", id(), describe_end());
}

asio::awaitable<bool> Session::dial() {
  const config::ProxyConfig& cfg = proxy().config();
  auto started = faults::Clock::now();

  // connect_timeout covers the name lookup and the connect. The timeout cancels whichever is
  // under way. A plain handler, not `connect || timer`: that builds a parallel group (two
  // coroutines, a shared state) for every connection.
  asio::steady_timer timer(client_.get_executor(), cfg.connect_timeout);
  // The handler may run after this frame is gone (expired, queued, then cancelled too late):
  // it touches only the session, which it keeps alive.
  timer.async_wait([self = shared_from_this()](const asio::error_code& tec) {
    if (tec || self->dialed_) return;
    self->dial_timed_out_ = true;
    self->resolve_cancel_.emit(asio::cancellation_type::terminal);
    asio::error_code ignored;
    self->upstream_.cancel(ignored);
  });

  std::vector<tcp::endpoint> endpoints;
  asio::error_code ec;
  auto address = asio::ip::make_address(cfg.upstream.host, ec);
  if (!ec) {
    endpoints.emplace_back(address, cfg.upstream.port);
  } else {
    // On the resolver's own threads: a lookup that hangs holds neither this worker nor, once
    // connect_timeout cancels the wait, this connection.
    auto [rec, results] = co_await worker_.resolver().async_resolve(
        cfg.upstream.host, cfg.upstream.port,
        asio::bind_cancellation_slot(resolve_cancel_.slot(), use_tuple));
    if (rec) {
      dialed_ = true;
      timer.cancel();
      if (dial_timed_out_) {
        fail_upstream(fmt::format("cannot resolve {}: no answer within connect_timeout {}",
                                  cfg.upstream.host, config::format_duration(cfg.connect_timeout)));
      } else if (!ended_) {
        fail_upstream(fmt::format("cannot resolve {}: {}", cfg.upstream.host, rec.message()));
      }
      co_return false;
    }
    endpoints = std::move(results);
  }

  // Each address in turn, as asio::async_connect would, but with the congestion control set
  // before the SYN: the socket never starts on another algorithm.
  const CongestionPolicy& congestion = worker_.options().congestion;
  asio::error_code cec = asio::error::host_not_found;
  for (const tcp::endpoint& endpoint : endpoints) {
    // An answer that came in just as the timeout (or an abort) did: no connect nobody cancels.
    if (dial_timed_out_ || ended_) break;
    upstream_.close(ec);
    upstream_.open(endpoint.protocol(), cec);
    if (cec) continue;
    if (const std::string_view algorithm = congestion.for_peer(endpoint.address());
        !algorithm.empty()) {
      std::string ignored;  // best effort: the connection works on the system's default
      set_congestion(upstream_.native_handle(), algorithm, ignored);
    }
    std::tie(cec) = co_await upstream_.async_connect(endpoint, use_tuple);
    if (!cec || dial_timed_out_ || ended_) break;
  }
  dialed_ = true;
  timer.cancel();
  if (dial_timed_out_) {
    fail_upstream(fmt::format("connect to {} timed out after {}", cfg.upstream.to_string(),
                              config::format_duration(cfg.connect_timeout)));
    co_return false;
  }
  if (cec) {
    if (ended_) co_return false;
    fail_upstream(fmt::format("connect to {} failed: {}", cfg.upstream.to_string(), cec.message()));
    co_return false;
  }
  if (log_session().should_log(spdlog::level::debug)) {
    auto took = std::chrono::duration<double, std::milli>(faults::Clock::now() - started);
    log_session().debug("[C{}] upstream {} connected in {:.1f} ms", id(), peer_string(upstream_),
                        took.count());
  }
  co_return true;
}

void Session::fail_upstream(const std::string& why) {
  const bool reset = proxy().config().on_upstream_failure == config::UpstreamFailure::reset;
  info_.proxy->stats.upstream_failures.fetch_add(1, std::memory_order_relaxed);
  log_session().warn("[C{}] upstream {}; {} the client (on_upstream_failure: {})", id(), why,
                     reset ? "resetting" : "closing", reset ? "reset" : "close");
  ended_ = true;
  cause_ = reset ? CloseCause::rst : CloseCause::fin;
  reason_ = "upstream " + why;
  asio::error_code ec;
  if (reset) {
    reset_socket(client_);
  } else {
    // Read what the client already sent, so the close is a FIN and not an RST for unread data.
    client_.non_blocking(true, ec);
    std::array<char, 4096> sink;
    while (client_.read_some(asio::buffer(sink), ec) > 0 && !ec) {
    }
    close_with_fin(client_);
  }
  upstream_.close(ec);
}

asio::awaitable<void> Session::pump(Direction direction) {
  const auto d = static_cast<std::size_t>(direction);
  bool splice = worker_.options().splice && splice_available();
  while (!ended_) {
    if (info_.proxy->faults_version() != pipeline_version_[d]) {
      co_await follow_fault_changes(direction);  // between two chunks
    }
    // Splice only while nothing in user space holds bytes of this direction: no fault on,
    // and no write of an earlier chunk still waiting for the socket.
    Step step = Step::fallback;
    if (splice && pipelines_[d]->empty() && !sinks_[d].writing()) {
      step = co_await splice_step(direction, splice);
    }
    if (step == Step::fallback) step = co_await copy_step(direction);
    if (step == Step::done) co_return;
    if (step == Step::idle && !co_await wait_readable(direction)) co_return;
  }
}

asio::awaitable<Session::Step> Session::splice_step(Direction direction, bool& splice) {
  using Status = SpliceResult::Status;
  const auto d = static_cast<std::size_t>(direction);
  SpliceResult r = co_await splice_once(source(direction), destination(direction));
  if (r.bytes > 0) count_chunk(direction, r.bytes);
  switch (r.status) {
    case Status::moved:
      co_return Step::moved;
    case Status::would_block:
      co_return Step::idle;
    case Status::eof:
      source_end_[d] = fmt::format("{} FIN", side_name(direction));
      co_await pipelines_[d]->head().finish();
      co_return Step::done;
    case Status::read_error:
      source_failed(direction, r.error);
      co_return Step::done;
    case Status::write_error:
      if (r.error != asio::error::operation_aborted) on_write_error(direction, r.error);
      co_return Step::moved;  // the loop sees the connection end
    case Status::unavailable:
      // No pipe now (out of descriptors): copy this chunk. Unsupported: copy from now on.
      if (r.error) {
        log_session().debug("[C{}] {}: splice unavailable ({}), copying", id(),
                            to_string(direction), r.error.message());
        splice = false;
      }
      co_return Step::fallback;
  }
  co_return Step::fallback;
}

asio::awaitable<Session::Step> Session::copy_step(Direction direction) {
  const auto d = static_cast<std::size_t>(direction);
  // Read speculatively; on EAGAIN the buffer goes back to the pool before the wait, so an
  // idle connection costs no buffer memory.
  BufferPool& pool = BufferPool::local();
  faults::Bytes buffer = pool.take();
  buffer.resize(kReadBufferSize);
  asio::error_code ec;
  std::size_t n = source(direction).read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  if (ec) {
    pool.give(std::move(buffer));
    if (ec == asio::error::would_block || ec == asio::error::try_again) co_return Step::idle;
    if (ec == asio::error::eof) {
      source_end_[d] = fmt::format("{} FIN", side_name(direction));
      co_await pipelines_[d]->head().finish();
    } else {
      source_failed(direction, ec);
    }
    co_return Step::done;
  }
  buffer.resize(n);
  count_chunk(direction, n);
  // A named chunk, not a temporary in the co_await expression: g++ 12 may destroy such a
  // temporary twice (GCC bug 101367).
  faults::Chunk chunk{std::move(buffer), faults::Clock::now()};
  co_await pipelines_[d]->head().write(std::move(chunk));
  co_return Step::moved;
}

asio::awaitable<bool> Session::wait_readable(Direction direction) {
  const auto d = static_cast<std::size_t>(direction);
  if (info_.proxy->faults_version() != pipeline_version_[d]) co_return true;  // changed meanwhile
  // Wait for bytes, or for a live change to the faults (which may act on an idle connection,
  // e.g. a reset_peer with `after`): faults_changed() cancels this one wait through wake_. A
  // single wait, not `||` with a timer: that costs two coroutines and a shared state per
  // wait, the largest item in the round-trip profile.
  auto [ec] = co_await source(direction).async_wait(
      tcp::socket::wait_read, asio::bind_cancellation_slot(wake_[d].slot(), use_tuple));
  if (ec == asio::error::operation_aborted) co_return !ended_;
  if (ec && !ended_) {
    source_end_[d] = fmt::format("{} error: {}", side_name(direction), ec.message());
    abort(faults::Abort::reset, faults::Peer::both, CloseCause::error, source_end_[d]);
  }
  co_return !ended_;
}

void Session::count_chunk(Direction direction, std::size_t bytes) {
  const auto d = static_cast<std::size_t>(direction);
  bytes_[d] += bytes;
  info_.proxy->stats.bytes[d].fetch_add(bytes, std::memory_order_relaxed);
  info_.proxy->stats.chunks[d].fetch_add(1, std::memory_order_relaxed);
}

void Session::source_failed(Direction direction, const asio::error_code& ec) {
  const auto d = static_cast<std::size_t>(direction);
  if (ended_) return;
  // An RST (or any hard error) on one side becomes an RST on the other.
  const bool rst = is_reset(ec);
  source_end_[d] = rst ? fmt::format("{} RST", side_name(direction))
                       : fmt::format("{} error: {}", side_name(direction), ec.message());
  abort(faults::Abort::reset,
        direction == Direction::upstream ? faults::Peer::upstream : faults::Peer::client,
        rst ? CloseCause::rst : CloseCause::error, source_end_[d]);
}

asio::awaitable<void> Session::follow_fault_changes(Direction direction) {
  const auto d = static_cast<std::size_t>(direction);
  std::uint64_t version = info_.proxy->faults_version();
  if (version == pipeline_version_[d] || ended_) co_return;
  pipeline_version_[d] = version;
  auto faults = info_.proxy->faults();
  co_await pipelines_[d]->rebuild(*faults, *this);
  log_session().debug("[C{}] {} faults now: {}", id(), to_string(direction), faults->faults.size());
}

void Session::faults_changed() {
  for (auto& wake : wake_)
    wake.emit(asio::cancellation_type::total);
}

void Session::on_write_error(Direction direction, const asio::error_code& ec) {
  if (ended_) return;
  // The destination went away under us: tell the source the same way.
  const char* dst = direction == Direction::upstream ? "upstream" : "client";
  const bool rst = is_reset(ec);
  std::string why = rst ? fmt::format("{} RST (on write)", dst)
                        : fmt::format("{} write error: {}", dst, ec.message());
  abort(faults::Abort::reset,
        direction == Direction::upstream ? faults::Peer::client : faults::Peer::upstream,
        rst ? CloseCause::rst : CloseCause::error, why);
}

void Session::on_finish(Direction direction) {
  log_session().debug("[C{}] {} EOF passed on ({} B)", id(), to_string(direction),
                      bytes_[static_cast<std::size_t>(direction)]);
}

void Session::abort(faults::Abort how, faults::Peer who, CloseCause cause, std::string reason) {
  if (ended_) return;
  cause_ = cause;
  reason_ = std::move(reason);
  ended_ = true;
  const bool reset = how == faults::Abort::reset;
  auto end = [&](tcp::socket& s, bool targeted) {
    if (reset && targeted) {
      reset_socket(s);
    } else {
      close_with_fin(s);
    }
  };
  end(client_, who != faults::Peer::upstream);
  end(upstream_, who != faults::Peer::client);
  for (auto& t : running_)
    t.signal.emit(asio::cancellation_type::terminal);
  resolve_cancel_.emit(asio::cancellation_type::terminal);  // a dial still looking up
  // An idle pump's wait is bound to wake_, not to its task's signal.
  for (auto& wake : wake_)
    wake.emit(asio::cancellation_type::terminal);
}

void Session::shutdown() {
  abort(faults::Abort::close, faults::Peer::both, CloseCause::shutdown, "proxy shutting down");
}

void Session::close_sockets() {
  asio::error_code ec;
  if (client_.is_open()) client_.close(ec);
  if (upstream_.is_open()) upstream_.close(ec);
}

std::string Session::describe_end() const {
  std::string how = reason_;
  for (std::size_t d = 0; d < 2; ++d) {
    if (source_end_[d].empty() || source_end_[d] == reason_) continue;
    if (!how.empty()) how += ", ";
    how += source_end_[d];
  }
  if (how.empty()) how = "closed";
  auto age = std::chrono::duration<double>(faults::Clock::now() - info_.connected_at);
  return fmt::format("{}; {} B up, {} B down, {:.3f}s", how, bytes_[0], bytes_[1], age.count());
}

}  // namespace faultline::proxy
