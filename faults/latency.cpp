// latency: every chunk reaches the peer `latency` ± `jitter` (durations) after it arrived at
// the proxy, in order: a chunk is never delivered before one that arrived earlier, nor before
// it arrived. Jitter is drawn per chunk, uniform in [-jitter, +jitter] or (`distribution:
// normal`) with `jitter` as the standard deviation, clamped at ±3σ. Chunks wait in a queue, so
// the proxy keeps reading: latency delays bytes but does not cap throughput. The EOF arrives
// `latency` after it was received, after every earlier chunk. The queue holds at most `queue`
// bytes (a size, default 128 MiB): past it the proxy stops reading and TCP holds the sender
// back, so throughput is at most queue / latency (128 MiB / 100 ms = 1.3 GB/s) and a peer
// that never reads costs at most `queue` of memory per direction.
#include <algorithm>
#include <cmath>
#include <random>

#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

struct LatencySettings {
  Clock::duration latency{0};
  Clock::duration jitter{0};
  bool normal = false;  // jitter is a standard deviation instead of a uniform half-width
  std::size_t queue = std::size_t{128} << 20;  // bytes in flight at most
};

class LatencyFault final : public Fault {
 public:
  explicit LatencyFault(LatencySettings settings) : settings_(settings) {}

  // The byte bound is the one that matters for bulk transfers; the chunk bound, for many
  // small reads (an interactive protocol through a long latency).
  std::size_t buffer_chunks() const override { return 4096; }
  std::size_t buffer_bytes() const override { return settings_.queue; }

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    if (!fired_) {
      fired_ = true;
      ctx.fired(describe());
    }
    // Never before it arrived, never before an earlier chunk: no reordering.
    Clock::time_point due = std::max(
        {chunk.received_at + settings_.latency + draw_jitter(ctx), chunk.received_at, last_due_});
    last_due_ = due;
    co_await ctx.sleep_until(due);
    chunk.received_at = ctx.now();  // handed on now: a latency stacked after this one adds up
    co_await next.write(std::move(chunk));
  }

  asio::awaitable<void> on_eof(Sink& next, FaultContext& ctx) override {
    Clock::time_point due = std::max(ctx.eof_received_at() + settings_.latency, last_due_);
    co_await ctx.sleep_until(due);
    co_await next.finish();
  }

 private:
  Clock::duration draw_jitter(FaultContext& ctx) {
    const auto j = settings_.jitter.count();
    if (j == 0) return Clock::duration{0};
    if (!settings_.normal) {
      std::uniform_int_distribution<Clock::rep> uniform(-j, j);
      return Clock::duration{uniform(ctx.rng())};
    }
    std::normal_distribution<double> normal(0.0, static_cast<double>(j));
    double x = std::clamp(normal(ctx.rng()), -3.0 * j, 3.0 * j);
    return Clock::duration{static_cast<Clock::rep>(std::llround(x))};
  }

  std::string describe() const {
    if (settings_.jitter.count() == 0) {
      return fmt::format("latency {}", config::format_duration(settings_.latency));
    }
    return fmt::format("latency {} ± {}{}", config::format_duration(settings_.latency),
                       config::format_duration(settings_.jitter),
                       settings_.normal ? " (normal)" : "");
  }

  LatencySettings settings_;
  Clock::time_point last_due_{};
  bool fired_ = false;
};

}  // namespace

void register_latency_fault(FaultRegistry& registry) {
  registry.add({"latency",
                {"delay"},
                FaultScope::stream,
                {AttributeSpec::duration("latency", ApiUnit::ms,
                                         "the delay added to every chunk and to the EOF")
                     .defaults_to("0s")
                     .shown_by_toxiproxy(),
                 AttributeSpec::duration("jitter", ApiUnit::ms,
                                         "uniform: each chunk's delay is off by up to ± jitter; "
                                         "normal: the standard deviation")
                     .defaults_to("0s")
                     .shown_by_toxiproxy(),
                 AttributeSpec::choice("distribution", {"uniform", "normal"},
                                       "how jitter is drawn; normal is clamped at ±3σ"),
                 AttributeSpec::size("queue", "the most bytes held while they wait, 1 B..1GiB")
                     .defaults_to("128MiB")},
                [](AttributeReader& attrs) {
                  LatencySettings s;
                  if (auto d = attrs.duration("latency")) {
                    s.latency = std::chrono::duration_cast<Clock::duration>(*d);
                  }
                  if (auto d = attrs.duration("jitter")) {
                    s.jitter = std::chrono::duration_cast<Clock::duration>(*d);
                  }
                  if (auto d = attrs.choice("distribution")) {
                    s.normal = *d == "normal";
                  }
                  if (auto q = attrs.size("queue")) {
                    if (*q == 0 || *q > (std::uint64_t{1} << 30)) {
                      attrs.fail("queue", "a size from 1 B to 1GiB, e.g. 128MiB");
                    }
                    s.queue = static_cast<std::size_t>(*q);
                  }
                  return make_factory<LatencyFault>(s);
                }});
}

}  // namespace faultline::faults
