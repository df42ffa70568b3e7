// Read buffers, recycled per thread: a pump takes one only when its socket is readable and the
// socket sink gives it back after writing, so an idle connection holds no buffer.
#pragma once

#include <cstddef>
#include <vector>

#include "faults/fault.hpp"

namespace faultline::proxy {

inline constexpr std::size_t kReadBufferSize = 64 * 1024;

class BufferPool {
 public:
  static BufferPool& local() {
    thread_local BufferPool pool;
    return pool;
  }

  faults::Bytes take() {
    if (free_.empty()) {
      faults::Bytes b;
      b.reserve(kReadBufferSize);
      return b;
    }
    faults::Bytes b = std::move(free_.back());
    free_.pop_back();
    return b;
  }

  void give(faults::Bytes&& b) {
    if (b.capacity() < kReadBufferSize || free_.size() >= kMaxFree) return;
    b.clear();
    free_.push_back(std::move(b));
  }

 private:
  static constexpr std::size_t kMaxFree = 16;
  std::vector<faults::Bytes> free_;
};

}  // namespace faultline::proxy
