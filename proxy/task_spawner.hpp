// How a pipeline's coroutines are run: the session spawns them and cancels them when the
// connection ends (or, through the returned id, when a stage leaves the pipeline).
#pragma once

#include <cstdint>
#include <functional>

#include <asio/awaitable.hpp>

namespace faultline::proxy {

enum class TaskKind {
  control,  // the session's own coroutine (dial, pumps, close)
  data,     // data-path tasks (queue drainers): they end before the connection does
  watcher,  // timers beside the data path: cancelled when the connection ends
};

// Names a spawned task. A task's bookkeeping is released when it ends, so an id may outlive
// its task: cancelling an ended task does nothing.
using TaskId = std::uint64_t;

class TaskSpawner {
 public:
  virtual ~TaskSpawner() = default;
  virtual TaskId spawn(std::function<asio::awaitable<void>()> make, TaskKind kind) = 0;
  virtual void cancel(TaskId task) = 0;  // terminal cancellation, if the task still runs
};

}  // namespace faultline::proxy
