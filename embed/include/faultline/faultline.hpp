// Faultline in-process: a fault-injecting TCP proxy a program (a test) starts in front of a
// server, on a kernel-chosen port, and points its client at. The faults are the YAML's
// (docs/faults.md): give them as YAML text or with the builders below, change them while the
// client runs, read what the proxy counted, stop it. Each Proxy runs on threads of its own and
// never touches the process's signals; several may run in one process.
//
//   faultline::Proxy proxy({.upstream = "127.0.0.1:5432",
//                           .faults = {faultline::slicer({.average_size = 1, .delay = 1ms})}});
//   connect_my_client("127.0.0.1", proxy.port());
//
// This header and the ones beside it are the whole public API: no Asio, no internal types.
// What may still change before 1.0 is listed in docs/embedding.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/version.hpp"

namespace faultline {

using std::chrono::microseconds;

// A refused start or change: a bad fault (with its place and field, as --check says it), an
// unknown fault name, a taken name, an address that cannot be bound.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// upstream: the client's bytes on their way to the server; downstream: the server's reply.
enum class Stream { upstream, downstream, both };

// One fault, in the YAML's terms: a type, the conditions every fault takes, and the fault's
// own attributes written as in YAML ({"latency", "100ms"}, {"rate", "1MB/s"}).
struct Fault {
  std::string type{};
  std::string name{};  // how changes and logs call it; empty: "<type>_<stream>"
  Stream stream = Stream::downstream;
  double toxicity = 1.0;                   // the chance it applies to a connection, 0..1
  microseconds after{0};                   // starts this long after the connection opened
  std::optional<microseconds> duration{};  // and stays on this long (empty: for ever)
  std::string connections = "all";         // "all", "first: N", "every: N" or "nth: N"
  std::map<std::string, std::string> attributes{};

  // Chainable: faultline::reset_peer({.after_bytes = 5}).named("rst").starting_after(2s).
  Fault& named(std::string n);
  Fault& on(Stream s);
  Fault& with_toxicity(double p);
  Fault& starting_after(microseconds d);
  Fault& lasting(microseconds d);
  Fault& on_connections(std::string which);
  Fault& set(std::string attribute, std::string value);

  // One YAML flow mapping, as a `faults:` item: { type: slicer, stream: downstream, ... }.
  std::string to_yaml() const;
};

// The YAML items of a `faults:` list ("- { type: latency, latency: 100ms }" lines, or block
// mappings), checked as the config file's are. Throws Error with the line and column.
std::vector<Fault> faults_from_yaml(std::string_view yaml);

// Builders, one per fault type (docs/faults.md has what each does to the peer). Designated
// initializers go in the order the members are declared: the attributes, then the stream.
struct LatencyOptions {
  microseconds latency{0};
  microseconds jitter{0};
  Stream stream = Stream::downstream;
};
Fault latency(const LatencyOptions& o);

struct BandwidthOptions {
  std::uint64_t bytes_per_second = 0;  // above zero
  Stream stream = Stream::downstream;
};
Fault bandwidth(const BandwidthOptions& o);

// Partial recv: every write cut into pieces of average_size ± size_variation bytes, `delay`
// apart.
struct SlicerOptions {
  std::uint64_t average_size = 1;
  std::uint64_t size_variation = 0;
  microseconds delay{1000};  // 1 ms: each piece in its own segment, one recv each
  Stream stream = Stream::downstream;
};
Fault slicer(const SlicerOptions& o = {});

// Several writes merged into one recv.
struct CoalesceOptions {
  microseconds window{10000};
  std::uint64_t max_bytes = 64 * 1024;
  Stream stream = Stream::downstream;
};
Fault coalesce(const CoalesceOptions& o = {});

// Silence after after_bytes: the peer's read times out, no FIN ever comes.
struct DropOptions {
  std::uint64_t after_bytes = 0;
  Stream stream = Stream::downstream;
};
Fault drop(const DropOptions& o = {});

// Toxiproxy's timeout: data stops; the connection is closed (FIN) `timeout` after the last
// chunk, or never with 0.
struct TimeoutOptions {
  microseconds timeout{0};
  Stream stream = Stream::downstream;
};
Fault timeout(const TimeoutOptions& o = {});

// ECONNRESET: the target's socket is reset (SO_LINGER 0) when the fault fires: after
// after_bytes bytes, else on the first chunk, plus `timeout`.
enum class ResetTarget { client, upstream, both };
struct ResetPeerOptions {
  microseconds timeout{0};
  std::optional<std::uint64_t> after_bytes{};
  ResetTarget target = ResetTarget::client;
  Stream stream = Stream::downstream;
};
Fault reset_peer(const ResetPeerOptions& o = {});

// Exactly `bytes` bytes pass, then a FIN to both peers.
struct LimitDataOptions {
  std::uint64_t bytes = 0;
  Stream stream = Stream::downstream;
};
Fault limit_data(const LimitDataOptions& o);

// The FIN held back `delay`.
struct SlowCloseOptions {
  microseconds delay{0};
  Stream stream = Stream::downstream;
};
Fault slow_close(const SlowCloseOptions& o);

// The upstream dial held back `delay` (a slow open).
struct ConnectDelayOptions {
  microseconds delay{0};
};
Fault connect_delay(const ConnectDelayOptions& o);

// How a connection through the proxy ended.
enum class CloseCause { fin, rst, error, fault, shutdown };
inline constexpr std::size_t kCloseCauses = 5;
const char* to_string(CloseCause c);

// What the proxy counted since it started.
struct Counters {
  std::uint64_t bytes_upstream = 0;    // client -> server
  std::uint64_t bytes_downstream = 0;  // server -> client
  std::uint64_t chunks_upstream = 0;   // reads relayed
  std::uint64_t chunks_downstream = 0;
  std::uint64_t accepted = 0;  // connections
  std::uint64_t active = 0;
  std::uint64_t upstream_failures = 0;               // dials that failed
  std::array<std::uint64_t, kCloseCauses> closed{};  // by CloseCause
  std::map<std::string, std::uint64_t> fired{};      // by fault type (canonical: reset_peer)

