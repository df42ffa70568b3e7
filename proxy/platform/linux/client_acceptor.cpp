// ClientAcceptor on Linux: readiness, then accept4(2) until EAGAIN (client_acceptor.hpp).
#include "proxy/platform/client_acceptor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace faultline::proxy::platform {

using asio::ip::tcp;

void ClientAcceptor::prepare() {
  acceptor_.non_blocking(true);
}

asio::awaitable<asio::error_code> ClientAcceptor::wait() {
  auto [ec] = co_await acceptor_.async_wait(tcp::acceptor::wait_read,
                                            asio::experimental::as_tuple(asio::use_awaitable));
  // A listener fault that closed or cancelled the acceptor under the wait: one outcome.
  if (ec == asio::error::bad_descriptor) ec = asio::error::operation_aborted;
  co_return ec;
}

asio::awaitable<ClientAcceptor::Taken> ClientAcceptor::take(asio::io_context& context) {
  Taken taken{{}, tcp::socket(context), {}};
  socklen_t size = static_cast<socklen_t>(taken.peer.capacity());
  const int fd =
      ::accept4(acceptor_.native_handle(), taken.peer.data(), &size, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    const int err = errno == EWOULDBLOCK ? EAGAIN : errno;
    taken.error = err == EAGAIN ? asio::error_code(asio::error::would_block)
                                : asio::error_code(err, asio::error::get_system_category());
    co_return std::move(taken);
  }
  taken.peer.resize(size);
  // Registered with the worker's reactor only; no getpeername is needed for the log line.
  taken.socket.assign(taken.peer.protocol(), fd, taken.error);
  if (taken.error) ::close(fd);
  co_return std::move(taken);
}

}  // namespace faultline::proxy::platform
