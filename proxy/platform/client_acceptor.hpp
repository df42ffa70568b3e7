// How a listener takes its clients, per platform. Linux waits until the listening socket is
// readable, then takes what is queued with accept4(2) without blocking: a batch per wake-up
// and no completion per client. Windows (Asio on IOCP) has one AcceptEx per client instead.
// Either way each client's socket is opened on the io_context of the worker that runs it:
// no operation of one io_context ever owns a socket of another.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/error_code.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace faultline::proxy::platform {

class ClientAcceptor {
 public:
  struct Taken {
    asio::error_code error;  // would_block: nobody queued (Linux); operation_aborted: cancelled
    asio::ip::tcp::socket socket;
    asio::ip::tcp::endpoint peer;
  };

  explicit ClientAcceptor(asio::ip::tcp::acceptor& acceptor) : acceptor_(acceptor) {}

  // After listen(): ready the socket for take() (Linux: non-blocking, for accept4).
  void prepare();
  // Until a client may be queued; operation_aborted when the acceptor is cancelled or closed.
  asio::awaitable<asio::error_code> wait();
  // One client, its socket on `context`. Linux returns would_block at once when none is
  // queued; Windows waits for the next one.
  asio::awaitable<Taken> take(asio::io_context& context);

 private:
  asio::ip::tcp::acceptor& acceptor_;
};

}  // namespace faultline::proxy::platform
