#include "storage/job.h"

#include <algorithm>

#include <cctype>

#include "storage/keys.h"

namespace herald::storage {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

constexpr JobState kAllStates[] = {JobState::kWaiting, JobState::kActive, JobState::kDelayed,
                                   JobState::kCompleted, JobState::kFailed};

bool ValidState(std::uint8_t v) { return v >= 1 && v <= 5; }
bool ValidBackoff(std::uint8_t v) { return v >= 1 && v <= 2; }
bool ValidOutcome(std::uint8_t v) { return v <= 4; }

Status Truncated(std::string_view field) {
  return Status::Corruption("job record truncated at " + std::string(field));
}

// An attempt's optional times (keys.h): bits of its "fields" byte.
constexpr std::uint8_t kHasEnded = 1;
constexpr std::uint8_t kHasNextDue = 2;
// The least an attempt takes: outcome, fields, started_ms, backoff_ms, error, worker.
constexpr std::size_t kMinAttemptBytes = 6;

// a - b and a + b as two's complement, so that no pair of values overflows: the times of an
// attempt are stored as differences, which are small for real ones.
std::int64_t Minus(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t Plus(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// `text` cut to at most `max` bytes, not inside a UTF-8 character (an error is shown as text).
std::string_view CutText(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t n = max;
  // A character is at most 4 bytes: its continuation bytes (10xxxxxx) go with it.
  for (int i = 0; i < 3 && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80; ++i) {
    --n;
  }
  return text.substr(0, n);
}

}  // namespace

std::string CutLastError(std::string error) {
  if (error.size() <= kMaxLastErrorBytes) return error;
  const std::string note = " ... (" + std::to_string(error.size()) + " bytes, cut)";
  std::string cut(CutText(error, kMaxLastErrorBytes - note.size()));
  return cut + note;
}

namespace {

void PutAttempt(std::string* out, const Attempt& a) {
  out->push_back(static_cast<char>(a.outcome));
  const std::uint8_t fields =
      (a.ended_ms != 0 ? kHasEnded : 0) | (a.next_due_ms != 0 ? kHasNextDue : 0);
  out->push_back(static_cast<char>(fields));
  keys::PutZigzag(out, a.started_ms);
  if (a.ended_ms != 0) keys::PutZigzag(out, Minus(a.ended_ms, a.started_ms));
  keys::PutZigzag(out, a.backoff_ms);
  if (a.next_due_ms != 0) keys::PutZigzag(out, Minus(a.next_due_ms, a.ended_ms));
  keys::PutLengthPrefixed(out, a.error);
  keys::PutLengthPrefixed(out, a.worker);
}

Status GetAttempt(keys::Reader* r, Attempt* a) {
  std::uint8_t byte = 0;
  if (!r->GetU8(&byte)) return Truncated("attempt outcome");
  if (!ValidOutcome(byte)) {
    return Status::Corruption("job record has unknown attempt outcome " + std::to_string(byte));
  }
  a->outcome = static_cast<AttemptOutcome>(byte);
  std::uint8_t fields = 0;
  if (!r->GetU8(&fields)) return Truncated("attempt fields");
  if ((fields & ~(kHasEnded | kHasNextDue)) != 0) {
    return Status::Corruption("job record has unknown attempt fields " + std::to_string(fields));
  }
  if (!r->GetZigzag(&a->started_ms)) return Truncated("attempt started_ms");
  std::int64_t delta = 0;
  if ((fields & kHasEnded) != 0) {
    if (!r->GetZigzag(&delta)) return Truncated("attempt ended_ms");
    a->ended_ms = Plus(a->started_ms, delta);
  }
  if (!r->GetZigzag(&a->backoff_ms)) return Truncated("attempt backoff_ms");
  if ((fields & kHasNextDue) != 0) {
    if (!r->GetZigzag(&delta)) return Truncated("attempt next_due_ms");
    a->next_due_ms = Plus(a->ended_ms, delta);
  }
  std::string_view s;
  if (!r->GetLengthPrefixed(&s)) return Truncated("attempt error");
  a->error = s;
  if (!r->GetLengthPrefixed(&s)) return Truncated("attempt worker");
  a->worker = s;
  return Status::Ok();
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kWaiting:
      return "waiting";
    case JobState::kActive:
      return "active";
    case JobState::kDelayed:
      return "delayed";
    case JobState::kCompleted:
      return "completed";
    case JobState::kFailed:
      return "failed";
  }
  return "unknown";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState state : kAllStates) {
    if (EqualsIgnoreCase(name, JobStateName(state))) return state;
  }
  return Status::InvalidArgument("unknown job state '" + std::string(name) +
                                 "' (expected waiting, active, delayed, completed or failed)");
}

std::string_view BackoffTypeName(BackoffType type) {
  switch (type) {
    case BackoffType::kFixed:
      return "fixed";
    case BackoffType::kExponential:
      return "exponential";
  }
  return "unknown";
}

Result<BackoffType> ParseBackoffType(std::string_view name) {
  if (EqualsIgnoreCase(name, "fixed")) return BackoffType::kFixed;
  if (EqualsIgnoreCase(name, "exponential")) return BackoffType::kExponential;
  return Status::InvalidArgument("unknown backoff type '" + std::string(name) +
                                 "' (expected fixed or exponential)");
}

std::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kRunning:
      return "running";
    case AttemptOutcome::kCompleted:
      return "completed";
    case AttemptOutcome::kRetrying:
      return "retrying";
    case AttemptOutcome::kFailed:
      return "failed";
    case AttemptOutcome::kStalled:
      return "stalled";
  }
  return "unknown";
}

