// timeout: Toxiproxy's. While the fault is on, nothing more reaches the peer in its direction:
// every chunk, and the EOF, is discarded. With `timeout` > 0 (a duration) the connection is then
// closed, a FIN to both peers, `timeout` after the later of the fault's start and the last chunk
// that arrived (each chunk restarts the clock). With `timeout: 0` (the default) it is never
// closed by the fault: the data just stops and the peer's read times out.
#include <algorithm>

#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class TimeoutFault final : public Fault {
 public:
  explicit TimeoutFault(Clock::duration timeout) : timeout_(timeout) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink&, FaultContext& ctx) override {
    last_arrival_ = std::max(last_arrival_, chunk.received_at);
    arrived_.notify();  // pushes the watcher's deadline
    if (timeout_ == Clock::duration::zero() && !fired_) {
      fired_ = true;
      ctx.fired("data stopped");
    }
    co_return;  // discarded
  }

  // Swallowed: with timeout 0 the peer sees silence, otherwise the close comes from watch().
  asio::awaitable<void> on_eof(Sink&, FaultContext&) override { co_return; }

  asio::awaitable<void> watch(Sink& next, FaultContext& ctx) override {
    if (timeout_ == Clock::duration::zero()) co_return;
    for (;;) {
      const Clock::time_point deadline = std::max(ctx.active_from(), last_arrival_) + timeout_;
      // Past the `duration` window no chunk is discarded and nothing is closed.
      if (deadline >= ctx.active_until()) co_return;
      if (co_await ctx.wait(arrived_, deadline)) continue;
      ctx.fired(fmt::format("closed after {} without data", config::format_duration(timeout_)));
      co_await next.abort(Abort::close, Peer::both);
      co_return;
    }
  }

 private:
  const Clock::duration timeout_;
  Clock::time_point last_arrival_ = Clock::time_point::min();
  Signal arrived_;
  bool fired_ = false;
};

}  // namespace

void register_timeout_fault(FaultRegistry& registry) {
  registry.add({"timeout",
                {},
                FaultScope::stream,
                {AttributeSpec::duration("timeout", ApiUnit::ms,
                                         "close this long after the last chunk (or the fault's "
                                         "start); 0: never")
                     .defaults_to("0s")
                     .shown_by_toxiproxy()},
                [](AttributeReader& attrs) {
                  const auto timeout = attrs.duration("timeout").value_or(config::Duration{0});
                  return make_factory<TimeoutFault>(
                      std::chrono::duration_cast<Clock::duration>(timeout));
                }});
}

}  // namespace faultline::faults
