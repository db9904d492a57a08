#include "net/http/failure_index.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <tuple>

#include "net/http/api_json.h"
#include "net/http/job_filter.h"

namespace herald::net::http {
namespace {

using engine::Job;
using engine::JobEventType;
using engine::JobState;

constexpr std::uint32_t kPage = 500;
// Marked jobs read per pass before the pass gives the thread back (and posts the next).
constexpr std::size_t kReadsPerPass = 2000;
// How long Triage waits for the events published before it to be delivered.
constexpr auto kDeliveryWait = std::chrono::milliseconds(200);

// Failed for good, retried, removed, or imported (an imported job may be failed already; a new
// job never is, so the adds of the hot path mark nothing).
bool MayMoveFailed(const engine::JobEvent& event) {
  switch (event.type) {
    case JobEventType::kFailed:
    case JobEventType::kRetried:
    case JobEventType::kRemoved:
      return true;
    case JobEventType::kAdded:
      return event.detail == "imported";
    default:
      return false;
  }
}

void SortGroups(std::vector<FailureGroup>* groups) {
  std::sort(groups->begin(), groups->end(), [](const FailureGroup& a, const FailureGroup& b) {
    return a.count != b.count ? a.count > b.count : a.last_seen > b.last_seen;
  });
}

}  // namespace

// ---- FailureGrouper -----------------------------------------------------------------------

void FailureGrouper::Add(const Job& job) {
  ++failed_;
  std::string fingerprint = ErrorFingerprint(job.last_error);
  std::string event_type = EventTypeOf(job.payload);
  std::string key = fingerprint + '\0' + event_type;
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    if (groups_.size() >= kMaxFailureGroups) {
      ++ungrouped_;
      return;
    }
    FailureGroup group;
    group.fingerprint = std::move(fingerprint);
    group.event_type = std::move(event_type);
    group.pattern = ErrorPattern(job.last_error);
    group.first_seen = job.finished_ms;
    it = groups_.emplace(std::move(key), std::move(group)).first;
  }
  FailureGroup& group = it->second;
  ++group.count;
  group.first_seen = std::min(group.first_seen, job.finished_ms);
  // The latest is the greatest (finished_ms, id), as the index has it.
  std::string& latest = latest_of_[it->first];
  if (group.count == 1 || std::tie(job.finished_ms, job.id) > std::tie(group.last_seen, latest)) {
    group.last_seen = job.finished_ms;
    group.error = job.last_error;
    latest = job.id;
  }
}

FailureTriage FailureGrouper::Finish(std::size_t limit) && {
  FailureTriage out;
  out.failed = failed_;
  out.ungrouped = ungrouped_;
  out.groups.reserve(groups_.size());
  for (auto& [key, group] : groups_) out.groups.push_back(std::move(group));
  SortGroups(&out.groups);
  if (out.groups.size() > limit) out.groups.resize(limit);
  return out;
}

// ---- FailureIndex -------------------------------------------------------------------------

FailureIndex::FailureIndex(engine::Broker* broker, std::uint64_t max_indexed)
    : broker_(broker),
      max_indexed_(max_indexed),
      enabled_(broker->SeesEveryChange()),
      runner_(std::make_unique<BackgroundRunner>(4, 1, "failure index passes")) {}

FailureIndex::~FailureIndex() { Stop(); }

void FailureIndex::Start() {
  if (!enabled_) return;
  const std::vector<std::string> queues = broker_->Queues();
  MutexLock lock(&mu_);
  dropped_seen_ = broker_->events().stats().dropped;
  for (const std::string& queue : queues) StartWalk(queue);
}

void FailureIndex::Stop() {
  {
    MutexLock lock(&mu_);
    stopped_ = true;
  }
  runner_.reset();  // lets the running task end (a walk checks stopped_ per page)
}

void FailureIndex::StartWalk(const std::string& queue) {
  if (stopped_) return;
  Queue& q = queues_[queue];
  if (q.state == State::kWalking || q.state == State::kReady) return;
  q = Queue{};
  q.state = State::kWalking;
  q.generation = next_generation_++;
  const std::uint64_t generation = q.generation;
  Status posted = runner_->Post([this, queue, generation] { Walk(queue, generation); });
  if (!posted.ok()) q.state = State::kNone;  // busy: the next request tries again
}

