// The echo server's logic, apart from its command line so tests can run it in-process.
// One coroutine per connection echoes every byte as it arrives; a client's error ends only
// that connection. --close-after / --rst-after imitate servers that hang up after N frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <unordered_map>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace faultline::clients {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::string port = "7001";
  std::optional<std::uint64_t> close_after;  // FIN after echoing this many complete frames
  std::optional<std::uint64_t> rst_after;    // RST (SO_LINGER 0) after this many frames
  bool quiet = false;                        // no per-connection lines
  bool verbose = false;                      // also ECONNRESET endings and accepts
  int drain_ms = 2000;  // after a --close-after FIN, how long unread input is drained
};

struct ConnectionEnd {
  std::uint64_t id = 0;
  std::uint64_t bytes = 0;   // echoed
  std::uint64_t frames = 0;  // complete frames seen
  std::string cause;
  bool reset = false;  // the client reset the connection
};

class EchoServer {
 public:
  // Binds and listens; throws std::system_error if it cannot.
  EchoServer(asio::io_context& io, ServerOptions options, std::ostream& log);

  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  // Closes the listener and every open connection; call on the io_context's thread.
  void stop();
  std::size_t open_connections() const { return open_.size(); }
  // Called on the io_context's thread as each connection ends (tests wait on it).
  void on_connection_end(std::function<void(const ConnectionEnd&)> hook) {
    end_hook_ = std::move(hook);
  }

 private:
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket socket, std::uint64_t id);
  void finish(ConnectionEnd end, const std::string& peer);

  asio::io_context& io_;
  ServerOptions options_;
  std::ostream& log_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, asio::ip::tcp::socket*> open_;
  std::function<void(const ConnectionEnd&)> end_hook_;
};

// "127.0.0.1:7001", "[::1]:7001".
std::string format_endpoint(const asio::ip::tcp::endpoint& endpoint);

}  // namespace faultline::clients
