// Job: one unit of work on a queue, as stored. The record encoding (a version byte, then the
// fields) is described in storage/keys.h with every other on-disk format.
//
// Thread safety: plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// "waiting", "active", "delayed", "completed", "failed".
std::string_view JobStateName(JobState state);
// Parses the names above (case-insensitive); InvalidArgument names the bad word.
Result<JobState> ParseJobState(std::string_view name);
// "fixed", "exponential".
std::string_view BackoffTypeName(BackoffType type);
Result<BackoffType> ParseBackoffType(std::string_view name);

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
  std::string last_error;         // last failure message, "" = none
  std::string return_value;       // handler result when completed
  bool custom_id = false;         // the id came from the caller (e.g. an event's eventId)
};

// Compact binary record: version byte, then fields (see keys.h). Decode never reads past the
// input; a short, unknown-version or inconsistent record is Corruption naming what is wrong.
std::string EncodeJob(const Job& job);
Result<Job> DecodeJob(std::string_view bytes);

}  // namespace herald::storage
