// coalesce: writes are held and merged, then handed on as ONE write once `max_bytes` (a size)
// are held or `window` (a duration) has passed since the first held byte. The peer sees
// several messages arrive in one recv. A chunk is never split, so a merged write can exceed
// max_bytes by the last chunk added. While max_bytes are held the reader waits (backpressure).
// EOF hands on what is held first, then the EOF; so does a live change of the fault set.
// What is held comes out of the process's memory budget: while it is spent, the reader waits.
#include <algorithm>

#include <fmt/format.h>

#include "config/units.hpp"
#include "faults/registry.hpp"

namespace faultline::faults {
namespace {

constexpr Clock::time_point kForever = Clock::time_point::max();

struct CoalesceSettings {
  std::uint64_t max_bytes = 64 * 1024;
  Clock::duration window{0};
};

class CoalesceFault final : public Fault {
 public:
  explicit CoalesceFault(CoalesceSettings settings) : settings_(settings) {}

  // Only appends; watch() does all the writing, so two coroutines never write to `next`.
  asio::awaitable<void> on_data(Chunk chunk, Sink&, FaultContext& ctx) override {
    if (!fired_) {
      fired_ = true;
      ctx.fired(fmt::format("merging up to {} within {}", config::format_size(settings_.max_bytes),
                            config::format_duration(settings_.window)));
    }
    if (held_.empty()) {
      first_held_at_ = ctx.now();
      held_ = std::move(chunk.bytes);  // keeps the read buffer (and its capacity)
    } else {
      held_.insert(held_.end(), chunk.bytes.begin(), chunk.bytes.end());
    }
    more_.notify();
    // Counted as the buffer's capacity, taken after it grew: the wait is the backpressure.
    // The watcher may hand the buffer on meanwhile: then what was taken goes back at once.
    if (held_.capacity() > accounted_) {
      const std::size_t more = held_.capacity() - accounted_;
      const std::uint64_t buffer = flushes_;
      co_await ctx.hold(more);
      if (flushes_ == buffer) {
        accounted_ += more;
      } else {
        ctx.release(more);
      }
    }
    while (held_.size() >= settings_.max_bytes) {
      co_await ctx.wait(space_, kForever);
    }
  }

  asio::awaitable<void> on_eof(Sink&, FaultContext& ctx) override {
    eof_ = true;
    more_.notify();
    // The data path must not end before the watcher has flushed and passed the EOF on: the
    // session cancels watchers once both directions' data paths are done.
    while (!finished_)
      co_await ctx.wait(done_, kForever);
  }

  // A live change of the fault set: what is held goes now (by watch(), the one writer).
  asio::awaitable<void> on_handover(Sink&, FaultContext& ctx) override {
    if (finished_) co_return;
    handover_ = true;
    more_.notify();
    while (handover_)
      co_await ctx.wait(handed_, kForever);
  }

  asio::awaitable<void> watch(Sink& next, FaultContext& ctx) override {
    for (;;) {
      if (held_.empty()) {
        if (handover_) {
          handover_ = false;
          handed_.notify();
        }
        if (eof_) break;
        co_await ctx.wait(more_, kForever);
        continue;
      }
      if (!eof_ && !handover_ && held_.size() < settings_.max_bytes) {
        // Held data also goes when the fault's `duration` ends: later chunks bypass this stage.
        Clock::time_point deadline =
            std::min(first_held_at_ + settings_.window, ctx.active_until());
        if (ctx.now() < deadline) {
          co_await ctx.wait(more_, deadline);
          continue;
        }
      }
      Bytes bytes = std::move(held_);
      held_ = Bytes{};
      ctx.release(std::exchange(accounted_, 0));  // the next stage (or the socket) has it now
      ++flushes_;
      space_.notify();
      Chunk merged{std::move(bytes), ctx.now()};
      co_await next.write(std::move(merged));
    }
    co_await next.finish();
    finished_ = true;
    done_.notify();
  }

 private:
  CoalesceSettings settings_;
  Bytes held_;
  std::size_t accounted_ = 0;  // of held_'s capacity, taken from the memory budget
  std::uint64_t flushes_ = 0;  // buffers handed on so far
  Clock::time_point first_held_at_{};
  bool eof_ = false;
  bool finished_ = false;
  bool handover_ = false;
  bool fired_ = false;
  Signal more_;    // on_data/on_eof -> watch: data or EOF arrived
  Signal space_;   // watch -> on_data: held bytes were handed on
  Signal done_;    // watch -> on_eof: the EOF was passed on
  Signal handed_;  // watch -> on_handover: nothing is held any more
};

}  // namespace

void register_coalesce_fault(FaultRegistry& registry) {
  registry.add(
      {"coalesce",
       {},
       FaultScope::stream,
       {AttributeSpec::duration("window", ApiUnit::ms, "the longest a byte is held; above 0")
            .mandatory(),
        AttributeSpec::size("max_bytes", "hand on as soon as this much is held; above 0")
            .defaults_to("64KiB")},
       [](AttributeReader& attrs) {
         CoalesceSettings s;
         if (auto m = attrs.size("max_bytes")) {
           if (*m == 0) attrs.fail("max_bytes", "a size above 0, e.g. 1500, 64KiB");
           s.max_bytes = *m;
         }
         auto window = attrs.duration("window");
         if (!window) attrs.fail("window", "a duration above 0, e.g. 50ms (missing)");
         if (window->count() <= 0) attrs.fail("window", "a duration above 0, e.g. 50ms");
         s.window = std::chrono::duration_cast<Clock::duration>(*window);
         return make_factory<CoalesceFault>(s);
       }});
}

}  // namespace faultline::faults
