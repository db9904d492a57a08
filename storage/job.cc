#include "storage/job.h"

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

Status Truncated(std::string_view field) {
  return Status::Corruption("job record truncated at " + std::string(field));
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

std::string EncodeJob(const Job& job) {
  std::string out;
  out.reserve(64 + job.id.size() + job.queue.size() + job.payload.size() + job.last_error.size() +
              job.return_value.size());
  out.push_back(static_cast<char>(keys::kJobRecordVersion));
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
  return out;
}

Result<Job> DecodeJob(std::string_view bytes) {
  keys::Reader r(bytes);
  Job job;
  std::uint8_t version = 0;
  if (!r.GetU8(&version)) return Status::Corruption("job record is empty");
  if (version != keys::kJobRecordVersion) {
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
  if (!r.empty()) {
    return Status::Corruption("job record has " + std::to_string(r.rest().size()) +
                              " trailing bytes");
  }
  if (job.id.empty()) return Status::Corruption("job record has an empty id");
  return job;
}

}  // namespace herald::storage
