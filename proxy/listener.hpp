// Accepts a proxy's clients and hands each socket to a worker, where its Session runs. It also
// carries the proxy's listener faults (backlog): they steer it through ListenerControl.
#pragma once

#include <chrono>
#include <list>
#include <memory>

#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "faults/listener_fault.hpp"
#include "proxy/platform/client_acceptor.hpp"
#include "proxy/proxy_state.hpp"

namespace faultline::proxy {

class WorkerPool;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& context, WorkerPool& workers, std::shared_ptr<ProxyState> proxy);
  ~Listener();

  // Binds `listen` (the proxy's address: the one it asked for, or the one it was given by an
  // earlier bind) and listens; throws std::system_error (the caller names the proxy).
  void open(const config::Endpoint& listen);
  // The accept loop and the listener faults, on the control io_context.
  void start();
  // Stops accepting and the listener faults; sessions already running are not touched.
  void close();
  // The proxy's fault set changed: stop the old listener faults, accept normally, start the
  // new ones.
  void restart_faults();

  asio::ip::tcp::endpoint local_endpoint() const { return bound_; }

 private:
  enum class Mode { accepting, stalled, resetting, refused };

  asio::awaitable<void> accept_loop();
  void start_faults();
  void bind_and_listen(const asio::ip::tcp::endpoint& endpoint);

  // What listener faults steer, through one FaultControl per fault (which knows its name).
  class FaultControl;
  asio::awaitable<void> sleep_until(faults::Clock::time_point t);
  std::uint64_t active_connections() const;
  asio::awaitable<bool> wait_connections(bool at_least, std::uint64_t n,
                                         faults::Clock::time_point deadline);
  void stall(int backlog);
  void reset_on_accept();
  void refuse();
  void resume();

  asio::io_context& context_;
  WorkerPool& workers_;
  std::shared_ptr<ProxyState> proxy_;
  asio::ip::tcp::acceptor acceptor_;
  platform::ClientAcceptor clients_{acceptor_};
  asio::ip::tcp::endpoint bound_;
  bool open_ = false;
  bool congestion_inherited_ = false;  // set on the listening socket: accepted ones have it
  std::string restore_congestion_;     // a wildcard listener under auto: for remote clients
  Mode mode_ = Mode::accepting;
  asio::steady_timer wake_;  // a timer as condition variable: cancelled when mode_ changes
  std::list<asio::cancellation_signal> fault_signals_;
  std::vector<std::unique_ptr<faults::ListenerFault>> faults_;
  std::vector<std::unique_ptr<FaultControl>> controls_;
  faults::Clock::time_point faults_started_{};
  std::chrono::steady_clock::time_point last_accept_error_log_{};
};

}  // namespace faultline::proxy
