// Job: one unit of work on a queue, as stored. The record encoding (a version byte, then the
// fields) is described in storage/keys.h with every other on-disk format.
//
// Thread safety: plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::storage {

// On disk: never renumber.
enum class JobState : std::uint8_t {
  kWaiting = 1,
  kActive = 2,
  kDelayed = 3,
  kCompleted = 4,
  kFailed = 5,
};

// On disk: never renumber.
enum class BackoffType : std::uint8_t {
  kFixed = 1,
  kExponential = 2,
};

// How one attempt ended. On disk: never renumber.
enum class AttemptOutcome : std::uint8_t {
  kRunning = 0,    // still active
  kCompleted = 1,  // acknowledged
  kRetrying = 2,   // failed, with attempts left: delayed for a backoff, or waiting at once
  kFailed = 3,     // failed for good (the last attempt, or a permanent failure)
  kStalled = 4,    // its lease expired, or the process restarted while it ran
};

// "waiting", "active", "delayed", "completed", "failed".
std::string_view JobStateName(JobState state);
// Parses the names above (case-insensitive); InvalidArgument names the bad word.
Result<JobState> ParseJobState(std::string_view name);
// "fixed", "exponential".
std::string_view BackoffTypeName(BackoffType type);
Result<BackoffType> ParseBackoffType(std::string_view name);
// "running", "completed", "retrying", "failed", "stalled".
std::string_view AttemptOutcomeName(AttemptOutcome outcome);

// One attempt of a job: from the take that made it active to the transition that ended it.
struct Attempt {
  std::int64_t started_ms = 0;  // when it became active
  std::int64_t ended_ms = 0;    // 0 = still running
  AttemptOutcome outcome = AttemptOutcome::kRunning;
  std::string error;   // the failure's text (at most kMaxAttemptErrorBytes), "" otherwise
  std::string worker;  // "local:<thread>" or a remote client's "name@addr" / "addr"; "" unknown
  std::int64_t backoff_ms = 0;   // the backoff computed after a failure; 0 = none
  std::int64_t next_due_ms = 0;  // when the job is due again after it; 0 = not retried
};

// A job keeps its latest attempts, oldest first; older ones are dropped.
inline constexpr std::size_t kMaxAttemptHistory = 25;
// An attempt's error and worker are cut to these sizes (at a UTF-8 character boundary), so
// that a record stays small however a job fails.
inline constexpr std::size_t kMaxAttemptErrorBytes = 1024;
inline constexpr std::size_t kMaxAttemptWorkerBytes = 128;
// A job's last_error keeps this much of a failure's text (a handler that fails with a 10 MiB
// message must not make every read of the job carry it).
inline constexpr std::size_t kMaxLastErrorBytes = 64 * 1024;
// `error` cut to kMaxLastErrorBytes (at a UTF-8 character boundary), the cut said at its end.
std::string CutLastError(std::string error);

struct Job {
  std::string id;
  std::string queue;
  std::string payload;              // opaque bytes (JSON for events)
  std::uint32_t priority = 0;       // 0 first, then 1, 2, ... (BullMQ: lower is sooner)
  std::uint32_t attempts_made = 0;  // incremented by every Take, persisted
  std::uint32_t max_attempts = 1;
  BackoffType backoff_type = BackoffType::kFixed;
  std::int64_t backoff_ms = 0;
  JobState state = JobState::kWaiting;
  std::uint64_t seq = 0;          // store-wide add sequence; FIFO order within a priority
  std::int64_t created_ms = 0;    // wall clock, ms since epoch
  std::int64_t processed_ms = 0;  // last time it became active; 0 = never
  std::int64_t finished_ms = 0;   // completed/failed time; 0 = not finished
  std::int64_t due_ms = 0;        // when delayed: the time it becomes waiting
  std::string last_error;         // last failure message (CutLastError), "" = none
  std::string return_value;       // handler result when completed
  bool custom_id = false;         // the id came from the caller (e.g. an event's eventId)
  std::vector<Attempt> history;   // the last kMaxAttemptHistory attempts, oldest first
  std::string name;  // the producer's name for the job (BullMQ's add(name, ...)); "" = none
};

// Appends a running attempt (started now by `worker`), dropping the oldest beyond
// kMaxAttemptHistory. Take calls it.
void StartAttempt(Job* job, std::int64_t now_ms, std::string_view worker);
// Ends the job's running attempt with `outcome` and `error` (cut to kMaxAttemptErrorBytes) and
// returns it, for the caller to add the backoff. When the last attempt is not running (a job
// taken by a build that kept no history), one is appended first, started at processed_ms.
Attempt& EndAttempt(Job* job, AttemptOutcome outcome, std::int64_t now_ms, std::string_view error);
// Whether a job whose running attempt stalls (its lease expired, or the process running it was
// lost) goes back to waiting rather than failing: it has attempts left, or none of its earlier
// attempts stalled. A lost worker then costs a job its last attempt only once, as BullMQ moves
// a stalled job back once (maxStalledCount 1) before it fails it. Call it before the stalled
// attempt is ended.
bool RetriesAfterStall(const Job& job);
// The state changes of a job, as every store backend makes them (store.h says when each
// applies; the caller has checked the state it starts from).
// waiting -> active: attempts_made + 1, processed now, a running attempt of `worker`.
void TakeJob(Job* job, std::int64_t now_ms, std::string_view worker);
// active -> completed with its return value.
void CompleteJob(Job* job, std::int64_t now_ms, std::string return_value);
// active -> delayed until due_ms (waiting when due_ms <= now), the attempt ended retrying.
void RetryJobLater(Job* job, std::string error, std::int64_t due_ms, std::int64_t now_ms);
// active -> failed, the attempt ended with `outcome` (failed, or stalled).
void FailJob(Job* job, std::string error, std::int64_t now_ms, AttemptOutcome outcome);
// active -> waiting at its old place, the attempt ended stalled with `reason`.
void RequeueJob(Job* job, std::string reason, std::int64_t now_ms);
// failed -> waiting with its attempts reset (Retry).
void RetryFailedJob(Job* job);

// An active job whose worker was lost (the process or node running it stopped): its running
// attempt ends stalled with `reason`, which becomes its last error, and it is waiting again, or
// failed (finished now) when RetriesAfterStall says no. Stalled even when it fails for good:
// the attempt did not fail, its worker was lost.
void PutBackStalled(Job* job, std::int64_t now_ms, std::string_view reason);

// The bytes of the history's strings, for the memory budgets of the jobs kept in memory.
std::size_t HistoryBytes(const Job& job);

// A job name is at most this long (ADDJOB NAME rejects longer ones).
inline constexpr std::size_t kMaxJobNameBytes = 1024;

// Compact binary record: version byte, then fields (see keys.h). A job without a name is
// written as record version 2, which builds without names read too. Decode never reads past the
// input; a short, unknown-version or inconsistent record is Corruption naming what is wrong.
std::string EncodeJob(const Job& job);
Result<Job> DecodeJob(std::string_view bytes);

}  // namespace herald::storage
