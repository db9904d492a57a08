#include "storage/job_rules.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "storage/quote.h"

namespace herald::storage {
namespace {

constexpr std::size_t kMaxQueueNameBytes = 64;
constexpr std::size_t kMaxIdBytes = 256;

Status ValidateRetries(std::uint32_t max_attempts, BackoffType backoff_type,
                       std::int64_t backoff_ms) {
  if (max_attempts == 0) return Status::InvalidArgument("attempts must be at least 1");
  if (backoff_ms < 0) return Status::InvalidArgument("backoff must not be negative");
  if (backoff_type != BackoffType::kFixed && backoff_type != BackoffType::kExponential) {
    return Status::InvalidArgument("unknown backoff type");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateQueueName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("queue name is empty");
  if (name.size() > kMaxQueueNameBytes) {
    return Status::InvalidArgument("queue name is longer than 64 bytes");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("queue name " + Quote(name) +
                                     " has a character outside [A-Za-z0-9_.:-]");
    }
  }
  return Status::Ok();
}

bool IsGeneratedId(std::string_view id) {
  return !id.empty() &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status ValidateNewJob(const NewJob& job) {
  if (!job.id.empty()) {
    if (job.id.size() > kMaxIdBytes) {
      return Status::InvalidArgument("job id is longer than 256 bytes");
    }
    if (IsGeneratedId(job.id)) {
      return Status::InvalidArgument("job id " + Quote(job.id) +
                                     " is a plain number; those are reserved for generated ids");
    }
    // The embedded store: a waiting-index value starting with 0 is a lease (keys.h).
    if (job.id.front() == '\0') return Status::InvalidArgument("job id starts with a NUL byte");
  }
  return ValidateRetries(job.max_attempts, job.backoff_type, job.backoff_ms);
}

Status ValidateImportedJob(const Job& job) {
  if (job.id.empty() || job.id.size() > kMaxIdBytes) {
    return Status::InvalidArgument("an imported job's id must be 1 to 256 bytes");
  }
  if (job.id.front() == '\0') return Status::InvalidArgument("job id starts with a NUL byte");
  return ValidateRetries(job.max_attempts, job.backoff_type, job.backoff_ms);
}

}  // namespace herald::storage
