#include "proxy/socket_sink.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "proxy/buffer_pool.hpp"
#include "proxy/session.hpp"

namespace faultline::proxy {

asio::awaitable<void> SocketSink::write(faults::Chunk chunk) {
  if (session_.ended() || chunk.bytes.empty()) co_return;
  // Try the write at once (the socket is non-blocking): it usually takes everything, and
  // saves a trip through the scheduler. Only the rest waits for the socket.
  asio::error_code ec;
  std::size_t done = socket_.write_some(asio::buffer(chunk.bytes.data(), chunk.bytes.size()), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    done = 0;
  }
  if (!ec && done < chunk.bytes.size()) {
    ++writing_;
    auto [wec, n] = co_await asio::async_write(
        socket_, asio::buffer(chunk.bytes.data() + done, chunk.bytes.size() - done),
        asio::experimental::as_tuple(asio::use_awaitable));
    --writing_;
    ec = wec;
  }
  BufferPool::local().give(std::move(chunk.bytes));
  if (ec && ec != asio::error::operation_aborted) session_.on_write_error(direction_, ec);
}

asio::awaitable<void> SocketSink::finish() {
  if (!session_.ended()) {
    asio::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    session_.on_finish(direction_);
  }
  co_return;
}

asio::awaitable<void> SocketSink::abort(faults::Abort how, faults::Peer who) {
  const char* target = who == faults::Peer::client     ? "client"
                       : who == faults::Peer::upstream ? "upstream"
                                                       : "both";
  const char* action = how == faults::Abort::reset ? "RST to" : "FIN to";
  session_.abort(how, who, how == faults::Abort::reset ? CloseCause::rst : CloseCause::fault,
                 fmt::format("fault: {} {}", action, target));
  co_return;
}

}  // namespace faultline::proxy
