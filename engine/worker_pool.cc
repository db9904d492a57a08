#include "engine/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace herald::engine {

WorkerPool::WorkerPool(Work work, std::shared_ptr<spdlog::logger> logger)
    : work_(std::move(work)), logger_(std::move(logger)) {}

WorkerPool::~WorkerPool() { threads_.clear(); }

void WorkerPool::Start(std::uint32_t threads, std::uint32_t queues) {
  {
    MutexLock lock(&mu_);
    live_ = threads;
  }
  for (std::uint32_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, queues](std::stop_token stop) {
      Loop(stop, i, queues);
      MutexLock lock(&mu_);
      --live_;
      idle_cv_.notify_all();
    });
  }
}

void WorkerPool::NotifyWork() {
  // Pairs with WaitForWork: either the sleeper sees the new generation, or this sees the
  // sleeper and locks, so that the notify cannot fall between its check and its wait.
  generation_.fetch_add(1);
  if (sleepers_.load() == 0) return;
  { MutexLock lock(&mu_); }
  work_cv_.notify_all();
}

void WorkerPool::WaitForWork(const std::stop_token& stop, std::uint64_t generation) {
  MutexLock lock(&mu_);
  sleepers_.fetch_add(1);
  work_cv_.wait(mu_, stop, [this, generation] {
    return stopping_.load() || generation_.load() != generation;
  });
  sleepers_.fetch_sub(1);
}

void WorkerPool::Loop(std::stop_token stop, std::uint32_t index, std::uint32_t queues) {
  std::uint32_t cursor = index % std::max<std::uint32_t>(1, queues);
  while (!stop.stop_requested() && !stopping_.load()) {
    const std::uint64_t generation = generation_.load();
    auto job = work_.take(index, &cursor);
    if (!job.ok()) {
      logger_->error("worker {}: take failed: {}", index, job.status().message());
      MutexLock lock(&mu_);
      work_cv_.wait_for(mu_, stop, std::chrono::milliseconds(100),
                        [this] { return stopping_.load(); });
      continue;
    }
    if (!job->has_value()) {
      WaitForWork(stop, generation);
      continue;
    }
    {
      MutexLock lock(&mu_);
      ++running_;
    }
    // A job taken with the completion of the one before counts as running from then on, so
    // that Stop never sees no handler running while this worker is about to start one.
    std::optional<LeasedJob> next = std::move(*job);
    while (next) next = work_.run(index, std::move(*next), stop, &cursor);
    {
      MutexLock lock(&mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

bool WorkerPool::Stop(std::chrono::milliseconds grace) {
  {
    MutexLock lock(&mu_);
    stopping_.store(true);
  }
  work_cv_.notify_all();
  {
    MutexLock lock(&mu_);
    const bool idle = idle_cv_.wait_until(mu_, std::chrono::steady_clock::now() + grace,
                                          [this]() REQUIRES(mu_) { return running_ == 0; });
    if (!idle) {
      logger_->warn("{} handler(s) still running after {} ms; asking them to stop", running_,
                    grace.count());
    }
  }
  for (auto& thread : threads_) thread.request_stop();
  work_cv_.notify_all();
  bool stopped_all = false;
  {
    MutexLock lock(&mu_);
    stopped_all = idle_cv_.wait_until(mu_, std::chrono::steady_clock::now() + grace,
                                      [this]() REQUIRES(mu_) { return live_ == 0; });
    if (!stopped_all) {
      logger_->error(
          "{} handler(s) ignored the stop request for {} ms; left running, their jobs stay "
          "active and are waiting again at the next start",
          running_, grace.count());
    }
  }
  if (stopped_all) threads_.clear();  // joins threads that have returned
  return stopped_all;
}

std::uint32_t WorkerPool::running() const {
  MutexLock lock(&mu_);
  return running_;
}

}  // namespace herald::engine
