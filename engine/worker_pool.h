// WorkerPool: the broker's local worker threads. Each takes a job (rotating over the queues
// with handlers, so that one busy queue cannot starve the others), runs it, and while the
// completion's write also took its next job runs that one, back to back; with nothing to take
// it sleeps until NotifyWork. Counts the handlers running, and stops within a bound (Stop).
//
// Thread safety: thread-safe. NotifyWork takes no lock while every worker is busy.
//
// Lifetime: whatever `work` uses must outlive the pool's threads: the destructor joins them
// (also a thread that Stop gave up on).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "engine/lease_table.h"

namespace spdlog {
class logger;
}

namespace herald::engine {

class WorkerPool {
 public:
  // What a worker does (the Broker provides it). `worker` is the worker's index (0, 1, ...:
  // who ran a job, in its attempts); `cursor` is its place in the rotation over the queues;
  // both advance it past the queue they took a job from.
  struct Work {
    // A job for the worker; nullopt when there is none now.
    std::function<Result<std::optional<LeasedJob>>(std::uint32_t worker, std::uint32_t* cursor)>
        take;
    // Runs the job's handler and records its outcome; the worker's next job when the write
    // that recorded it took one.
    std::function<std::optional<LeasedJob>(std::uint32_t worker, LeasedJob job,
                                           std::stop_token stop, std::uint32_t* cursor)>
        run;
  };

  // `logger` must not be null.
  WorkerPool(Work work, std::shared_ptr<spdlog::logger> logger);
  ~WorkerPool();  // joins the threads (Stop first)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts `threads` workers, worker i at place i % queues of the rotation. Once.
  void Start(std::uint32_t threads, std::uint32_t queues);
  // New jobs may be there: idle workers look again.
  void NotifyWork();
  // Workers take no more jobs; waits up to `grace` for the running handlers (their outcomes are
  // recorded), then asks them to stop (their stop token) and waits up to `grace` more. True
  // when every thread returned; false when a handler ignored its stop token: its thread is left
  // running (the destructor waits for it).
  bool Stop(std::chrono::milliseconds grace);

  // Handlers running now, and jobs taken to run next.
  std::uint32_t running() const;
  std::size_t size() const { return threads_.size(); }

 private:
  void Loop(std::stop_token stop, std::uint32_t index, std::uint32_t queues);
  // Sleeps until NotifyWork after `generation`, Stop or `stop`.
  void WaitForWork(const std::stop_token& stop, std::uint64_t generation);

  const Work work_;
  const std::shared_ptr<spdlog::logger> logger_;
  mutable Mutex mu_;
  std::condition_variable_any work_cv_;  // idle workers wait here
  std::condition_variable_any idle_cv_;  // Stop waits here (running_, live_)
  // Bumped by NotifyWork; a worker sleeps only while it is unchanged since its last take.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint32_t> sleepers_{0};  // workers in WaitForWork
  std::atomic<bool> stopping_{false};
  std::uint32_t running_ GUARDED_BY(mu_) = 0;
  std::uint32_t live_ GUARDED_BY(mu_) = 0;  // threads not yet returned
  std::vector<std::jthread> threads_;
};

}  // namespace herald::engine
