// slicer: every chunk is cut into small writes of `average_size` ± `size_variation` bytes
// (sizes, drawn uniformly per piece), with at least `delay` (a duration) between two pieces
// handed on, also across chunks. The proxy's sockets use TCP_NODELAY, so with a delay of a
// millisecond or more each piece is its own segment: the peer sees PARTIAL RECVs, e.g. a
// 20-byte message arriving as 20 recvs of 1 byte with `average_size: 1`.
#include <algorithm>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

struct SlicerSettings {
  std::uint64_t average_size = 0;
  std::uint64_t size_variation = 0;
  Clock::duration delay{0};
};

class SlicerFault final : public Fault {
 public:
  explicit SlicerFault(SlicerSettings settings) : settings_(settings) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    if (!fired_) {
      fired_ = true;
      ctx.fired(fmt::format("pieces of {} ± {} B, {} apart", settings_.average_size,
                            settings_.size_variation, config::format_duration(settings_.delay)));
    }
    std::size_t offset = 0;
    while (offset < chunk.bytes.size()) {
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(draw_size(ctx), chunk.bytes.size() - offset));
      if (wrote_any_) {
        Clock::time_point due = last_piece_at_ + settings_.delay;
        co_await ctx.sleep_until(due);
      }
      wrote_any_ = true;
      last_piece_at_ = ctx.now();
      if (offset == 0 && n == chunk.bytes.size()) {  // one piece: hand the chunk itself on
        chunk.received_at = last_piece_at_;
        co_await next.write(std::move(chunk));
        co_return;
      }
      Bytes bytes(n);
      std::memcpy(bytes.data(), chunk.bytes.data() + offset, n);
      Chunk piece{std::move(bytes), last_piece_at_};
      co_await next.write(std::move(piece));
      offset += n;
    }
  }

 private:
  std::uint64_t draw_size(FaultContext& ctx) {
    if (settings_.size_variation == 0) return settings_.average_size;
    std::uniform_int_distribution<std::uint64_t> size(
        settings_.average_size - settings_.size_variation,
        settings_.average_size + settings_.size_variation);
    return size(ctx.rng());
  }

  SlicerSettings settings_;
  Clock::time_point last_piece_at_{};
  bool wrote_any_ = false;
  bool fired_ = false;
};

}  // namespace

void register_slicer_fault(FaultRegistry& registry) {
  registry.add(
      {"slicer",
       {"split"},
       FaultScope::stream,
       {AttributeSpec::size("average_size", "the average piece size; above 0").mandatory(),
        AttributeSpec::size("size_variation", "pieces are average_size ± this; below average_size")
            .defaults_to("0")
            .shown_by_toxiproxy(),
        // Toxiproxy's API gives this one in microseconds.
        AttributeSpec::duration("delay", ApiUnit::us, "the least time between two pieces")
            .defaults_to("0s")
            .shown_by_toxiproxy()},
       [](AttributeReader& attrs) {
         SlicerSettings s;
         auto average = attrs.size("average_size");
         if (!average) attrs.fail("average_size", "a size above 0, e.g. 1, 64 (missing)");
         if (*average == 0) attrs.fail("average_size", "a size above 0, e.g. 1, 64");
         s.average_size = *average;
         if (auto v = attrs.size("size_variation")) {
           if (*v >= s.average_size) {
             attrs.fail("size_variation",
                        fmt::format("a size below average_size ({})", s.average_size));
           }
           s.size_variation = *v;
         }
         if (auto d = attrs.duration("delay")) {
           s.delay = std::chrono::duration_cast<Clock::duration>(*d);
         }
         return make_factory<SlicerFault>(s);
       }});
}

}  // namespace faultline::faults
