// CheckStore: `herald check`, an offline look at a store no Herald has open. It reads every
// index entry of every queue and every job record, and reports where they disagree:
//   * a record that does not decode, or names a queue that does not exist;
//   * a job in no index of its queue, or at a key its record does not give (another state,
//     another time), or in two places;
//   * an index entry whose job has no record;
//   * a state's counter (keys.h, "m|n|") that differs from the entries of that state.
// With `repair` it then rebuilds what the records say: entries without a record are deleted,
// a job's entry is put at the key its record gives (a job that was active comes back waiting
// at its place, as a restart makes it), the counters are set to what was counted; and it
// checks again. A record that does not decode, or of an unknown queue, is reported and left.
//
// Thread safety: runs on the calling thread; opens the store itself (IOError naming the lock
// when a Herald has it open).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace herald::storage {

struct CheckedQueue {
  std::string name;
  QueueCounts counted;  // from the index entries (active: leases, or older builds' "a|")
  QueueCounts stored;   // the counters
};

struct CheckReport {
  std::vector<CheckedQueue> queues;  // sorted by name
  std::uint64_t records = 0;         // job records read
  std::uint64_t problems = 0;        // found by the (first) check
  std::vector<std::string> listed;   // the first kMaxListed problems, described
  bool repaired = false;             // repair ran
  std::uint64_t fixes = 0;           // entries and counters written or deleted by the repair
  std::uint64_t left = 0;            // problems the check after the repair still found

  static constexpr std::size_t kMaxListed = 100;
};

// `options.data_dir` must hold a store (NotFound otherwise); its fsync mode is ignored.
Result<CheckReport> CheckStore(const StoreOptions& options, bool repair);

}  // namespace herald::storage
