// BackgroundRunner: threads that run tasks off the I/O threads — the HTTP API's bulk actions
// and failure triage, backups (one thread: one at a time), and on the postgres store the job
// commands' store calls (several threads) — so that a retry of 10^6 jobs or a wait for a
// commit never stalls other clients. At most `capacity` wait; more are refused with Busy
// (503), never queued without bound.
//
// Thread safety: thread-safe. Tasks run on the runner's threads, in the order posted when
// there is one; the destructor lets the running tasks finish and drops those still waiting
// (each is destroyed unrun).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace herald {

class BackgroundRunner {
 public:
  // Default capacity: 8 waiting tasks, on 1 thread. `what` names the tasks in Busy's message.
  explicit BackgroundRunner(std::size_t capacity = 8, std::size_t threads = 1,
                            std::string what = "long requests");
  ~BackgroundRunner();
  BackgroundRunner(const BackgroundRunner&) = delete;
  BackgroundRunner& operator=(const BackgroundRunner&) = delete;

  // Queues `task`. Busy when `capacity` tasks wait already, ShuttingDown once stopping.
  Status Post(std::function<void()> task);

 private:
  void Run(std::stop_token stop);

  const std::size_t capacity_;
  const std::string what_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::jthread> threads_;  // last: started once the rest is ready
};

}  // namespace herald
