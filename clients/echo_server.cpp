// echo-server: echoes every byte back as it arrives, to many clients at once, and survives
// whatever a client does. Prints "listening on HOST:PORT" as its first stdout line so a
// script or test that passed port 0 learns the port. Exit: 0 on SIGINT/SIGTERM, 1 if it
// cannot listen, 2 on a bad command line.
#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "clients/echo_server_core.hpp"
#include "clients/host_port.hpp"

namespace faultline::clients {
namespace {

int run(int argc, char** argv) {
  CLI::App app{"echo-server: echoes every byte back, to many clients at once."};
  ServerOptions options;
  std::string listen = "127.0.0.1:7001";
  std::uint64_t close_after = 0;
  std::uint64_t rst_after = 0;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: the kernel picks)")
      ->capture_default_str();
  auto* close_opt = app.add_option("--close-after", close_after,
                                   "close with FIN after echoing N complete frames");
  auto* rst_opt = app.add_option("--rst-after", rst_after,
                                 "reset (SO_LINGER 0) after echoing N complete frames");
  close_opt->excludes(rst_opt);
  auto* quiet = app.add_flag("--quiet", options.quiet, "no per-connection lines on stderr");
  app.add_flag("--verbose", options.verbose, "also log accepts and client resets")->excludes(quiet);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  const auto endpoint = split_host_port(listen);
  if (!endpoint) {
    std::cerr << "echo-server: --listen wants HOST:PORT, got '" << listen << "'\n";
    return 2;
  }
  options.host = endpoint->host;
  options.port = endpoint->port;
  if (close_opt->count() > 0) options.close_after = close_after;
  if (rst_opt->count() > 0) options.rst_after = rst_after;

    // A write to a client that has gone must be an error value, not a dead server (Windows has
    // no SIGPIPE: a send there fails with an error already).
#ifdef SIGPIPE
  std::signal(SIGPIPE, SIG_IGN);
#endif
  asio::io_context io(1);
  std::optional<EchoServer> server;
  try {
    server.emplace(io, options, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "echo-server: cannot listen on " << listen << ": " << e.what() << std::endl;
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code&, int) { io.stop(); });
  server->start();
  std::cout << "listening on " << format_endpoint(server->local_endpoint()) << std::endl;
  io.run();
  return 0;
}

}  // namespace
}  // namespace faultline::clients

int main(int argc, char** argv) {
  return faultline::clients::run(argc, argv);
}
