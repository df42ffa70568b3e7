#include "clients/echo_client_core.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <thread>

#include "clients/frame.hpp"
#include "clients/socket_shim.hpp"

namespace faultline::clients {
namespace {

using Clock = std::chrono::steady_clock;
using net::Socket;

constexpr std::size_t read_buffer_size = 64 * 1024;

// How one connection attempt or one connection ended.
enum class Failure { none, reset, eof, timeout, connect, mismatch };

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct ConnectResult {
  Socket socket = net::invalid_socket;
  Failure failure = Failure::connect;
  std::string error;
};

// Resolves and connects; with a deadline the connect is non-blocking and waited on with
// poll/select, and the socket stays non-blocking for the session.
ConnectResult open_connection(const ClientOptions& options, bool with_deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(options.host.c_str(), options.port.c_str(), &hints, &list);
  if (rc != 0) {
    return {net::invalid_socket, Failure::connect,
            "cannot resolve " + options.host + ": " + gai_strerror(rc)};
  }
  ConnectResult result{net::invalid_socket, Failure::connect, "no address"};
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    const Socket s = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s == net::invalid_socket) {
      result = {net::invalid_socket, Failure::connect, net::error_name(net::last_error())};
      continue;
    }
    if (with_deadline) net::set_nonblocking(s, true);
    int err = 0;
    if (::connect(s, ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen)) != 0) {
      err = net::last_error();
      if (with_deadline && net::in_progress(err)) err = net::wait_connected(s, options.timeout_ms);
    }
    if (err == 0) {
      net::set_no_delay(s);
      ::freeaddrinfo(list);
      return {s, Failure::none, {}};
    }
    net::close_socket(s);
    if (err == -1) {
      result = {net::invalid_socket, Failure::timeout,
                "timeout (connect did not complete within " + std::to_string(options.timeout_ms) +
                    " ms)"};
    } else {
      result = {net::invalid_socket, Failure::connect, net::error_name(err)};
    }
  }
  ::freeaddrinfo(list);
  return result;
}

std::string describe_mismatch(std::size_t index, const std::vector<std::uint8_t>& got,
                              const std::vector<std::uint8_t>& expected) {
  const auto diff = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
  return "echo of message " + std::to_string(index) + " differs: got " +
         std::to_string(got.size()) + " bytes, expected " + std::to_string(expected.size()) +
         "; first difference at byte " + std::to_string(diff.first - got.begin());
}

class EventLog {
 public:
  EventLog(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
  void operator()(const std::string& line) const {
    if (!quiet_) out_ << "echo-client: " << line << std::endl;
  }

 private:
  std::ostream& out_;
  bool quiet_;
};

class RobustRunner {
 public:
  RobustRunner(const ClientOptions& options, std::ostream& log, ClientReport& report)
      : options_(options), log_(log, options.quiet), report_(report) {}

