// BackgroundRunner: one thread that runs long requests one at a time, off the I/O threads — the
// HTTP API's bulk actions and failure triage, backups — so that a retry of 10^6 jobs never
// stalls other clients. At most `capacity` wait; more are refused with Busy (503), never
// queued without bound.
//
// Thread safety: thread-safe. Tasks run on the runner's thread; the destructor lets the running
// task finish and drops those still waiting (each is destroyed unrun).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"

namespace herald {

class BackgroundRunner {
 public:
  // Default capacity: 8 waiting tasks.
  explicit BackgroundRunner(std::size_t capacity = 8);
  ~BackgroundRunner();
  BackgroundRunner(const BackgroundRunner&) = delete;
  BackgroundRunner& operator=(const BackgroundRunner&) = delete;

  // Queues `task`. Busy when `capacity` tasks wait already, ShuttingDown once stopping.
  Status Post(std::function<void()> task);

 private:
  void Run(std::stop_token stop);

  const std::size_t capacity_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::jthread thread_;  // last: started once the rest is ready
};

}  // namespace herald
