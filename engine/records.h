// Records: durable key/value tables for what handlers produce and read (user preferences,
// in-app inbox, delivery log, support tickets). The engine hands one to handlers. StoreRecords
// is backed by the store's record tables (storage::RecordTable, one column family each); a
// remote worker's implementation (tools/herald/remote_records.h) sends each call to the broker
// (RECORD commands), so that every delivery is kept in one place wherever its handler ran.
//
// Keys sort by bytes: put big-endian numbers in keys for time order.
// Thread safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace herald::engine {

// Order of a Scan.
using storage::ScanOrder;

// kAdmin: the server's own records (audit log, per-minute history), under the store's meta
// records.
enum class RecordKind : std::uint8_t { kPrefs, kInbox, kSent, kTickets, kAdmin };

class Records {
 public:
  virtual ~Records() = default;

  virtual Status Put(RecordKind kind, std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> Get(RecordKind kind, std::string_view key) const = 0;
  virtual Status Delete(RecordKind kind, std::string_view key) = 0;
  // Up to `limit` records whose key starts with `prefix`, in key order (kOldestFirst) or
  // reverse key order (kNewestFirst); `limit` 0 reads them all.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Scan(RecordKind kind,
                                                                        std::string_view prefix,
                                                                        std::uint32_t limit,
                                                                        ScanOrder order) const = 0;
};

class StoreRecords final : public Records {
 public:
  // `store` must outlive this object.
  explicit StoreRecords(storage::Store* store) : store_(store) {}

  Status Put(RecordKind kind, std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> Get(RecordKind kind, std::string_view key) const override;
  Status Delete(RecordKind kind, std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> Scan(RecordKind kind,
                                                                std::string_view prefix,
                                                                std::uint32_t limit,
                                                                ScanOrder order) const override;
  // Up to `limit` (1..10000) records with keys after `after` ("" = from the first), in key
  // order: a walk over a whole table (EXPORT RECORDS).
  Result<std::vector<std::pair<std::string, std::string>>> ScanAfter(RecordKind kind,
                                                                     std::string_view after,
                                                                     std::uint32_t limit) const;

 private:
  storage::Store* store_;
};

}  // namespace herald::engine
