// reset_peer (reset, rst): the `target` peer (client, upstream or both; default client) gets a
// real RST: the proxy sets SO_LINGER {1, 0} on that socket at the moment the fault fires and
// closes it, so the peer's next recv/send fails with ECONNRESET (WSAECONNRESET, 10054); the
// other peer gets an ordinary FIN. When it fires, by the first trigger that applies:
//   after_bytes: N   the first N bytes (a size) in the fault's direction reach the peer, the
//                    chunk that crosses N cut to fit; the reset follows `timeout` later.
//   after: D         (a start delay, no after_bytes) at connect + D + `timeout`, even on an idle
//                    connection.
//   otherwise        Toxiproxy's: `timeout` (a duration, default 0) after the first chunk (or
//                    the EOF) in the fault's direction arrives.
// Between the trigger and the reset nothing more is delivered in that direction (Toxiproxy drops
// the triggering chunk too); an EOF there is held back, so the connection ends with the RST.
// Connections already open are reset as well: nothing is set on a socket in advance.
#include <optional>

#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

struct ResetPeerSettings {
  Clock::duration timeout{0};
  std::optional<std::uint64_t> after_bytes;
  Peer target = Peer::client;
};

const char* peer_name(Peer p) {
  switch (p) {
    case Peer::client:
      return "client";
    case Peer::upstream:
      return "upstream";
    case Peer::both:
      return "both";
  }
  return "?";
}

class ResetPeerFault final : public Fault {
 public:
  explicit ResetPeerFault(ResetPeerSettings settings) : s_(settings) {}

  asio::awaitable<void> on_data(Chunk chunk, Sink& next, FaultContext& ctx) override {
    if (due(ctx)) co_return;  // a reset is on its way: nothing more is delivered
    const Clock::time_point at = chunk.received_at + s_.timeout;
    if (!s_.after_bytes) {
      if (scheduled_by_start(ctx) || at >= ctx.active_until()) {
        co_await next.write(std::move(chunk));  // the reset would fall outside the window
      } else {
        co_await trigger(at, next, ctx);  // Toxiproxy's: this chunk is not delivered
      }
      co_return;
    }
    const std::uint64_t room = *s_.after_bytes - passed_;
    const bool reaches = chunk.bytes.size() >= room && at < ctx.active_until();
    if (reaches) chunk.bytes.resize(room);
    passed_ += chunk.bytes.size();
    if (!chunk.bytes.empty()) co_await next.write(std::move(chunk));
    if (reaches) co_await trigger(at, next, ctx);
  }

  asio::awaitable<void> on_eof(Sink& next, FaultContext& ctx) override {
    if (!due(ctx)) {
      const Clock::time_point eof_at = ctx.eof_received_at() + s_.timeout;
      if (s_.after_bytes || scheduled_by_start(ctx) || eof_at >= ctx.active_until()) {
        co_await next.finish();  // no reset due: an ordinary close
        co_return;
      }
      fire_at_ = eof_at;  // Toxiproxy's: an EOF triggers like a chunk
    }
    // Held here, the EOF keeps the connection open until the reset replaces it.
    const Clock::time_point at = *due(ctx);  // named: no temporaries in a co_await (GCC 12)
    co_await ctx.sleep_until(at);
    co_await fire(next, ctx);
  }

  asio::awaitable<void> watch(Sink& next, FaultContext& ctx) override {
    if (!scheduled_by_start(ctx)) {
      if (s_.timeout == Clock::duration::zero()) co_return;  // fired by the trigger itself
      const Clock::time_point forever = Clock::time_point::max();
      while (!fire_at_)
        co_await ctx.wait(triggered_, forever);
    }
    const std::optional<Clock::time_point> due_at = due(ctx);
    if (!due_at) co_return;
    const Clock::time_point at = *due_at;
    co_await ctx.sleep_until(at);
    co_await fire(next, ctx);
  }

 private:
  // A start delay (`after`) with no byte trigger: the reset is due at a fixed time, idle or not.
  bool scheduled_by_start(const FaultContext& ctx) const {
    return !s_.after_bytes && ctx.active_from() > ctx.connected_at();
  }

  // When the reset fires, once it is certain to (always inside the fault's window).
  std::optional<Clock::time_point> due(const FaultContext& ctx) const {
    if (!scheduled_by_start(ctx)) return fire_at_;
    const Clock::time_point at = ctx.active_from() + s_.timeout;
    if (at >= ctx.active_until()) return std::nullopt;
    return at;
  }

  asio::awaitable<void> trigger(Clock::time_point at, Sink& next, FaultContext& ctx) {
    fire_at_ = at;
    if (s_.timeout == Clock::duration::zero()) {
      co_await fire(next, ctx);
    } else {
      triggered_.notify();
    }
  }

  asio::awaitable<void> fire(Sink& next, FaultContext& ctx) {
    if (fired_) co_return;
    fired_ = true;
    ctx.fired(peer_name(s_.target));
    co_await next.abort(Abort::reset, s_.target);
  }

  const ResetPeerSettings s_;
  std::uint64_t passed_ = 0;
  std::optional<Clock::time_point> fire_at_;  // set by the byte or Toxiproxy trigger
  Signal triggered_;
  bool fired_ = false;
};

}  // namespace

void register_reset_peer_fault(FaultRegistry& registry) {
  registry.add({"reset_peer",
                {"reset", "rst"},
                FaultScope::stream,
                {AttributeSpec::duration("timeout", ApiUnit::ms,
                                         "the wait between the trigger and the reset")
                     .defaults_to("0s")
                     .shown_by_toxiproxy(),
                 AttributeSpec::size("after_bytes",
                                     "fire after this many bytes instead of on the first chunk"),
                 AttributeSpec::choice("target", {"client", "upstream", "both"},
                                       "which socket gets the RST")},
                [](AttributeReader& attrs) {
                  ResetPeerSettings s;
                  s.timeout = std::chrono::duration_cast<Clock::duration>(
                      attrs.duration("timeout").value_or(config::Duration{0}));
                  s.after_bytes = attrs.size("after_bytes");
                  const std::string target = attrs.choice("target").value_or("client");
                  s.target = target == "upstream" ? Peer::upstream
                             : target == "both"   ? Peer::both
                                                  : Peer::client;
                  return make_factory<ResetPeerFault>(s);
                }});
}

}  // namespace faultline::faults
