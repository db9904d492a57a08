#include "storage/postgres/pg_add_batcher.h"

#include <future>
#include <utility>

namespace herald::storage::postgres {

AddBatcher::AddBatcher(RunGroup run, std::size_t max_pending_jobs)
    : run_(std::move(run)),
      max_pending_jobs_(max_pending_jobs),
      thread_([this](std::stop_token stop) { Loop(stop); }) {}

AddBatcher::~AddBatcher() {
  thread_.request_stop();
  ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AddBatcher::Enqueue(PendingAdd add) {
  {
    MutexLock lock(&mu_);
    if (pending_jobs_ + add.jobs.size() <= max_pending_jobs_ || pending_.empty()) {
      pending_jobs_ += add.jobs.size();
      pending_.push_back(std::move(add));
      ready_.notify_one();
      return;
    }
  }
  add.done(Status::Busy("too many adds are waiting for the database; try again"));
}

Result<std::vector<AddResult>> AddBatcher::AddAndWait(std::string queue, std::vector<NewJob> jobs,
                                                      std::int64_t now_ms) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    Result<std::vector<AddResult>> out = Status::Internal("not added");
    std::vector<PendingAdd> alone;
    alone.push_back(
        PendingAdd{std::move(queue), std::move(jobs), now_ms,
                   [&out](Result<std::vector<AddResult>> added) { out = std::move(added); }});
    run_(&alone);
    return out;
  }
  std::promise<Result<std::vector<AddResult>>> promise;
  std::future<Result<std::vector<AddResult>>> future = promise.get_future();
  Enqueue(PendingAdd{
      std::move(queue), std::move(jobs), now_ms,
      [&promise](Result<std::vector<AddResult>> added) { promise.set_value(std::move(added)); }});
  return future.get();
}

void AddBatcher::Loop(std::stop_token stop) {
  while (true) {
    std::vector<PendingAdd> group;
    {
      MutexLock lock(&mu_);
      // Waits on the Mutex itself (condition_variable_any), which MutexLock holds around it.
      ready_.wait(mu_, stop, [&]() NO_THREAD_SAFETY_ANALYSIS { return !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and nothing left to add
      group.swap(pending_);
      pending_jobs_ = 0;
    }
    run_(&group);
  }
}

}  // namespace herald::storage::postgres
