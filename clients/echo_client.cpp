// echo-client: sends N length-prefixed messages through a TCP path and checks every echo
// byte-exact. The default mode is the reference for correct handling; --naive is the buggy
// client a team may have. Exit codes:
//   0 all verified   2 usage   3 gave up after resets/EOFs   4 gave up after timeouts
//   5 data mismatch (never retried)   6 could not connect
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "clients/echo_client_core.hpp"
#include "clients/frame.hpp"
#include "clients/host_port.hpp"

namespace faultline::clients {
namespace {

// "64" or "16-1024".
bool parse_size(const std::string& text, std::size_t& min_size, std::size_t& max_size) {
  try {
    std::size_t used = 0;
    const auto dash = text.find('-');
    min_size = std::stoul(text.substr(0, dash), &used);
    if (used != (dash == std::string::npos ? text.size() : dash)) return false;
    max_size = min_size;
    if (dash != std::string::npos) {
      const std::string rest = text.substr(dash + 1);
      max_size = std::stoul(rest, &used);
      if (used != rest.size()) return false;
    }
  } catch (const std::exception&) {
    return false;
  }
  return min_size <= max_size && max_size <= default_max_payload;
}

int run(int argc, char** argv) {
  CLI::App app{"echo-client: sends length-prefixed messages and checks every echo byte-exact."};
  app.footer(
      "Exit codes: 0 all verified; 2 usage; 3 gave up after resets/EOFs; 4 gave up after "
      "timeouts; 5 data mismatch (an echo differs: never retried); 6 could not connect.");
  ClientOptions options;
  std::string connect;
  std::string size = "64";
  bool json = false;
  app.add_option("--connect", connect, "HOST:PORT of the echo server (or the proxy before it)")
      ->required();
  app.add_option("--count", options.count, "messages to send")->capture_default_str();
  app.add_option("--size", size, "payload bytes: S or MIN-MAX (random per message, from --seed)")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "seed for payload sizes and bytes")->capture_default_str();
  app.add_option("--timeout", options.timeout_ms,
                 "deadline in ms on each connect, each read wait and each write wait")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--retries", options.retries,
                 "reconnect attempts after consecutive failures without progress")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--backoff", options.backoff_ms,
                 "first pause in ms before reconnecting; doubles, capped at 2000")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--pipeline", options.pipeline, "messages sent before their echoes are awaited")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "print a JSON summary on stdout instead of the text line");
  app.add_flag("--naive", options.naive,
               "the buggy client: one recv = one message, no deadline, no reconnect");
  app.add_flag("--quiet", options.quiet, "no event lines on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_usage;
  }
  const auto endpoint = split_host_port(connect);
  if (!endpoint) {
    std::cerr << "echo-client: --connect wants HOST:PORT, got '" << connect << "'\n";
    return exit_usage;
  }
  options.host = endpoint->host;
  options.port = endpoint->port;
  if (!parse_size(size, options.min_size, options.max_size)) {
    std::cerr << "echo-client: --size wants S or MIN-MAX bytes (at most " << default_max_payload
              << "), got '" << size << "'\n";
    return exit_usage;
  }

  const ClientReport report = run_echo_client(options, std::cerr);
  std::cout << (json ? format_json(report) : format_summary(report)) << std::endl;
  if (report.outcome != Outcome::ok) {
    std::cerr << "echo-client: failed (" << outcome_name(report.outcome)
              << "); last error: " << report.last_error << std::endl;
  }
  return exit_code(report.outcome);
}

}  // namespace
}  // namespace faultline::clients

int main(int argc, char** argv) {
  return faultline::clients::run(argc, argv);
}
