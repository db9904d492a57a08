// Internal to storage/ (names rocksdb types). RecordTables: the records that are not jobs
// (RecordTable, store.h): one column family per table, except kMeta, whose records are keys
// under a prefix of the meta column family (keys.h). Writes go through Database::Write, so
// they are durable under the FsyncMode as job writes are.
//
// Thread safety: thread-safe. `database` is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "storage/store.h"

namespace herald::storage {

class RecordTables {
 public:
  explicit RecordTables(Database* database) : database_(database) {}

  // As the Store methods of the same names (store.h).
  Status Put(RecordTable table, std::string_view key, std::string_view value);
  Result<std::optional<std::string>> Get(RecordTable table, std::string_view key) const;
  Status Delete(RecordTable table, std::string_view key);
  Result<std::vector<std::pair<std::string, std::string>>> Scan(RecordTable table,
                                                                std::string_view prefix,
                                                                std::uint32_t limit,
                                                                ScanOrder order) const;
  Result<std::vector<std::pair<std::string, std::string>>> ScanAfter(RecordTable table,
                                                                     std::string_view after,
                                                                     std::uint32_t limit) const;

 private:
  rocksdb::ColumnFamilyHandle* CfOf(RecordTable table) const;
  // The key in the table's column family.
  static std::string KeyOf(RecordTable table, std::string_view key);

  Database* const database_;
};

}  // namespace herald::storage
