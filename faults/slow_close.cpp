// slow_close: data flows untouched; the EOF (the FIN) in the fault's direction reaches the peer
// `delay` (a duration) after it arrived at the proxy. Meanwhile the connection stays open: the
// peer has all the bytes but its read blocks until the FIN, like a server slow to close.
#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class SlowCloseFault final : public Fault {
 public:
  explicit SlowCloseFault(Clock::duration delay) : delay_(delay) {}

  asio::awaitable<void> on_eof(Sink& next, FaultContext& ctx) override {
    ctx.fired(fmt::format("FIN held {}", config::format_duration(delay_)));
    const Clock::time_point due = ctx.eof_received_at() + delay_;
    co_await ctx.sleep_until(due);
    co_await next.finish();
  }

 private:
  const Clock::duration delay_;
};

}  // namespace

void register_slow_close_fault(FaultRegistry& registry) {
  registry.add(
      {"slow_close",
       {},
       FaultScope::stream,
       {AttributeSpec::duration("delay", ApiUnit::ms, "how long the FIN is held back").mandatory()},
       [](AttributeReader& attrs) {
         auto delay = attrs.duration("delay");
         if (!delay) attrs.fail("delay", "a duration, e.g. 500ms (missing)");
         return make_factory<SlowCloseFault>(std::chrono::duration_cast<Clock::duration>(*delay));
       }});
}

}  // namespace faultline::faults