void StartAttempt(Job* job, std::int64_t now_ms, std::string_view worker) {
  std::vector<Attempt>& history = job->history;
  if (history.size() >= kMaxAttemptHistory) {
    history.erase(history.begin(),
                  history.end() - static_cast<std::ptrdiff_t>(kMaxAttemptHistory - 1));
  }
  Attempt& attempt = history.emplace_back();
  attempt.started_ms = now_ms;
  attempt.worker = CutText(worker, kMaxAttemptWorkerBytes);
}

Attempt& EndAttempt(Job* job, AttemptOutcome outcome, std::int64_t now_ms, std::string_view error) {
  if (job->history.empty() || job->history.back().outcome != AttemptOutcome::kRunning) {
    StartAttempt(job, job->processed_ms, "");
  }
  Attempt& attempt = job->history.back();
  attempt.ended_ms = now_ms;
  attempt.outcome = outcome;
  attempt.error = CutText(error, kMaxAttemptErrorBytes);
  return attempt;
}

bool RetriesAfterStall(const Job& job) {
  if (job.attempts_made < job.max_attempts) return true;
  for (const Attempt& attempt : job.history) {
    if (attempt.outcome == AttemptOutcome::kStalled) return false;
  }
  return true;
}

void TakeJob(Job* job, std::int64_t now_ms, std::string_view worker) {
  job->state = JobState::kActive;
  job->attempts_made += 1;
  job->processed_ms = now_ms;
  StartAttempt(job, now_ms, worker);
}

void CompleteJob(Job* job, std::int64_t now_ms, std::string return_value) {
  job->state = JobState::kCompleted;
  job->finished_ms = now_ms;
  job->return_value = std::move(return_value);
  EndAttempt(job, AttemptOutcome::kCompleted, now_ms, "");
}

void RetryJobLater(Job* job, std::string error, std::int64_t due_ms, std::int64_t now_ms) {
  Attempt& attempt = EndAttempt(job, AttemptOutcome::kRetrying, now_ms, error);
  attempt.backoff_ms = due_ms > now_ms ? due_ms - now_ms : 0;
  attempt.next_due_ms = std::max(due_ms, now_ms);
  job->last_error = CutLastError(std::move(error));
  if (due_ms > now_ms) {
    job->state = JobState::kDelayed;
    job->due_ms = due_ms;
  } else {
    job->state = JobState::kWaiting;
  }
}

void FailJob(Job* job, std::string error, std::int64_t now_ms, AttemptOutcome outcome) {
  EndAttempt(job, outcome, now_ms, error);
  job->state = JobState::kFailed;
  job->last_error = CutLastError(std::move(error));
  job->finished_ms = now_ms;
}

void RequeueJob(Job* job, std::string reason, std::int64_t now_ms) {
  EndAttempt(job, AttemptOutcome::kStalled, now_ms, reason);
  job->state = JobState::kWaiting;
  job->last_error = CutLastError(std::move(reason));
}

void RetryFailedJob(Job* job) {
  job->state = JobState::kWaiting;
  job->attempts_made = 0;
  job->finished_ms = 0;
}

void PutBackStalled(Job* job, std::int64_t now_ms, std::string_view reason) {
  job->last_error = std::string(reason);
  const bool retry = RetriesAfterStall(*job);
  EndAttempt(job, AttemptOutcome::kStalled, now_ms, reason);
  if (retry) {
    job->state = JobState::kWaiting;
  } else {
    job->state = JobState::kFailed;
    job->finished_ms = now_ms;
  }
}

std::size_t HistoryBytes(const Job& job) {
  std::size_t bytes = job.history.capacity() * sizeof(Attempt);
  for (const Attempt& a : job.history) bytes += a.error.size() + a.worker.size();
  return bytes;
}