void FailureIndex::Walk(const std::string& queue, std::uint64_t generation) {
  auto counts = broker_->Counts(queue);
  bool too_many = counts.ok() && counts->failed > max_indexed_;
  std::string cursor;
  while (!too_many) {
    auto page = broker_->List(queue, JobState::kFailed, cursor, kPage);
    MutexLock lock(&mu_);
    auto found = queues_.find(queue);
    if (stopped_ || found == queues_.end() || found->second.generation != generation) return;
    Queue& q = found->second;
    if (!page.ok()) {
      q.state = State::kNone;  // walked again on the next request
      return;
    }
    for (const Job& job : page->jobs) File(q, queue, job.id, &job);
    if (q.too_many) too_many = true;
    cursor = page->next_cursor;
    if (cursor.empty()) {
      if (!too_many) q.state = State::kReady;
      if (!q.marked.empty()) PostPass();
      break;
    }
  }
  if (too_many) {
    MutexLock lock(&mu_);
    auto found = queues_.find(queue);
    if (found == queues_.end() || found->second.generation != generation) return;
    MarkTooMany(found->second);
  }
}

void FailureIndex::MarkTooMany(Queue& q) {
  const std::uint64_t generation = q.generation;
  q = Queue{};
  q.state = State::kTooMany;
  q.generation = generation;
}

void FailureIndex::Record(const engine::JobEvent& event) {
  if (!enabled_ || !MayMoveFailed(event)) return;
  MutexLock lock(&mu_);
  auto found = queues_.find(event.queue);
  if (found == queues_.end()) return;  // walked on its first request
  Queue& q = found->second;
  if (q.state != State::kWalking && q.state != State::kReady) return;
  q.marked.insert(event.id);
  PostPass();
}

void FailureIndex::PostPass() {
  if (pass_posted_ || stopped_) return;
  pass_posted_ = true;
  Status posted = runner_->Post([this] {
    {
      MutexLock lock(&mu_);
      pass_posted_ = false;
    }
    (void)ResolveMarked(nullptr);  // a failed read stays marked for the next pass or request
  });
  if (!posted.ok()) pass_posted_ = false;
}

Status FailureIndex::ResolveMarked(const std::string* only) {
  while (true) {
    std::vector<std::pair<std::string, std::string>> ids;  // (queue, id)
    {
      MutexLock lock(&mu_);
      CheckDropped();
      for (auto& [name, q] : queues_) {
        if (only != nullptr && name != *only) continue;
        // A walking queue's marks wait for the walk to end (its entries would be filed over).
        if (q.state != State::kReady) continue;
        for (auto it = q.marked.begin(); it != q.marked.end() && ids.size() < kReadsPerPass;) {
          ids.emplace_back(name, *it);
          it = q.marked.erase(it);
        }
      }
    }
    if (ids.empty()) return Status::Ok();
    std::vector<Result<Job>> jobs;
    jobs.reserve(ids.size());
    for (const auto& [queue, id] : ids) jobs.push_back(broker_->Show(id));
    MutexLock lock(&mu_);
    Status failed;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto found = queues_.find(ids[i].first);
      if (found == queues_.end() || found->second.state != State::kReady) continue;
      const Result<Job>& job = jobs[i];
      if (!job.ok() && job.status().code() != Status::Code::kNotFound) {
        found->second.marked.insert(ids[i].second);  // read again later
        failed = job.status();
        continue;
      }
      File(found->second, ids[i].first, ids[i].second, job.ok() ? &*job : nullptr);
      if (found->second.too_many) MarkTooMany(found->second);
    }
    if (!failed.ok()) return failed;
    if (only == nullptr && ids.size() >= kReadsPerPass) {
      // Give the thread back to other passes and walks; the rest in the next pass.
      PostPass();
      return Status::Ok();
    }
  }
}

void FailureIndex::File(Queue& q, const std::string& queue, const std::string& id, const Job* job) {
  Remove(q, id);
  if (job == nullptr || job->state != JobState::kFailed || job->queue != queue) return;
  std::string fingerprint = ErrorFingerprint(job->last_error);
  std::string event_type = EventTypeOf(job->payload);
  std::string key = fingerprint + '\0' + event_type;
  auto it = q.group_of.find(key);
  std::uint32_t number = 0;
  if (it != q.group_of.end()) {
    number = it->second;
  } else {
    if (q.group_of.size() >= kMaxFailureGroups) {
      q.too_many = true;  // the walk counts the rest as ungrouped
      return;
    }
    number = static_cast<std::uint32_t>(q.groups.size());
    q.groups.emplace_back();
    q.group_of.emplace(std::move(key), number);
    Group& group = q.groups.back();
    group.fingerprint = std::move(fingerprint);
    group.event_type = std::move(event_type);
    group.pattern = ErrorPattern(job->last_error);
  }
  Group& group = q.groups[number];
  group.jobs.emplace(job->finished_ms, id);
  if (group.jobs.rbegin()->second == id) {
    group.error = job->last_error;
    group.error_of = id;
  }
  q.jobs[id] = Entry{number, job->finished_ms};
  if (q.jobs.size() > max_indexed_) q.too_many = true;
}

