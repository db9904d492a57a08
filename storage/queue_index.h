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
// Claims: Take pops with Claim() and, once it holds the job's id lock, asks EndClaim() whether
// someone removed that entry in between (a Delete or Clean that wrote before the Take got the
// lock). That makes a record kept with the entry safe to use without reading it again. Each
// claim is its own: a key can be claimed twice (a writer inserted it again while the first
// claim was out), and a later claim of the key, after the job left it and came back (a retry
// at the same priority and sequence), does not make an earlier, voided claim valid again.
//
// complete(): a scan reached the end of the index and every key written since went into
// ahead(), so no live key is >= lower() and ahead() is the whole index (minus claims). A
// shallow queue then never scans at all: adds land in ahead() and takes pop them.
//
// Thread safety: none; the owning queue's mutex guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/job.h"

namespace herald::storage {

class IndexHead {
 public:
  struct Entry {
    std::string key;  // full index key, e.g. "w|" be32 be64
    std::string id;   // the job id (the index value)
    // The job's record as it was when this entry was read or written, when kept (small
    // payloads): while the entry stays in the index the record can't change, since every
    // change of a job's record moves it to another key.
    std::shared_ptr<const Job> record;
    std::uint64_t claim = 0;  // set by Claim(): which claim EndClaim ends
  };

  // Entries kept in ahead() at most; beyond that the largest are forgotten and lower() moves
  // down to them (they are found again by the next scan). Enough for a burst of adds (a
  // pipelining producer, a batch of events) to stay in memory until taken, rather than be
  // scanned for again; with the records kept for small payloads (under 4 KiB), at most ~16 MiB
  // per queue.
  static constexpr std::size_t kMaxAhead = 4096;

  // `prefix` is the index's key prefix ("w|"): the initial lower bound.
  explicit IndexHead(std::string_view prefix) : lower_(prefix) {}

  // Where a scan for more entries starts (inclusive).
  const std::string& lower() const { return lower_; }
  // Where a scan over every live entry starts: the first ahead entry, or lower().
  std::string_view ScanStart() const;

  bool HasAhead() const { return !ahead_.empty(); }
  bool complete() const { return complete_; }
  std::size_t AheadSize() const { return ahead_.size(); }
  const Entry& Front() const { return ahead_.front(); }
  Entry PopFront();
  // PopFront, remembering the key until EndClaim.
  Entry Claim();
  // True when nobody Erase()d the claimed key since this entry's Claim(); forgets the claim.
  bool EndClaim(const Entry& claimed);

  // Entries read by a scan that started at lower(), ascending, all >= lower(); lower() moves
  // just past the last one, or past `scanned_to` (the last key the scan looked at, which it
  // may have skipped) when that is further. `reached_end`: the scan saw the end of the index.
  void AppendScanned(std::vector<Entry> entries, bool reached_end,
                     std::string_view scanned_to = {});

  // A writer put `key` into the index (or a claimer gives an entry back after a failed write);
  // call after the write is visible. Keys at or above lower() need nothing unless complete():
  // a later scan finds them.
  void Insert(std::string key, std::string id, std::shared_ptr<const Job> record = nullptr);

  // Whether Insert(key, ...) would keep the entry (so a record is worth making).
  bool Keeps(std::string_view key) const { return key < lower_ || complete_; }

  // Someone other than a claimer removed `key` from the index (a claim on it is voided).
  void Erase(const std::string& key);

  // Forgets ahead() and starts again from `prefix`, e.g. after a failed refill.
  void Reset(std::string_view prefix);

 private:
  // Drops entries beyond kMaxAhead from the back; lower() moves down to the first dropped.
  void Trim();

  std::string lower_;
  std::deque<Entry> ahead_;
  bool complete_ = false;
  struct ClaimState {
    std::uint64_t claim;
    bool valid;
  };
  std::unordered_map<std::string, std::vector<ClaimState>> claims_;  // key -> its claims
  std::uint64_t next_claim_ = 0;
};

}  // namespace herald::storage