  void run() {
    int failures = 0;  // consecutive, reset by any verified echo
    std::size_t connections = 0;
    while (verified_ < options_.count) {
      bool progressed = false;
      Failure failure;
      ConnectResult c = open_connection(options_, true);
      if (c.socket == net::invalid_socket) {
        ++report_.connect_failures;
        if (c.failure == Failure::timeout) ++report_.timeouts;
        report_.last_error = c.error;
        log_("connect to " + options_.host + ":" + options_.port + " failed: " + c.error);
        failure = c.failure;
      } else {
        if (connections++ > 0) {
          ++report_.reconnects;
          log_("reconnected; resending from message " + std::to_string(verified_));
        }
        failure = session(c.socket, progressed);
        net::close_socket(c.socket);
        report_.verified = verified_;
        if (failure == Failure::none) break;
        if (failure == Failure::mismatch) {
          report_.outcome = Outcome::mismatch;
          return;
        }
      }
      if (progressed) failures = 0;
      if (++failures > options_.retries) {
        // Never connected at all is its own class; otherwise the last failure names it.
        report_.outcome = connections == 0 || failure == Failure::connect ? Outcome::connect
                          : failure == Failure::timeout                   ? Outcome::timeouts
                                                                          : Outcome::resets;
        log_("giving up after " + std::to_string(failures) + " consecutive failures");
        return;
      }
      const int shift = std::min(failures - 1, 16);
      const long long delay =
          std::min<long long>(static_cast<long long>(options_.backoff_ms) << shift, max_backoff_ms);
      log_("retrying in " + std::to_string(delay) + " ms (failure " + std::to_string(failures) +
           " of " + std::to_string(options_.retries + 1) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    report_.verified = verified_;
    report_.outcome = Outcome::ok;
  }

 private:
  std::vector<std::uint8_t> payload(std::size_t index) const {
    return make_payload(options_.seed, index, options_.min_size, options_.max_size);
  }

  // One connection: keep up to `pipeline` messages in flight, write what the socket takes,
  // read what arrives, verify each complete frame in order. Returns why it ended.
  Failure session(Socket s, bool& progressed) {
    FrameDecoder decoder;
    std::vector<std::uint8_t> out;
    std::size_t out_pos = 0;
    std::size_t sent = verified_;  // everything not yet verified is (re)sent
    std::vector<std::uint8_t> in(read_buffer_size);
    for (;;) {
      while (sent < options_.count && sent - verified_ < options_.pipeline) {
        append_frame(out, payload(sent++));
      }
      if (verified_ == options_.count) return Failure::none;
      const bool writing = out_pos < out.size();
      short revents = 0;
      const int rc = net::poll_one(s, static_cast<short>(POLLIN | (writing ? POLLOUT : 0)),
                                   options_.timeout_ms, revents);
      if (rc == 0) {
        ++report_.timeouts;
        report_.last_error =
            std::string("timeout (") +
            (writing ? "could not send" : "no echo of message " + std::to_string(verified_)) +
            " within " + std::to_string(options_.timeout_ms) + " ms)";
        log_(report_.last_error);
        return Failure::timeout;
      }
      if (rc < 0) return broken(net::last_error(), "poll");
      if (revents & (POLLIN | POLLERR | POLLHUP)) {
        const long n = net::recv_some(s, in.data(), in.size());
        if (n < 0) {
          const int err = net::last_error();
          if (!net::would_block(err)) return broken(err, "recv");
        } else if (n == 0) {
          ++report_.eofs;
          report_.last_error = "EOF (peer closed the connection with " +
                               std::to_string(sent - verified_) + " echoes outstanding" +
                               (decoder.mid_frame() ? ", mid-frame)" : ")");
          log_(report_.last_error);
          return Failure::eof;
        } else {
          if (decoder.feed({in.data(), static_cast<std::size_t>(n)}) == DecodeStatus::oversize) {
            report_.last_error = "echo of message " + std::to_string(verified_) +
                                 " has an impossible length prefix " +
                                 std::to_string(decoder.refused_length());
            return Failure::mismatch;
          }
          const std::size_t completed = decoder.frames_ready();
          if (completed == 0) {
            ++report_.partial_reads;
          } else if (completed >= 2 || decoder.mid_frame()) {
            ++report_.coalesced_reads;
          }
          while (decoder.frames_ready() > 0) {
            const std::vector<std::uint8_t> echo = decoder.pop_frame();
            if (verified_ >= sent) {
              report_.last_error = "unexpected frame: no message outstanding";
              return Failure::mismatch;
            }
            const std::vector<std::uint8_t> expected = payload(verified_);
            if (echo != expected) {
              report_.last_error = describe_mismatch(verified_, echo, expected);
              return Failure::mismatch;
            }
            ++verified_;
            progressed = true;
          }
          continue;  // refill the window before writing on
        }
      }
      if (writing && (revents & POLLOUT)) {
        const long n = net::send_some(s, out.data() + out_pos, out.size() - out_pos);
        if (n < 0) {
          const int err = net::last_error();
          if (!net::would_block(err)) return broken(err, "send");
        } else {
          out_pos += static_cast<std::size_t>(n);
          if (out_pos == out.size()) {
            out.clear();
            out_pos = 0;
          }
        }
      }
    }
  }

  Failure broken(int err, const char* call) {
    report_.last_error = net::error_name(err);
    log_(std::string(call) + " failed awaiting echo of message " + std::to_string(verified_) +
         ": " + report_.last_error);
    if (err == net::err_timed_out) {
      ++report_.timeouts;
      return Failure::timeout;
    }
    ++report_.resets;
    return Failure::reset;
  }

  const ClientOptions& options_;
  EventLog log_;
  ClientReport& report_;
  std::size_t verified_ = 0;  // echoes arrive in order, so the verified ones are a prefix
};

// The client a team may have: no deadline, one send() per message whatever it wrote, one
// recv() into an application-sized buffer taken as the whole echo, no reconnect.
void run_naive(const ClientOptions& options, std::ostream& log, ClientReport& report) {
  const EventLog log_line(log, options.quiet);
  ConnectResult c = open_connection(options, false);
  if (c.socket == net::invalid_socket) {
    ++report.connect_failures;
    report.last_error = c.error;
    report.outcome = Outcome::connect;
    log_line("connect failed: " + c.error);
    return;
  }
  const Socket s = c.socket;
  std::vector<std::uint8_t> in;
  auto fail = [&](std::string error, Outcome outcome) {
    report.last_error = std::move(error);
    report.outcome = outcome;
    log_line(report.last_error);
    net::close_socket(s);
  };
  for (std::size_t first = 0; first < options.count; first += options.pipeline) {
    const std::size_t batch = std::min(options.pipeline, options.count - first);
    for (std::size_t i = first; i < first + batch; ++i) {
      const auto frame =
          encode_frame(make_payload(options.seed, i, options.min_size, options.max_size));
      if (net::send_some(s, frame.data(), frame.size()) < 0) {
        ++report.resets;
        return fail("send failed: " + net::error_name(net::last_error()), Outcome::resets);
      }
    }
    for (std::size_t i = first; i < first + batch; ++i) {
      const auto expected =
          encode_frame(make_payload(options.seed, i, options.min_size, options.max_size));
      in.resize(std::max(expected.size(), read_buffer_size));
      const long n = net::recv_some(s, in.data(), in.size());
      if (n < 0) {
        ++report.resets;
        return fail("recv failed: " + net::error_name(net::last_error()), Outcome::resets);
      }
      if (n == 0) {
        ++report.eofs;
        return fail("EOF (peer closed the connection)", Outcome::resets);
      }
      in.resize(static_cast<std::size_t>(n));
      if (in != expected) {
        return fail(describe_mismatch(i, in, expected) + " (one recv taken as one message)",
                    Outcome::mismatch);
      }
      ++report.verified;
    }
  }
  net::close_socket(s);
  report.outcome = Outcome::ok;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

int exit_code(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return exit_ok;
    case Outcome::resets:
      return exit_gave_up_resets;
    case Outcome::timeouts:
      return exit_gave_up_timeouts;
    case Outcome::mismatch:
      return exit_mismatch;
    case Outcome::connect:
      return exit_connect;
  }
  return exit_mismatch;
}

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::resets:
      return "resets";
    case Outcome::timeouts:
      return "timeouts";
    case Outcome::mismatch:
      return "mismatch";
    case Outcome::connect:
      return "connect";
  }
  return "unknown";
}

std::vector<std::uint8_t> make_payload(std::uint64_t seed, std::uint64_t index,
                                       std::size_t min_size, std::size_t max_size) {
  std::uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ull);
  const std::uint64_t span = max_size - min_size + 1;
  const std::size_t size = min_size + static_cast<std::size_t>(splitmix64(state) % span);
  std::vector<std::uint8_t> payload(size);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = splitmix64(state);
    for (std::size_t b = 0; b < 8 && i + b < size; ++b) {
      payload[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
    }
  }
  return payload;
}

