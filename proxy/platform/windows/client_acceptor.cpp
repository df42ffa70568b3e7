// ClientAcceptor on Windows: one AcceptEx per client through Asio's IOCP, the new socket
// opened on the worker's io_context (client_acceptor.hpp).
#include "proxy/platform/client_acceptor.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace faultline::proxy::platform {

using asio::ip::tcp;

void ClientAcceptor::prepare() {}

asio::awaitable<asio::error_code> ClientAcceptor::wait() {
  // take() is the wait: an accept that completes when a client arrives.
  co_return acceptor_.is_open() ? asio::error_code() : asio::error::operation_aborted;
}

asio::awaitable<ClientAcceptor::Taken> ClientAcceptor::take(asio::io_context& context) {
  auto [ec, socket] =
      co_await acceptor_.async_accept(context, asio::experimental::as_tuple(asio::use_awaitable));
  Taken taken{ec, std::move(socket), {}};
  if (ec == asio::error::bad_descriptor) taken.error = asio::error::operation_aborted;
  if (!taken.error) taken.peer = taken.socket.remote_endpoint(taken.error);
  co_return std::move(taken);
}

}  // namespace faultline::proxy::platform