void FailureIndex::Remove(Queue& q, const std::string& id) {
  auto found = q.jobs.find(id);
  if (found == q.jobs.end()) return;
  Group& group = q.groups[found->second.group];
  group.jobs.erase({found->second.finished_ms, id});
  if (group.jobs.empty()) {
    group.error.clear();
    group.error_of.clear();
  }
  q.jobs.erase(found);
}

void FailureIndex::CheckDropped() {
  const std::uint64_t dropped = broker_->events().stats().dropped;
  if (dropped == dropped_seen_) return;
  dropped_seen_ = dropped;
  // Some change may not have been seen: walk every queue again.
  std::vector<std::string> names;
  for (auto& [name, q] : queues_) names.push_back(name);
  for (const std::string& name : names) {
    queues_[name].state = State::kNone;  // StartWalk empties it
    StartWalk(name);
  }
}

Result<std::optional<FailureTriage>> FailureIndex::Triage(const std::string& queue,
                                                          std::size_t limit) {
  if (!enabled_) return std::optional<FailureTriage>();
  // A queue that had too many is indexed again once it is down to half as many (the count is
  // read only for such a queue).
  if (StateOf(queue) == State::kTooMany) {
    auto counts = broker_->Counts(queue);
    if (!counts.ok() || counts->failed > max_indexed_ / 2) return std::optional<FailureTriage>();
    MutexLock lock(&mu_);
    if (auto found = queues_.find(queue);
        found != queues_.end() && found->second.state == State::kTooMany) {
      found->second.state = State::kNone;
    }
  }
  {
    MutexLock lock(&mu_);
    CheckDropped();
    auto found = queues_.find(queue);
    if (found == queues_.end() || found->second.state == State::kNone) {
      StartWalk(queue);
      return std::optional<FailureTriage>();
    }
    if (found->second.state != State::kReady) return std::optional<FailureTriage>();
  }
  // The events of what was done before this call (a NACK just answered) are delivered
  // within a few ms: wait for them, so that the answer holds them.
  const std::uint64_t published = broker_->events().stats().published;
  for (auto deadline = std::chrono::steady_clock::now() + kDeliveryWait;
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::microseconds(200))) {
    const engine::JobEventStats stats = broker_->events().stats();
    if (stats.delivered + stats.dropped >= published) break;
  }
  HERALD_RETURN_IF_ERROR(ResolveMarked(&queue));
  // The latest failure's message of a group whose latest job changed: read it.
  std::vector<std::pair<std::uint32_t, std::string>> stale;
  {
    MutexLock lock(&mu_);
    auto found = queues_.find(queue);
    if (found == queues_.end() || found->second.state != State::kReady) {
      return std::optional<FailureTriage>();
    }
    for (std::uint32_t i = 0; i < found->second.groups.size(); ++i) {
      const Group& group = found->second.groups[i];
      if (!group.jobs.empty() && group.jobs.rbegin()->second != group.error_of) {
        stale.emplace_back(i, group.jobs.rbegin()->second);
      }
    }
  }
  std::vector<Result<Job>> latest;
  latest.reserve(stale.size());
  for (const auto& [number, id] : stale) latest.push_back(broker_->Show(id));

  MutexLock lock(&mu_);
  auto found = queues_.find(queue);
  if (found == queues_.end() || found->second.state != State::kReady) {
    return std::optional<FailureTriage>();
  }
  Queue& q = found->second;
  for (std::size_t i = 0; i < stale.size(); ++i) {
    Group& group = q.groups[stale[i].first];
    if (latest[i].ok() && !group.jobs.empty() && group.jobs.rbegin()->second == stale[i].second) {
      group.error = latest[i]->last_error;
      group.error_of = stale[i].second;
    }
  }
  FailureTriage out;
  out.failed = q.jobs.size();
  out.scanned = stale.size();
  for (const Group& group : q.groups) {
    if (group.jobs.empty()) continue;
    FailureGroup entry;
    entry.fingerprint = group.fingerprint;
    entry.event_type = group.event_type;
    entry.pattern = group.pattern;
    entry.error = group.error;
    entry.count = group.jobs.size();
    entry.first_seen = group.jobs.begin()->first;
    entry.last_seen = group.jobs.rbegin()->first;
    out.groups.push_back(std::move(entry));
  }
  SortGroups(&out.groups);
  if (out.groups.size() > limit) out.groups.resize(limit);
  return std::optional<FailureTriage>(std::move(out));
}

FailureIndex::State FailureIndex::StateOf(const std::string& queue) const {
  MutexLock lock(&mu_);
  auto found = queues_.find(queue);
  return found == queues_.end() ? State::kNone : found->second.state;
}

std::uint64_t FailureIndex::indexed() const {
  MutexLock lock(&mu_);
  std::uint64_t n = 0;
  for (const auto& [name, q] : queues_) n += q.jobs.size();
  return n;
}

}  // namespace herald::net::http
