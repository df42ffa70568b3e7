// The end of a pipeline: writes chunks to a socket, turns EOF into shutdown(send), and hands
// connection-level actions to the session.
#pragma once

#include <asio/ip/tcp.hpp>

#include "faults/fault.hpp"
#include "proxy/proxy_state.hpp"

namespace faultline::proxy {

class Session;

class SocketSink final : public faults::Sink {
 public:
  SocketSink(Session& session, asio::ip::tcp::socket& socket, Direction direction)
      : session_(session), socket_(socket), direction_(direction) {}

  asio::awaitable<void> write(faults::Chunk chunk) override;
  asio::awaitable<void> finish() override;
  asio::awaitable<void> abort(faults::Abort how, faults::Peer who) override;

  // A write is waiting for room in the socket: nothing else may write to it meanwhile.
  bool writing() const { return writing_ > 0; }

 private:
  Session& session_;
  asio::ip::tcp::socket& socket_;
  Direction direction_;
  int writing_ = 0;
};

}  // namespace faultline::proxy
