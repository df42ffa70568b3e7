// How a pipeline's coroutines are run: the session spawns them and cancels them when the
// connection ends (or, through the returned signal, when a stage leaves the pipeline).
#pragma once

#include <functional>

#include <asio/awaitable.hpp>
#include <asio/cancellation_signal.hpp>

namespace faultline::proxy {

enum class TaskKind {
  control,  // the session's own coroutine (dial, pumps, close)
  data,     // data-path tasks (queue drainers): they end before the connection does
  watcher,  // timers beside the data path: cancelled when the connection ends
};

class TaskSpawner {
 public:
  virtual ~TaskSpawner() = default;
  virtual asio::cancellation_signal& spawn(std::function<asio::awaitable<void>()> make,
                                           TaskKind kind) = 0;
};

}  // namespace faultline::proxy
