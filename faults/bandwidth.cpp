// bandwidth: bytes reach the peer at `rate` (bytes per second, e.g. 1MB/s, 500KiB/s,
// 8Mbit/s). Chunks are cut into pieces of ~10 ms worth of bytes, each handed on at the start of
// its 10 ms slot, so the rate is smooth; one piece (the first 10 ms worth) passes at once after
// an idle spell, two after a pause shorter than a piece's time. There is no queue: pacing holds
// the reader back (TCP backpressure), so the peer's recv rate and the sender's send rate both
// drop to `rate`.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class BandwidthFault final : public Fault {
 public:
  explicit BandwidthFault(double rate)
      : rate_(rate),
        piece_max_(static_cast<std::size_t>(std::max(1.0, std::floor(rate * 0.010)))),
        grace_(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(piece_max_) / rate))) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    if (!fired_) {
      fired_ = true;
      ctx.fired(fmt::format("rate {:.0f} B/s", rate_));
    }
    std::size_t offset = 0;
    while (offset < chunk.bytes.size()) {
      const std::size_t n = std::min(piece_max_, chunk.bytes.size() - offset);
      Clock::time_point now = ctx.now();
      if (now > due() + grace_) {
        // Idle: a new schedule starts here, with no credit saved from the idle time. Behind by
        // less than a piece (a late timer, a busy CPU, a short pause): catch up instead, so
        // the proxy's own hiccups do not lower the rate.
        epoch_ = now;
        paced_bytes_ = 0;
      }
      Clock::time_point start = due();
      co_await ctx.sleep_until(start);
      paced_bytes_ += n;
      if (offset == 0 && n == chunk.bytes.size()) {
        chunk.received_at = ctx.now();
        co_await next.write(std::move(chunk));
        co_return;
      }
      Bytes bytes(n);
      std::memcpy(bytes.data(), chunk.bytes.data() + offset, n);
      Chunk piece{std::move(bytes), ctx.now()};
      co_await next.write(std::move(piece));
      offset += n;
    }
  }

 private:
  // When the next piece may go: the paced bytes' time since the schedule began. Computed from
  // the byte total (not summed per piece), so rounding never accumulates.
  Clock::time_point due() const {
    auto ns = std::llround(static_cast<double>(paced_bytes_) * 1e9 / rate_);
    return epoch_ + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns));
  }

  double rate_;
  std::size_t piece_max_;
  Clock::duration grace_;  // one piece's time
  Clock::time_point epoch_{};
  std::uint64_t paced_bytes_ = 0;
  bool fired_ = false;
};

}  // namespace

void register_bandwidth_fault(FaultRegistry& registry) {
  registry.add(
      {"bandwidth",
       {},
       FaultScope::stream,
       {AttributeSpec::rate("rate", ApiUnit::kbps, "bytes per second, at least 1B/s").mandatory()},
       [](AttributeReader& attrs) {
         auto rate = attrs.rate("rate");
         if (!rate) attrs.fail("rate", "a rate, e.g. 500KiB/s, 1MB/s (missing)");
         // Slower would be a stall in all but name (and overflow the schedule's
         // nanoseconds).
         if (*rate < 1.0) attrs.fail("rate", "a rate of at least 1B/s");
         return make_factory<BandwidthFault>(*rate);
       }});
}

}  // namespace faultline::faults