  std::uint64_t closed_by(CloseCause c) const { return closed[static_cast<std::size_t>(c)]; }
  std::uint64_t closed_total() const;
  std::uint64_t faults_fired() const;                   // every type
  std::uint64_t fired_of(std::string_view type) const;  // an alias counts as its type
  std::string to_string() const;                        // one line, for failure messages
};

struct ProxyOptions {
  std::string upstream{};              // "host:port", required
  std::string listen = "127.0.0.1:0";  // port 0: the kernel chooses; read port()
  std::string name{};                  // in its log lines; empty: "faultline-<n>"
  std::vector<Fault> faults{};
  std::string faults_yaml{};  // more faults, as YAML items (after `faults`)
  std::uint64_t seed = 1;     // every random draw is reproducible from it
  unsigned threads = 1;       // worker threads of this proxy
  std::chrono::milliseconds connect_timeout{5000};
  bool reset_on_upstream_failure = true;  // the client gets an RST (else a FIN) when the dial fails
  // Relay settings (README): both trade CPU for speed and timing precision. Off by default,
  // as the binary's; 50us and 500us are its `--profile low-latency`.
  microseconds busy_poll{0};
  microseconds timer_spin{0};
  // Its log: every line of this proxy (and only this one's) at `log_level` and above is kept,
  // the last `log_capacity` of them, and handed to `on_log` (on the proxy's threads) if set.
  // Nothing goes to stdout unless the process set Faultline's logging up itself.
  std::string log_level = "debug";
  std::size_t log_capacity = 4096;
  std::function<void(std::string_view line)> on_log{};
};

class Proxy {
 public:
  // Listening when it returns. Throws Error (a bad option or fault, the address in use).
  explicit Proxy(ProxyOptions options);
  Proxy(std::string upstream, std::vector<Fault> faults);  // Proxy({.upstream = ...}) for none
  ~Proxy();                                                // stop()
  Proxy(Proxy&&) noexcept;
  Proxy& operator=(Proxy&&) noexcept;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  const std::string& name() const;
  std::string host() const;  // the address bound, e.g. "127.0.0.1"
  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:40123"
  const std::string& upstream() const;

  // Fault changes. Each is all-or-nothing (Error and nothing changed), applies to new
  // connections at once and to open ones before their next chunk, without losing a byte.
  std::vector<Fault> faults() const;
  void set_faults(std::vector<Fault> faults);
  void set_faults(std::string_view yaml);
  std::string add_fault(Fault fault);        // returns its name; Error if the name is taken
  void update_fault(Fault fault);            // the fault of that name; Error if there is none
  void remove_fault(std::string_view name);  // Error if there is none
  void clear_faults();

  Counters counters() const;
  // Waits until `done(counters())` holds or `timeout` passed; returns whether it held. The
  // proxy counts a close when its session has ended, a moment after the client saw it.
  bool wait_for(const std::function<bool(const Counters&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  std::vector<std::string> log_lines() const;  // oldest first
  std::string log() const;                     // the same, one per line

  // Stops accepting, ends every connection (FIN) within `grace`, joins its threads.
  // Idempotent; the destructor calls it.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(500));
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faultline
