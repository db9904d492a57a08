// WorkerPool: the broker's local worker threads. Each takes a job (rotating over the queues
// with handlers, so that one busy queue cannot starve the others), runs it, and while the
// completion's write also took its next job runs that one, back to back; with nothing to take
// it sleeps until NotifyWork. Counts the handlers running, and stops within a bound (Stop).
//
// A handler frozen for good would hold its thread forever: when its job's lease ends (the
// broker's expiry, past the queue's timeout and the handler grace) Replace gives that worker
// index a new thread, and the old one ends once its handler returns, without recording
// anything more (the job went back with the expiry).
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
#include <string>
#include <string_view>
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

  // The worker running job `id`, if any, is given a new thread (see above); the old thread
  // ends when its handler returns. True when one was replaced. Not while stopping.
  bool Replace(std::string_view id);

  // Handlers running now, and jobs taken to run next (a replaced thread's handler included
  // until it returns).
  std::uint32_t running() const;
  // Worker indexes (threads serving them); replaced threads are not counted.
  std::size_t size() const;
  // Threads replaced so far.
  std::uint64_t replaced() const;

 private:
  struct Slot {
    std::jthread thread;
    std::uint64_t serial = 0;  // the thread's: a replacement gets a new one
    std::string job;           // the job its handler runs now; "" when none
  };
  // Joins every thread, replaced ones too (waits for those still running).
  void JoinAll() EXCLUDES(mu_);
  // Starts the thread of slots_[index] (under mu_).
  void StartSlot(std::uint32_t index) REQUIRES(mu_);
  void Loop(std::stop_token stop, std::uint32_t index, std::uint64_t serial);
  // Records the job `index` runs (or "" for none); false when the thread was replaced.
  bool SetJob(std::uint32_t index, std::uint64_t serial, std::string job);
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
  std::uint32_t queues_ GUARDED_BY(mu_) = 1;
  std::uint64_t next_serial_ GUARDED_BY(mu_) = 0;
  std::uint64_t replaced_ GUARDED_BY(mu_) = 0;
  std::vector<Slot> slots_ GUARDED_BY(mu_);
  std::vector<std::jthread> replaced_threads_ GUARDED_BY(mu_);  // left to end by themselves
};

}  // namespace herald::engine
