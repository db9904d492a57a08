// Internal to storage/. KvKeyspace: the operations of every database on keys of any type
// (DEL, EXISTS, TYPE, KEYS, SCAN, DBSIZE, FLUSHDB, FLUSHALL; KvStore in kv_store.h has their
// contract), on the rows of a KvWritePipeline, and the SCAN cursors of all databases.
//
// Thread safety: thread-safe (writes hold the pipeline's mutex through a KvWrite; the cursors
// have a mutex of their own, never taken with the pipeline's). `pipeline` is borrowed and
// must outlive this object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/kv_store.h"
#include "storage/kv_write_pipeline.h"

namespace herald::storage {

class KvKeyspace {
 public:
  explicit KvKeyspace(KvWritePipeline* pipeline) : pipeline_(pipeline) {}

  // The operations of KvStore, on database `db`.
  Result<std::int64_t> Del(int db, const std::vector<std::string>& keys, KvWriteGroup* group);
  Result<std::int64_t> Exists(int db, const std::vector<std::string>& keys);
  Result<KvType> Type(int db, std::string_view key);
  Result<std::vector<std::string>> Keys(int db, std::string_view pattern);
  Result<std::pair<std::string, std::vector<std::string>>> Scan(int db, std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count);
  Result<std::uint64_t> Count(int db);
  Status Clear(int db);
  // Removes every key of every database in one write (FLUSHALL); as Clear otherwise.
  Status ClearAll();

 private:
  // Removes every key of databases [first, last) in one write, named `what`.
  Status ClearDatabases(int first, int last, std::string_view what);
  std::string NewScanCursor(int db, std::string resume_key) EXCLUDES(cursor_mu_);
  // Where cursor `cursor` of database `db` resumes; InvalidArgument "invalid cursor" for one
  // that is unknown or of another database.
  Result<std::string> ScanStart(int db, std::string_view cursor) EXCLUDES(cursor_mu_);

  KvWritePipeline* const pipeline_;

  // SCAN cursors are numbers (clients parse them) standing for the database and key to resume
  // at; the most recent kMaxCursors of all databases are remembered.
  static constexpr std::size_t kMaxCursors = 4096;
  struct ScanCursor {
    int db;
    std::string resume_key;
  };
  Mutex cursor_mu_;
  std::uint64_t next_cursor_ GUARDED_BY(cursor_mu_) = 1;
  std::map<std::uint64_t, ScanCursor> cursors_ GUARDED_BY(cursor_mu_);
};

}  // namespace herald::storage
