// FailureIndex: the failure triage of GET /api/queues/{q}/failures — failed jobs grouped by
// error fingerprint and event type, with counts and first/last seen — answered from memory
// instead of a walk through every failed job on each request.
//
// Per queue it keeps each failed job's group and finish time. A queue is indexed by one walk
// through its failed jobs, started in the background for every queue at Start() and for a
// queue made later on its first request. From then on the job events keep it: an event that
// can move a job into or out of `failed` (failed, retried, removed, imported) only marks it,
// and a pass on the index's own thread reads each marked job from the store and files it as the
// store has it (failed: in its group; otherwise: out). Events during the walk are marked the
// same way and read after it. So every entry comes from a read of the store: an event says
// "look again", never what changed, and the index ends as the store is. Triage() first waits
// (up to 200 ms) until the events published before it are delivered and reads what is still
// marked, so that its answer holds every change made before the request.
//
// Not indexed, and walked on each request instead (Triage answers nullopt): a queue still being
// walked, one with more than `max_indexed` failed jobs or kMaxFailureGroups groups (memory;
// indexed again once a request finds it down to half of max_indexed), every queue on a store that
// other processes change too (Store::SharedWithOtherNodes: their events are not seen here), and
// every queue again from the moment the event bus dropped an event until it is walked again.
//
// Thread safety: thread-safe. Record() is the event subscriber (it only marks, and posts a
// pass); Triage() reads the marked jobs on the caller's thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/background_runner.h"
#include "common/mutex.h"
#include "engine/broker.h"

namespace herald::net::http {

// One group of the triage.
struct FailureGroup {
  std::string fingerprint;
  std::string event_type;
  std::string pattern;
  std::string error;  // the message of the group's latest failure
  std::uint64_t count = 0;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
};

// Groups, largest first (then the latest first).
struct FailureTriage {
  std::vector<FailureGroup> groups;  // at most the limit asked for
  std::uint64_t failed = 0;          // failed jobs counted (matched by the filter)
  std::uint64_t scanned = 0;         // jobs read from the store for this answer
  std::uint64_t ungrouped = 0;       // failed jobs beyond kMaxFailureGroups distinct groups
};

// Distinct groups kept; the failed jobs of any further group are counted as ungrouped.
inline constexpr std::size_t kMaxFailureGroups = 10000;

// Adds failed jobs one by one and sorts the groups: the walk's grouping, shared by the index
// and the filtered triage (bulk_routes.cc).
class FailureGrouper {
 public:
  void Add(const engine::Job& job);
  FailureTriage Finish(std::size_t limit) &&;

 private:
  std::map<std::string, FailureGroup> groups_;
  std::map<std::string, std::string> latest_of_;  // group key -> id of its latest failure
  std::uint64_t failed_ = 0, ungrouped_ = 0;
};

class FailureIndex {
 public:
  // Default: 200,000 failed jobs per queue at most (~40 MiB).
  static constexpr std::uint64_t kDefaultMaxIndexed = 200000;

  // `broker` must outlive this object; call Stop() before the broker shuts down.
  explicit FailureIndex(engine::Broker* broker, std::uint64_t max_indexed = kDefaultMaxIndexed);
  ~FailureIndex();
  FailureIndex(const FailureIndex&) = delete;
  FailureIndex& operator=(const FailureIndex&) = delete;

  // Walks every queue known now, in the background.
  void Start() EXCLUDES(mu_);
  // Ends the background work (a walk in progress stops at its next page).
  void Stop() EXCLUDES(mu_);

  // The job event subscriber.
  void Record(const engine::JobEvent& event) EXCLUDES(mu_);

  // The triage of `queue`'s failed jobs, up to `limit` groups; nullopt when the queue is not
  // indexed now (walk it). An error when a read of a marked job failed.
  Result<std::optional<FailureTriage>> Triage(const std::string& queue, std::size_t limit)
      EXCLUDES(mu_);

  // Failed jobs indexed over every queue (for tests and the metrics).
  std::uint64_t indexed() const EXCLUDES(mu_);

 private:
  struct Group {
    std::string fingerprint, event_type, pattern;
    std::set<std::pair<std::int64_t, std::string>> jobs;  // (finished_ms, id)
    std::string error;                                    // the message of `error_of`'s failure
    std::string error_of;  // the id whose message `error` is ("" = none read yet)
  };
  struct Entry {
    std::uint32_t group = 0;
    std::int64_t finished_ms = 0;
  };
  enum class State : std::uint8_t { kNone, kWalking, kReady, kTooMany };
  struct Queue {
    State state = State::kNone;
    std::uint64_t generation = 0;  // which walk filled it (a reset starts a new one)
    std::unordered_map<std::string, Entry> jobs;
    std::vector<Group> groups;                      // by number; emptied ones are reused
    std::map<std::string, std::uint32_t> group_of;  // fingerprint '\0' event type -> number
    std::unordered_set<std::string> marked;
    bool too_many = false;  // past max_indexed jobs or kMaxFailureGroups groups
  };

  // Starts a walk of `queue` unless one runs or it is indexed.
  void StartWalk(const std::string& queue) REQUIRES(mu_);
  void Walk(const std::string& queue, std::uint64_t generation) EXCLUDES(mu_);
  // Reads the marked jobs of every queue (or of `only`) and files them.
  Status ResolveMarked(const std::string* only) EXCLUDES(mu_);
  void PostPass() REQUIRES(mu_);
  // Files `job` (read from the store) or, when it is null (not found), not failed or of another
  // queue, takes `id` out.
  void File(Queue& q, const std::string& queue, const std::string& id, const engine::Job* job)
      REQUIRES(mu_);
  // Drops the queue's entries: it is walked on each request from now on.
  void MarkTooMany(Queue& q) REQUIRES(mu_);
  void Remove(Queue& queue, const std::string& id) REQUIRES(mu_);
  State StateOf(const std::string& queue) const EXCLUDES(mu_);
  // Every queue back to unindexed when the bus dropped events since the last look.
  void CheckDropped() REQUIRES(mu_);

  engine::Broker* const broker_;
  const std::uint64_t max_indexed_;
  const bool enabled_;
  mutable Mutex mu_;
  std::map<std::string, Queue, std::less<>> queues_ GUARDED_BY(mu_);
  std::uint64_t dropped_seen_ GUARDED_BY(mu_) = 0;
  std::uint64_t next_generation_ GUARDED_BY(mu_) = 1;
  bool pass_posted_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::unique_ptr<BackgroundRunner> runner_;  // last: its thread stops first
};

}  // namespace herald::net::http
