// Internal to storage/postgres. ChangeGroups: the job changes (transitions and takes) of the
// callers in flight at the same moment, run as one transaction with one commit, as AddBatcher
// groups adds. It has no thread of its own: a caller that finds fewer than `max_running` groups
// running runs the group of every change waiting (its own among them, in arrival order), and
// the others wait until a group that holds theirs has run (leader and followers). While groups
// run, the next one gathers.
//
// A group never holds two transitions of one job from different callers: the later one waits
// for the next group, so that each caller sees the outcome it would see alone after the other.
//
// Thread safety: thread-safe. `run` is called on a caller's thread, at most `max_running` at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/job.h"

namespace herald::storage::postgres {

// A transition of one job: from the state `from` (any when nullopt), `edit` changes it;
// `remove` deletes it instead of writing it back. `edit` may run more than once (a transaction
// that meets a serialization failure runs again), each time on the job as read then.
struct JobTransition {
  std::string id;
  std::optional<JobState> from = std::nullopt;
  std::function<void(Job&)> edit = [](Job&) {};
  bool remove = false;
};

// Up to `max` waiting jobs of `queue`, taken for `worker`.
struct TakeAsk {
  std::string queue;
  std::size_t max = 0;
  std::int64_t now_ms = 0;
  std::string worker;
};

enum class TakeWhen {
  kAlways,       // a take of its own (GETJOB)
  kAfterAWrite,  // only when one of the change's transitions was written (CompleteAndTake)
};

// One caller's change: its transitions, then its take, and their outcomes.
struct JobChange {
  std::vector<JobTransition> transitions;
  std::optional<TakeAsk> take;
  TakeWhen take_when = TakeWhen::kAlways;

  // Set by the run: one outcome per transition, in order; the jobs taken, or the error.
  std::vector<Result<Job>> results;
  Result<std::vector<Job>> taken{std::vector<Job>()};
};

class ChangeGroups {
 public:
  // Runs a group in one transaction and sets every change's outcomes.
  using RunGroup = std::function<void(const std::vector<JobChange*>& group)>;

  // At most `max_running` groups run at once; a group holds at most `max_transitions`
  // transitions (a single change with more runs alone).
  ChangeGroups(RunGroup run, std::size_t max_running, std::size_t max_transitions);
  ChangeGroups(const ChangeGroups&) = delete;
  ChangeGroups& operator=(const ChangeGroups&) = delete;

  // Runs `change` in a group; returns once its outcomes are set.
  void Run(JobChange* change);

  // Groups run so far, and changes waiting for a group (for tests and figures).
  std::uint64_t groups_run() const;
  std::size_t waiting() const;

 private:
  struct Waiting {
    JobChange* change;
    bool done = false;
  };

  // The next group: waiting changes in arrival order, without a job twice, up to the bound.
  std::vector<Waiting*> GatherLocked() REQUIRES(mu_);

  const RunGroup run_;
  const std::size_t max_running_;
  const std::size_t max_transitions_;
  mutable Mutex mu_;
  std::condition_variable_any changed_;
  std::vector<Waiting*> waiting_ GUARDED_BY(mu_);
  std::size_t running_ GUARDED_BY(mu_) = 0;
  std::uint64_t groups_run_ GUARDED_BY(mu_) = 0;
};

}  // namespace herald::storage::postgres
