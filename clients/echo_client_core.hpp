// The echo client's logic, apart from its command line so tests can run it in-process.
//
// Robust mode is the reference for correct TCP handling: a recv() may return part of a frame
// or several frames, a send() may write less than asked, every wait has a deadline, and a
// broken connection is reopened with capped exponential backoff and every message without a
// complete echo is resent. Naive mode is the client a team may already have: one recv() is
// taken as one message, nothing has a deadline, and the first error ends the run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::clients {

// Exit codes of echo-client (also listed in its --help).
enum ExitCode : int {
  exit_ok = 0,                // every echo verified
  exit_usage = 2,             // bad command line
  exit_gave_up_resets = 3,    // gave up after resets/EOFs (naive: the first reset/EOF)
  exit_gave_up_timeouts = 4,  // gave up after timeouts
  exit_mismatch = 5,          // an echo differed from what was sent: never retried
  exit_connect = 6,           // could not connect (refused, unreachable, never connected)
};

enum class Outcome { ok, resets, timeouts, mismatch, connect };

struct ClientOptions {
  std::string host = "127.0.0.1";
  std::string port;
  std::size_t count = 100;
  std::size_t min_size = 64;
  std::size_t max_size = 64;
  std::uint64_t seed = 1;
  int timeout_ms = 2000;  // each connect, each read wait, each write wait
  int retries = 5;        // consecutive failures without progress before giving up
  int backoff_ms = 50;    // first pause before reconnecting; doubles, capped at max_backoff
  std::size_t pipeline = 1;
  bool naive = false;
  bool quiet = false;  // no event lines on the log stream
};

inline constexpr int max_backoff_ms = 2000;

struct ClientReport {
  std::size_t count = 0;
  std::size_t verified = 0;
  std::uint64_t partial_reads = 0;    // recvs that ended without completing a frame
  std::uint64_t coalesced_reads = 0;  // recvs that completed 2+ frames, or one and began the next
  std::uint64_t resets = 0;
  std::uint64_t eofs = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t connect_failures = 0;
  std::chrono::milliseconds elapsed{0};
  Outcome outcome = Outcome::ok;
  std::string last_error;  // empty when nothing failed
};

int exit_code(Outcome outcome);
std::string_view outcome_name(Outcome outcome);

// Payload of message `index`: its size and bytes depend only on (seed, index), so a resend
// after a reconnect is identical to the first send.
std::vector<std::uint8_t> make_payload(std::uint64_t seed, std::uint64_t index,
                                       std::size_t min_size, std::size_t max_size);

// Runs a whole session (robust or naive per options) and reports; event lines go to `log`.
ClientReport run_echo_client(const ClientOptions& options, std::ostream& log);

std::string format_summary(const ClientReport& report);
std::string format_json(const ClientReport& report);

}  // namespace faultline::clients
