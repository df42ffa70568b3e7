#include "proxy/listener.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/logging.hpp"
#include "proxy/session.hpp"
#include "proxy/worker_pool.hpp"

namespace faultline::proxy {

using asio::ip::tcp;

Listener::Listener(asio::io_context& context, WorkerPool& workers,
                   std::shared_ptr<ProxyState> proxy)
    : context_(context), workers_(workers), proxy_(std::move(proxy)), acceptor_(context) {}

void Listener::open() {
  const config::Endpoint& listen = proxy_->config().listen;
  tcp::resolver resolver(context_);
  auto results = resolver.resolve(listen.host, std::to_string(listen.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service);
  tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  bound_ = acceptor_.local_endpoint();
}

tcp::endpoint Listener::local_endpoint() const { return bound_; }

void Listener::start() {
  asio::co_spawn(context_, [self = shared_from_this()] { return self->accept_loop(); },
                 asio::detached);
}

void Listener::close() {
  asio::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Listener::accept_loop() {
  auto self = shared_from_this();  // the loop keeps its listener alive
  while (acceptor_.is_open()) {
    Worker& worker = workers_.next();
    auto [ec, socket] = co_await acceptor_.async_accept(
        worker.context(), asio::experimental::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: say so at most once a second and back off instead of spinning.
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_error_log_ >= std::chrono::seconds(1)) {
        last_accept_error_log_ = now;
        log_proxy().error("proxy {}: accept failed: {}; backing off", proxy_->name(), ec.message());
      }
      asio::steady_timer pause(context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      continue;
    }
    asio::post(worker.context(), [socket = std::move(socket), proxy = proxy_,
                                  index = proxy_->next_connection_index(), &worker]() mutable {
      Session::start(std::move(socket), std::move(proxy), index, worker);
    });
  }
}

}  // namespace faultline::proxy