std::string EncodeJob(const Job& job) {
  std::string out;
  std::size_t history_bytes = 0;
  for (const Attempt& a : job.history) history_bytes += 32 + a.error.size() + a.worker.size();
  out.reserve(64 + job.id.size() + job.queue.size() + job.payload.size() + job.last_error.size() +
              job.return_value.size() + history_bytes + job.name.size());
  out.push_back(static_cast<char>(job.name.empty() ? keys::kJobRecordVersion
                                                   : keys::kJobRecordVersionWithName));
  keys::PutLengthPrefixed(&out, job.id);
  keys::PutLengthPrefixed(&out, job.queue);
  keys::PutLengthPrefixed(&out, job.payload);
  keys::PutVarint(&out, job.priority);
  keys::PutVarint(&out, job.attempts_made);
  keys::PutVarint(&out, job.max_attempts);
  out.push_back(static_cast<char>(job.backoff_type));
  keys::PutZigzag(&out, job.backoff_ms);
  out.push_back(static_cast<char>(job.state));
  keys::PutVarint(&out, job.seq);
  keys::PutZigzag(&out, job.created_ms);
  keys::PutZigzag(&out, job.processed_ms);
  keys::PutZigzag(&out, job.finished_ms);
  keys::PutZigzag(&out, job.due_ms);
  keys::PutLengthPrefixed(&out, job.last_error);
  keys::PutLengthPrefixed(&out, job.return_value);
  out.push_back(static_cast<char>(job.custom_id ? 1 : 0));
  keys::PutVarint(&out, job.history.size());
  for (const Attempt& a : job.history) PutAttempt(&out, a);
  if (!job.name.empty()) keys::PutLengthPrefixed(&out, job.name);
  return out;
}

Result<Job> DecodeJob(std::string_view bytes) {
  keys::Reader r(bytes);
  Job job;
  std::uint8_t version = 0;
  if (!r.GetU8(&version)) return Status::Corruption("job record is empty");
  // Version 1 (older builds) is version 2 without the history; version 3 is 2 with a name.
  if (version != keys::kJobRecordVersion && version != keys::kJobRecordVersionWithoutHistory &&
      version != keys::kJobRecordVersionWithName) {
    return Status::Corruption("job record has unknown version " + std::to_string(version));
  }
  std::string_view s;
  if (!r.GetLengthPrefixed(&s)) return Truncated("id");
  job.id = s;
  if (!r.GetLengthPrefixed(&s)) return Truncated("queue");
  job.queue = s;
  if (!r.GetLengthPrefixed(&s)) return Truncated("payload");
  job.payload = s;
  if (!r.GetVarint32(&job.priority)) return Truncated("priority");
  if (!r.GetVarint32(&job.attempts_made)) return Truncated("attempts_made");
  if (!r.GetVarint32(&job.max_attempts)) return Truncated("max_attempts");
  std::uint8_t byte = 0;
  if (!r.GetU8(&byte)) return Truncated("backoff_type");
  if (!ValidBackoff(byte)) {
    return Status::Corruption("job record has unknown backoff type " + std::to_string(byte));
  }
  job.backoff_type = static_cast<BackoffType>(byte);
  if (!r.GetZigzag(&job.backoff_ms)) return Truncated("backoff_ms");
  if (!r.GetU8(&byte)) return Truncated("state");
  if (!ValidState(byte)) {
    return Status::Corruption("job record has unknown state " + std::to_string(byte));
  }
  job.state = static_cast<JobState>(byte);
  if (!r.GetVarint(&job.seq)) return Truncated("seq");
  if (!r.GetZigzag(&job.created_ms)) return Truncated("created_ms");
  if (!r.GetZigzag(&job.processed_ms)) return Truncated("processed_ms");
  if (!r.GetZigzag(&job.finished_ms)) return Truncated("finished_ms");
  if (!r.GetZigzag(&job.due_ms)) return Truncated("due_ms");
  if (!r.GetLengthPrefixed(&s)) return Truncated("last_error");
  job.last_error = s;
  if (!r.GetLengthPrefixed(&s)) return Truncated("return_value");
  job.return_value = s;
  if (!r.GetU8(&byte)) return Truncated("flags");
  if (byte > 1) return Status::Corruption("job record has unknown flags " + std::to_string(byte));
  job.custom_id = byte == 1;
  if (version != keys::kJobRecordVersionWithoutHistory) {
    std::uint64_t attempts = 0;
    if (!r.GetVarint(&attempts)) return Truncated("history");
    // Checked before anything is allocated for them: each attempt takes a few bytes.
    if (attempts > r.rest().size() / kMinAttemptBytes) return Truncated("history");
    job.history.resize(static_cast<std::size_t>(attempts));
    for (Attempt& a : job.history) HERALD_RETURN_IF_ERROR(GetAttempt(&r, &a));
  }
  if (version == keys::kJobRecordVersionWithName) {
    if (!r.GetLengthPrefixed(&s)) return Truncated("name");
    if (s.empty()) return Status::Corruption("job record of version 3 has an empty name");
    job.name = s;
  }
  if (!r.empty()) {
    return Status::Corruption("job record has " + std::to_string(r.rest().size()) +
                              " trailing bytes");
  }
  if (job.id.empty()) return Status::Corruption("job record has an empty id");
  return job;
}

}  // namespace herald::storage
