// A Session owns one client connection and its upstream connection: it dials the upstream,
// runs a pump per direction through that direction's fault pipeline, and ends both sockets
// the way the connection ended (FIN for FIN, RST for RST, or what a fault asks for).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "faults/fault.hpp"
#include "proxy/pipeline.hpp"
#include "proxy/proxy_state.hpp"
#include "proxy/socket_sink.hpp"

namespace faultline::proxy {

class Worker;

class Session : public std::enable_shared_from_this<Session>, private TaskSpawner {
 public:
  // Call on the worker's thread; the socket must belong to the worker's io_context.
  // `index` is the 1-based accept order, taken by the listener so that it matches arrival.
  static void start(asio::ip::tcp::socket client, const asio::ip::tcp::endpoint& peer,
                    std::shared_ptr<ProxyState> proxy, std::uint64_t index, Worker& worker);

  Session(asio::ip::tcp::socket client, const asio::ip::tcp::endpoint& peer,
          std::shared_ptr<ProxyState> proxy, std::uint64_t index, Worker& worker);
  ~Session();

  std::uint64_t id() const { return info_.id; }
  const ProxyState& proxy() const { return *info_.proxy; }
  bool ended() const { return ended_; }

  // Connection-level end: `who` gets `how`, the other socket a FIN. Idempotent.
  void abort(faults::Abort how, faults::Peer who, CloseCause cause, std::string reason);
  // The proxy is going away (disabled, deleted, process stopping): FIN both ways.
  void shutdown();
  // The proxy's fault set changed: each direction moves to it before its next chunk, and an
  // idle direction at once (a reset_peer added to an idle connection still fires).
  void faults_changed();

  // Task bookkeeping alive in this process (for tests: it must not grow with live changes).
  static std::int64_t live_tasks();

  // From the socket sinks.
  void on_write_error(Direction direction, const asio::error_code& ec);
  void on_finish(Direction direction);

 private:
  asio::awaitable<void> run();
  asio::awaitable<bool> dial();
  void fail_upstream(const std::string& why);
  // The one place a connection ends: both sockets closed, counted, and its `closed` line.
  void end_connection();
  // A pump moves one direction's bytes, a chunk per step, until its source ends.
  enum class Step { moved, idle, done, fallback };
  asio::awaitable<void> pump(Direction direction);
  asio::awaitable<Step> splice_step(Direction direction, bool& splice);  // no fault on
  asio::awaitable<Step> copy_step(Direction direction);      // read, then through the pipeline
  asio::awaitable<bool> wait_readable(Direction direction);  // false: the pump ends
  void count_chunk(Direction direction, std::size_t bytes);
  void source_failed(Direction direction, const asio::error_code& ec);
  // Data-path tasks (pumps, queue drainers) must all end before the connection does; the
  // others (watchers) are cancelled then. Every task is cancelled on abort.
  TaskId spawn_task(std::function<asio::awaitable<void>()> make, TaskKind kind);
  TaskId spawn(std::function<asio::awaitable<void>()> make, TaskKind kind) override;
  void cancel(TaskId task) override;
  asio::awaitable<void> follow_fault_changes(Direction direction);
  void task_done(TaskKind kind, TaskId task, std::exception_ptr error);
  void forget_task(TaskId task);
  void close_sockets();
  std::string describe_end() const;

  asio::ip::tcp::socket& source(Direction d) {
    return d == Direction::upstream ? client_ : upstream_;
  }
  asio::ip::tcp::socket& destination(Direction d) {
    return d == Direction::upstream ? upstream_ : client_;
  }

  Worker& worker_;
  ConnectionInfo info_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket upstream_;
  asio::ip::tcp::endpoint client_peer_;
  std::array<SocketSink, 2> sinks_;
  std::array<std::unique_ptr<Pipeline>, 2> pipelines_;
  std::uint64_t faults_version_ = 0;  // of the set the pipelines were built from
  std::array<std::uint64_t, 2> pipeline_version_{};
  std::array<asio::cancellation_signal, 2> wake_;  // wakes an idle pump (fault change, abort)

  // One per running task but the session's own: released when the task ends, so a connection
  // that lives through many live changes does not collect the tasks of stages long gone.
  struct RunningTask {
    RunningTask();
    ~RunningTask();
    RunningTask(const RunningTask&) = delete;
    RunningTask& operator=(const RunningTask&) = delete;
    TaskId id = 0;
    asio::cancellation_signal signal;
  };
  std::list<RunningTask> running_;
  TaskId next_task_ = 0;
  int data_tasks_ = 0;
  int tasks_ = 0;
  asio::steady_timer data_done_;  // a timer as condition variable: cancelled when data ends

  bool dialed_ = false;                       // the upstream connect finished (either way)
  bool dial_timed_out_ = false;               // ... because connect_timeout cancelled it
  asio::cancellation_signal resolve_cancel_;  // ends a name lookup: connect_timeout or abort
  bool ended_ = false;
  std::optional<CloseCause> cause_;
  std::string reason_;
  std::array<std::string, 2> source_end_;  // how each direction's source ended
  std::array<std::uint64_t, 2> bytes_{};
};

}  // namespace faultline::proxy
