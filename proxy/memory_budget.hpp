// One memory budget for the whole process: the bytes faults hold (latency queues, coalesce
// buffers) come out of it, whichever connection and worker thread holds them. When it is
// spent, a direction that wants more waits, so its pump stops reading and TCP holds the sender
// back: nothing is dropped. Requests are granted in the order they came (first come, first
// served), and a holder that holds nothing is always granted one request, so a connection
// moves at least a chunk at a time even while peers that never read hold the rest. The
// budget may therefore be exceeded by at most one request (a read buffer, 64 KiB) per holder.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace faultline::proxy {

inline constexpr std::size_t kDefaultMemoryBudget = std::size_t{256} << 20;

class MemoryBudget {
 public:
  // What one stage of one connection holds. Its fields are the budget's, under its lock.
  class Holder {
   public:
    std::size_t held() const;

   private:
    friend class MemoryBudget;
    MemoryBudget* budget_ = nullptr;
    std::size_t held_ = 0;
    std::size_t pending_ = 0;  // a queued request (bytes), 0 when none
    bool granted_ = false;     // the queued request was granted, not yet collected
    bool closed_ = false;      // released: grants skip it
  };

  explicit MemoryBudget(std::size_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  std::shared_ptr<Holder> holder();

  // Takes `bytes` for `holder` now (true), or queues the request (false): `wake` is then called,
  // on whichever thread gives bytes back, once it has been granted; call take() again with
  // the same size to collect it. One request per holder at a time.
  bool take(const std::shared_ptr<Holder>& holder, std::size_t bytes, std::function<void()> wake);
  void give(Holder& holder, std::size_t bytes);
  // The holder goes away: everything it holds comes back, and a queued request is dropped.
  void close(Holder& holder);

  std::size_t limit() const { return limit_; }
  std::size_t used() const;
  std::size_t peak() const;  // the most ever held at once
  std::size_t waiting() const;

 private:
  struct Waiter {
    std::weak_ptr<Holder> holder;
    std::function<void()> wake;
  };
  // Under the lock: grants queued requests, oldest first, while they fit; returns the wakers.
  void grant_locked(std::vector<std::function<void()>>& wake);
  void grant_one_locked(Holder& h, std::vector<std::function<void()>>& wake,
                        std::function<void()> waker);

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  std::deque<Waiter> waiters_;
};

}  // namespace faultline::proxy
