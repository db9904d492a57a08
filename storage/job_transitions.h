// Internal to storage/ (names rocksdb types). JobTransitions: the transitions of jobs named by
// id: Complete (many at once, and with a Take along), FailRetry, FailFinal, Requeue, Retry,
// Promote and Delete. Each is a TransitionRequest; TransitionMany reads every requested job
// under its id lock, checks its state, and writes the ones that go ahead in one batch, with the
// deletion of old completed jobs beyond the retention (CompletedRetention) and, for
// CompleteAndTake, the Take of the next job (JobTaker).
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/active_jobs.h"
#include "storage/completed_retention.h"
#include "storage/database.h"
#include "storage/id_locks.h"
#include "storage/index_scanner.h"
#include "storage/job_change.h"
#include "storage/job_reader.h"
#include "storage/job_taker.h"
#include "storage/queue_registry.h"
#include "storage/store.h"

namespace herald::storage {

class JobTransitions {
 public:
  struct Units {
    Database* database;
    const QueueRegistry* registry;
    IdLocks* id_locks;
    const JobReader* reader;
    const IndexScanner* scanner;
    JobTaker* taker;
    CompletedRetention* retention;
    ActiveJobs* active;
  };
  explicit JobTransitions(const Units& units) : u_(units) {}

  // As the Store methods of the same names (store.h).
  Result<Job> Complete(std::string_view id, std::string return_value, std::int64_t now_ms);
  std::vector<Result<Job>> CompleteMany(std::vector<Completion> completions, std::int64_t now_ms);
  CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                        std::int64_t now_ms, std::string_view worker);
  Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                        std::int64_t now_ms);
  Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                        AttemptOutcome outcome);
  Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms);
  Result<Job> Retry(std::string_view id);
  Result<Job> Promote(std::string_view id);
  Status Delete(std::string_view id);

 private:
  // One job's transition as asked for: from state `from` (any when nullopt), `edit` applied,
  // or the job removed.
  struct TransitionRequest {
    std::string id;
    std::optional<JobState> from;
    std::function<void(Job&)> edit;
    JobFate fate = JobFate::kKept;
  };
  // A request that can go ahead, planned under its id's lock.
  struct Planned {
    std::size_t index;  // of the request
    QueueState* qs;
    Change change;
  };
  // A Take written in the batch of other transitions (CompleteAndTake).
  struct TakeAlong {
    QueueState* qs;
    std::int64_t now_ms;
    std::string_view worker;  // who runs the job taken
    std::vector<Job> taken;
    JobTaker::PlannedTakes plan;
    std::vector<IdLocks::Guard> guards;
  };
  // The queues that complete jobs in one batch, with how many each, and their pruning.
  struct Completing {
    QueueState* qs;
    std::uint64_t jobs;
    CompletedRetention::Prune prune;
  };

  // What a completion does with the job: keeps it, unless the retention is 0.
  JobFate CompletedFate() const;
  static std::vector<TransitionRequest> CompletionRequests(std::vector<Completion> completions,
                                                           std::int64_t now_ms, JobFate fate);
  // Reads job `id` under its lock, checks it is `from` (any state when nullopt), applies
  // `edit`, and writes one batch.
  Result<Job> Transition(std::string_view id, std::optional<JobState> from,
                         const std::function<void(Job&)>& edit, JobFate fate);
  // Transition for many jobs in one batch: each request succeeds or fails on its own (unknown
  // id, wrong state, an id given twice), and the ones that go ahead are written together.
  // With `take_along`, the first waiting job of take_along->qs is taken in the same batch
  // (when one is there and its id is free), into take_along->taken.
  std::vector<Result<Job>> TransitionMany(std::vector<TransitionRequest> requests,
                                          TakeAlong* take_along = nullptr);
  // Checks each request against its job (whose id the caller holds); the ones that fail get
  // their result.
  std::vector<Planned> PlanRequests(std::vector<TransitionRequest>* requests,
                                    std::vector<Result<Job>>* results) const;
  // Claims the first waiting job of take_along->qs and tries to hold its id.
  void PlanTakeAlong(TakeAlong* take_along) const;
  // Writes `planned`, the take along and the pruning of `completing` in one batch.
  Status WriteAll(const std::vector<Planned>& planned, const TakeAlong* take_along,
                  std::vector<Completing>* completing) const;
  // After the batch was written (`written` its status): memory, and the results.
  void Finish(const Status& written, std::vector<Planned>* planned, TakeAlong* take_along,
              std::vector<Completing>* completing, std::vector<Result<Job>>* results);

  const Units u_;
};

}  // namespace herald::storage
