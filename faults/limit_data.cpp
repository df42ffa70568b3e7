// limit_data: exactly `bytes` bytes (a size) reach the peer in the fault's direction, the chunk
// that crosses the limit cut to fit; then the connection is closed, a FIN to both peers (the
// peer reads those bytes, then EOF). A stream that ends before the limit ends as usual.
#include <fmt/format.h>

#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

class LimitDataFault final : public Fault {
 public:
  explicit LimitDataFault(std::uint64_t limit) : limit_(limit) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    if (closed_) co_return;
    const std::uint64_t room = limit_ - passed_;
    const bool reaches = chunk.bytes.size() >= room;
    if (reaches) chunk.bytes.resize(room);
    passed_ += chunk.bytes.size();
    if (!chunk.bytes.empty()) co_await next.write(std::move(chunk));
    if (!reaches) co_return;
    closed_ = true;
    ctx.fired(fmt::format("closed after {} B", passed_));
    co_await next.abort(Abort::close, Peer::both);
  }

 private:
  const std::uint64_t limit_;
  std::uint64_t passed_ = 0;
  bool closed_ = false;
};

}  // namespace

void register_limit_data_fault(FaultRegistry& registry) {
  registry.add({"limit_data",
                {},
                FaultScope::stream,
                {AttributeSpec::size("bytes", "how many bytes pass; 0 closes on the first chunk")
                     .mandatory()},
                [](AttributeReader& attrs) {
                  auto bytes = attrs.size("bytes");
                  if (!bytes)
                    attrs.fail("bytes", "a size in bytes, e.g. 512, 64KiB, 1MB (missing)");
                  return make_factory<LimitDataFault>(*bytes);
                }});
}

}  // namespace faultline::faults
