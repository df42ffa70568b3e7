// connect_delay: the proxy holds the upstream dial back for `delay` (a duration) after the
// client connected. The client's connect() succeeds at once; its first reply comes `delay`
// later (a slow open). Bytes it sends meanwhile wait in the kernel and are relayed intact.
#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class ConnectDelayFault final : public Fault {
 public:
  explicit ConnectDelayFault(Clock::duration delay) : delay_(delay) {}

  asio::awaitable<void> before_dial(FaultContext& ctx) override {
    ctx.fired(fmt::format("dial held {}", config::format_duration(delay_)));
    co_await ctx.sleep_for(delay_);
  }

 private:
  Clock::duration delay_;
};

}  // namespace

void register_connect_delay_fault(FaultRegistry& registry) {
  registry.add(
      {"connect_delay",
       {"slow_open"},
       FaultScope::connection,
       {AttributeSpec::duration("delay", ApiUnit::ms, "how long the upstream dial is held back")
            .mandatory()},
       [](AttributeReader& attrs) {
         auto delay = attrs.duration("delay");
         if (!delay) attrs.fail("delay", "a duration, e.g. 500ms (missing)");
         return make_factory<ConnectDelayFault>(
             std::chrono::duration_cast<Clock::duration>(*delay));
       }});
}

}  // namespace faultline::faults