ClientReport run_echo_client(const ClientOptions& options, std::ostream& log) {
  const net::NetRuntime runtime;
  ClientReport report;
  report.count = options.count;
  const auto start = Clock::now();
  if (options.naive) {
    run_naive(options, log, report);
  } else {
    RobustRunner(options, log, report).run();
  }
  report.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return report;
}

std::string format_summary(const ClientReport& r) {
  std::ostringstream out;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", static_cast<double>(r.elapsed.count()) / 1000.0);
  out << "echo-client: " << r.verified << '/' << r.count
      << " verified; partial_reads=" << r.partial_reads << " coalesced_reads=" << r.coalesced_reads
      << " resets=" << r.resets << " eofs=" << r.eofs << " timeouts=" << r.timeouts
      << " reconnects=" << r.reconnects << " connect_failures=" << r.connect_failures << "; "
      << seconds << " s";
  if (r.outcome != Outcome::ok) {
    out << "; failed (" << outcome_name(r.outcome) << "); last error: " << r.last_error;
  }
  return out.str();
}

std::string format_json(const ClientReport& r) {
  std::ostringstream out;
  out << "{\"verified\":" << r.verified << ",\"count\":" << r.count
      << ",\"partial_reads\":" << r.partial_reads << ",\"coalesced_reads\":" << r.coalesced_reads
      << ",\"resets\":" << r.resets << ",\"eofs\":" << r.eofs << ",\"timeouts\":" << r.timeouts
      << ",\"reconnects\":" << r.reconnects << ",\"connect_failures\":" << r.connect_failures
      << ",\"elapsed_ms\":" << r.elapsed.count() << ",\"outcome\":\"" << outcome_name(r.outcome)
      << "\",\"last_error\":"
      << (r.last_error.empty() ? std::string("null") : json_string(r.last_error)) << '}';
  return out.str();
}

}  // namespace faultline::clients
