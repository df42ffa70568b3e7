// backlog (backlog_exhaustion): the listener misbehaves the way a saturated server does.
//   mode: stall   the proxy stops calling accept(2) and shortens the kernel's accept queue to
//                 `backlog` connections; once that is full, a new client's connect() hangs
//                 (its SYN goes unanswered) until the client's own timeout.
//   mode: reset   connections are accepted and reset at once: connect() succeeds, the first
//                 recv fails with ECONNRESET (10054 on Windows) — an overflowing accept queue.
//   mode: refuse  the listening socket is closed: connect() fails with ECONNREFUSED.
// It starts `after` the fault was put on the listener, once `max_connections` clients are
// connected (0: at once), and lasts `duration` (for ever when absent); then accepting resumes
// on the same port. Connections already relayed are not touched.
#include <fmt/format.h>

#include "faults/listener_fault.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

enum class BacklogMode { stall, reset, refuse };

struct BacklogSettings {
  BacklogMode mode = BacklogMode::stall;
  int backlog = 1;
  std::uint64_t max_connections = 0;
  Clock::duration after{0};
  std::optional<Clock::duration> duration;
};

const char* mode_name(BacklogMode m) {
  switch (m) {
    case BacklogMode::stall:
      return "stall";
    case BacklogMode::reset:
      return "reset";
    case BacklogMode::refuse:
      return "refuse";
  }
  return "?";
}

class BacklogFault final : public ListenerFault {
 public:
  explicit BacklogFault(BacklogSettings s) : s_(s) {}

  asio::awaitable<void> run(ListenerControl& control) override {
    const Clock::time_point start = control.started_at() + s_.after;
    const Clock::time_point end = s_.duration ? start + *s_.duration : Clock::time_point::max();
    co_await control.sleep_until(start);
    while (control.now() < end) {
      if (s_.max_connections > 0 &&
          !co_await control.wait_connections(true, s_.max_connections, end)) {
        break;  // the window ended before the listener filled up
      }
      apply(control);
      if (s_.max_connections > 0) {
        // Like a server with max_connections slots: a slot that frees up lets clients in.
        co_await control.wait_connections(false, s_.max_connections, end);
      } else {
        co_await control.sleep_until(end);
      }
      control.resume();
      control.fired("ended: accepting again");
    }
  }

 private:
  void apply(ListenerControl& control) {
    switch (s_.mode) {
      case BacklogMode::stall:
        control.stall(s_.backlog);
        break;
      case BacklogMode::reset:
        control.reset_on_accept();
        break;
      case BacklogMode::refuse:
        control.refuse();
        break;
    }
    control.fired(fmt::format("mode {} with {} connection{} open", mode_name(s_.mode),
                              control.active_connections(),
                              control.active_connections() == 1 ? "" : "s"));
  }

  BacklogSettings s_;
};

class BacklogFactory final : public FaultFactory {
 public:
  explicit BacklogFactory(BacklogSettings s) : s_(s) {}
  std::unique_ptr<Fault> create() const override { return nullptr; }
  std::unique_ptr<ListenerFault> create_listener() const override {
    return std::make_unique<BacklogFault>(s_);
  }

 private:
  BacklogSettings s_;
};

}  // namespace

void register_backlog_fault(FaultRegistry& registry) {
  registry.add(
      {"backlog",
       {"backlog_exhaustion"},
       FaultScope::listener,
       {AttributeSpec::choice("mode", {"stall", "reset", "refuse"},
                              "stall, reset or refuse new clients"),
        AttributeSpec::count("backlog", "the kernel accept queue length while stalled, 0..65535")
            .defaults_to("1"),
        AttributeSpec::count("max_connections",
                             "the fault starts once this many clients are connected "
                             "(0: at once)")
            .defaults_to("0")},
       [](AttributeReader& attrs) -> std::shared_ptr<const FaultFactory> {
         BacklogSettings s;
         auto mode = attrs.choice("mode");
         if (mode == "reset") s.mode = BacklogMode::reset;
         if (mode == "refuse") s.mode = BacklogMode::refuse;
         if (auto b = attrs.number("backlog", 0, 65535)) {
           if (*b != static_cast<int>(*b)) attrs.fail("backlog", "a whole number 0..65535");
           s.backlog = static_cast<int>(*b);
         }
         if (auto m = attrs.number("max_connections", 0, 1e9)) {
           if (*m != static_cast<double>(static_cast<std::uint64_t>(*m))) {
             attrs.fail("max_connections", "a whole number of connections");
           }
           s.max_connections = static_cast<std::uint64_t>(*m);
         }
         // The window is the fault's own: the listener has no per-connection clock.
         s.after = attrs.spec().after;
         s.duration = attrs.spec().duration;
         return std::make_shared<BacklogFactory>(s);
       }});
}

}  // namespace faultline::faults
