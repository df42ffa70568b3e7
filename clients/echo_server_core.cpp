#include "clients/echo_server_core.hpp"

#include <array>
#include <chrono>
#include <ostream>
#include <system_error>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "clients/frame.hpp"

namespace faultline::clients {
namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

tcp::endpoint resolve_listen(asio::io_context& io, const std::string& host,
                             const std::string& port) {
  asio::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, static_cast<unsigned short>(std::stoul(port))};
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, port, tcp::resolver::passive);
  return results.begin()->endpoint();
}

// After our FIN, read and discard until the client closes too: closing a socket with unread
// input would send an RST instead of the FIN this mode promises.
asio::awaitable<void> drain(tcp::socket& socket) {
  std::array<char, 4096> sink;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) co_return;
  }
}

}  // namespace

std::string format_endpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

EchoServer::EchoServer(asio::io_context& io, ServerOptions options, std::ostream& log)
    : io_(io), options_(std::move(options)), log_(log), acceptor_(io) {
  const tcp::endpoint endpoint = resolve_listen(io, options_.host, options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void EchoServer::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

void EchoServer::stop() {
  asio::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, socket] : open_)
    socket->close(ignored);
}

asio::awaitable<void> EchoServer::accept_loop() {
  asio::steady_timer pause(io_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (!acceptor_.is_open()) co_return;
    if (ec) {
      // EMFILE and friends: say so and back off briefly rather than spin.
      log_ << "echo-server: accept failed: " << ec.message() << std::endl;
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    asio::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(io_, serve(std::move(socket), ++next_id_), asio::detached);
  }
}

asio::awaitable<void> EchoServer::serve(tcp::socket socket, std::uint64_t id) {
  asio::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string peer = ec ? std::string("?") : format_endpoint(remote);
  if (options_.verbose) log_ << "echo-server: [C" << id << "] accepted " << peer << std::endl;
  open_.emplace(id, &socket);

  const std::optional<std::uint64_t> limit =
      options_.rst_after ? options_.rst_after : options_.close_after;
  ConnectionEnd end{id, 0, 0, {}, false};
  FrameCounter counter;
  std::array<std::uint8_t, 64 * 1024> buffer;
  asio::error_code ignored;
  bool limit_hit = limit && *limit == 0;
  while (!limit_hit) {
    auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_tuple);
    if (read_ec == asio::error::eof) {
      // Half-close: everything read has been echoed; answer with our own FIN.
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      end.cause = "client closed its side (EOF)";
      break;
    }
    if (read_ec) {
      end.reset = read_ec == asio::error::connection_reset;
      end.cause = "read failed: " + read_ec.message();
      break;
    }
    const std::size_t echo = counter.advance({buffer.data(), n}, limit.value_or(UINT64_MAX));
    limit_hit = limit && counter.frames() >= *limit;
    auto [write_ec, written] =
        co_await asio::async_write(socket, asio::buffer(buffer, echo), use_tuple);
    end.bytes += written;
    if (write_ec) {
      end.reset = write_ec == asio::error::connection_reset;
      end.cause = "write failed: " + write_ec.message();
      break;
    }
  }
  end.frames = counter.frames();
  if (limit_hit && end.cause.empty()) {
    if (options_.rst_after) {
      socket.set_option(asio::socket_base::linger(true, 0), ignored);
      end.cause = "reset after " + std::to_string(*limit) + " frames (--rst-after)";
    } else {
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      asio::steady_timer timer(io_, std::chrono::milliseconds(options_.drain_ms));
      co_await (drain(socket) || timer.async_wait(use_tuple));
      end.cause = "closed after " + std::to_string(*limit) + " frames (--close-after)";
    }
  }
  socket.close(ignored);
  open_.erase(id);
  finish(std::move(end), peer);
}

void EchoServer::finish(ConnectionEnd end, const std::string& peer) {
  if (!options_.quiet && (!end.reset || options_.verbose)) {
    log_ << "echo-server: [C" << end.id << "] " << peer << " ended: " << end.cause << "; "
         << end.bytes << " bytes, " << end.frames << " frames echoed" << std::endl;
  }
  if (end_hook_) end_hook_(end);
}

}  // namespace faultline::clients
