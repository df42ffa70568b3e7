#include "proxy/memory_budget.hpp"

#include <algorithm>
#include <vector>

namespace faultline::proxy {

std::size_t MemoryBudget::Holder::held() const {
  std::lock_guard lock(budget_->mutex_);
  return held_;
}

std::shared_ptr<MemoryBudget::Holder> MemoryBudget::holder() {
  auto h = std::make_shared<Holder>();
  h->budget_ = this;
  return h;
}

bool MemoryBudget::take(const std::shared_ptr<Holder>& holder, std::size_t bytes,
                        std::function<void()> wake) {
  Holder& h = *holder;
  std::lock_guard lock(mutex_);
  if (h.pending_ != 0) {
    if (!h.granted_) return false;  // still queued: its waker runs once granted
    h.pending_ = 0;
    h.granted_ = false;
    return true;  // counted when granted
  }
  // Nobody jumps the queue; a holder with nothing held never waits.
  if (h.held_ == 0 || (waiters_.empty() && used_ + bytes <= limit_)) {
    h.held_ += bytes;
    used_ += bytes;
    peak_ = std::max(peak_, used_);
    return true;
  }
  h.pending_ = bytes;
  waiters_.push_back({holder, std::move(wake)});
  return false;
}

void MemoryBudget::grant_one_locked(Holder& h, std::vector<std::function<void()>>& wake,
                                    std::function<void()> waker) {
  h.held_ += h.pending_;
  used_ += h.pending_;
  peak_ = std::max(peak_, used_);
  h.granted_ = true;
  wake.push_back(std::move(waker));
}

void MemoryBudget::grant_locked(std::vector<std::function<void()>>& wake) {
  while (!waiters_.empty()) {
    Waiter& w = waiters_.front();
    auto h = w.holder.lock();
    if (!h || h->closed_ || h->pending_ == 0 || h->granted_) {
      waiters_.pop_front();
      continue;
    }
    if (h->held_ != 0 && used_ + h->pending_ > limit_) break;  // the oldest waits for room
    grant_one_locked(*h, wake, std::move(w.wake));
    waiters_.pop_front();
  }
}

void MemoryBudget::give(Holder& h, std::size_t bytes) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mutex_);
    bytes = std::min(bytes, h.held_);
    h.held_ -= bytes;
    used_ -= bytes;
    grant_locked(wake);
    // A queued holder that now holds nothing goes at once, wherever it is in the queue.
    if (h.held_ == 0 && h.pending_ != 0 && !h.granted_ && !h.closed_) {
      auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
        auto p = w.holder.lock();
        return p.get() == &h;
      });
      if (it != waiters_.end()) {
        grant_one_locked(h, wake, std::move(it->wake));
        waiters_.erase(it);
      }
    }
  }
  for (auto& w : wake)
    w();
}

void MemoryBudget::close(Holder& h) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard lock(mutex_);
    h.closed_ = true;
    used_ -= h.held_;
    h.held_ = 0;
    h.pending_ = 0;
    h.granted_ = false;
    grant_locked(wake);
  }
  for (auto& w : wake)
    w();
}

std::size_t MemoryBudget::used() const {
  std::lock_guard lock(mutex_);
  return used_;
}

std::size_t MemoryBudget::peak() const {
  std::lock_guard lock(mutex_);
  return peak_;
}

std::size_t MemoryBudget::waiting() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(waiters_.begin(), waiters_.end(), [](const Waiter& w) {
        auto h = w.holder.lock();
        return h && !h->closed_ && h->pending_ != 0 && !h->granted_;
      }));
}

}  // namespace faultline::proxy
