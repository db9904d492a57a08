// Internal to storage/. IndexHead: what a queue remembers about the front of one of its
// indexes (waiting, delayed, completed), so that consumers never seek through the tombstones
// that consumed entries leave behind: the queue-on-LSM trap, where "seek to first" after a
// million Takes would step over a million deleted keys.
//
// Invariant: every live key of the index is in ahead() or is >= lower(). ahead() holds entries
// below lower(), ascending: keys prefetched from the database by a scan from lower() (which
// then moves past them), or inserted below lower() by a writer. Consumers pop entries from the
// front (a claim: nobody else sees that entry again) and scan from lower() only when ahead()
// is empty.
//
// Thread safety: none; the owning queue's mutex guards it.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace herald::storage {

class IndexHead {
 public:
  struct Entry {
    std::string key;  // full index key, e.g. "w|" be32 be64
    std::string id;   // the job id (the index value)
  };

  // Entries kept in ahead() at most; beyond that the largest are forgotten and lower() moves
  // down to them (they are found again by the next scan).
  static constexpr std::size_t kMaxAhead = 512;

  // `prefix` is the index's key prefix ("w|"): the initial lower bound.
  explicit IndexHead(std::string_view prefix) : lower_(prefix) {}

  // Where a scan for more entries starts (inclusive).
  const std::string& lower() const { return lower_; }
  // Where a scan over every live entry starts: the first ahead entry, or lower().
  std::string_view ScanStart() const;

  bool HasAhead() const { return !ahead_.empty(); }
  std::size_t AheadSize() const { return ahead_.size(); }
  const Entry& Front() const { return ahead_.front(); }
  Entry PopFront();

  // Entries read by a scan that started at lower(), ascending, all >= lower(); lower() moves
  // just past the last one.
  void AppendScanned(std::vector<Entry> entries);

  // A writer put `key` into the index (or a claimer gives an entry back after a failed write).
  // Keys at or above lower() need nothing: a later scan finds them.
  void Insert(std::string key, std::string id);

  // Someone other than a claimer removed `key` from the index.
  void Erase(std::string_view key);

  // Forgets ahead() and starts again from `prefix`, e.g. after a failed refill.
  void Reset(std::string_view prefix);

 private:
  std::string lower_;
  std::deque<Entry> ahead_;
};

}  // namespace herald::storage
