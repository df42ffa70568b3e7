// drop (blackhole): the first `after_bytes` bytes (a size, default 0) in the fault's direction
// reach the peer, the chunk that crosses the limit cut to fit; every byte after that is
// silently discarded, and so is the EOF. The peer sees silence, never a FIN: its read times
// out. The connection stays open and the other direction keeps flowing, until a peer closes it.
#include <fmt/format.h>

#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class DropFault final : public Fault {
 public:
  explicit DropFault(std::uint64_t after_bytes) : after_bytes_(after_bytes) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    const std::uint64_t room = after_bytes_ - passed_;
    const bool crosses = chunk.bytes.size() > room;
    if (crosses) chunk.bytes.resize(room);
    passed_ += chunk.bytes.size();
    if (crosses) start_discarding(ctx);
    if (!chunk.bytes.empty()) co_await next.write(std::move(chunk));
  }

  // Swallowed: a FIN would tell the peer the connection ended; it must see silence instead.
  asio::awaitable<void> on_eof(Sink&, FaultContext& ctx) override {
    start_discarding(ctx);
    co_return;
  }

 private:
  void start_discarding(FaultContext& ctx) {
    if (discarding_) return;
    discarding_ = true;
    ctx.fired(fmt::format("discarding after {} B", passed_));
  }

  const std::uint64_t after_bytes_;
  std::uint64_t passed_ = 0;
  bool discarding_ = false;
};

}  // namespace

void register_drop_fault(FaultRegistry& registry) {
  registry.add({"drop",
                {"blackhole"},
                FaultScope::stream,
                {AttributeSpec::size("after_bytes", "how many bytes pass before the silence")
                     .defaults_to("0")},
                [](AttributeReader& attrs) {
                  const std::uint64_t after_bytes = attrs.size("after_bytes").value_or(0);
                  return make_factory<DropFault>(after_bytes);
                }});
}

}  // namespace faultline::faults
