// Internal to storage/ (names rocksdb types). KvStoreImpl: KvStore over the "kv" column family
// of the store's database. Layout in storage/keys.h.
//
// Writes are serialised on one mutex (a read-modify-write of a list header must not interleave
// with another); reads take a snapshot instead, so a long synced write never blocks them.
//
// Thread safety: thread-safe. `db` and `cf` are borrowed and must outlive this object.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/mutex.h"
#include "storage/status.h"

namespace herald::storage {

class KvStoreImpl final : public KvStore {
 public:
  // Counts the existing keys (for Count()).
  static Result<std::unique_ptr<KvStoreImpl>> Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                   rocksdb::WriteOptions write_options);

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Status Set(std::string_view key, std::string_view value) override;
  Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta) override;
  Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs) override;

  Result<std::int64_t> Del(const std::vector<std::string>& keys) override;
  Result<std::int64_t> Exists(const std::vector<std::string>& keys) override;
  Result<KvType> Type(std::string_view key) override;
  Result<std::vector<std::string>> Keys(std::string_view pattern) override;
  Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count) override;
  Result<std::uint64_t> Count() override;

  Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values,
                            bool left) override;
  Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count,
                                       bool left) override;
  Result<std::int64_t> Len(std::string_view key) override;
  Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                         std::int64_t stop) override;
  Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) override;

 private:
  KvStoreImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, rocksdb::WriteOptions wo)
      : db_(db), cf_(cf), write_options_(wo) {}

  // The key's header; kNone type when absent.
  Result<keys::KvMeta> ReadMeta(std::string_view key, const rocksdb::Snapshot* snapshot) const;
  // Adds the deletion of every element of a list to `batch`.
  void DeleteElements(rocksdb::WriteBatch* batch, std::string_view key,
                      const keys::KvMeta& meta) const;
  Status Write(rocksdb::WriteBatch* batch, std::string_view what);
  // Iterates `key`'s elements at positions [from, to) in `snapshot`, forward or backward.
  Result<std::vector<std::string>> ReadElements(std::string_view key, std::uint64_t from,
                                                std::uint64_t to, bool reverse,
                                                const rocksdb::Snapshot* snapshot) const;
  std::string NewScanCursor(std::string resume_key) EXCLUDES(cursor_mu_);

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  rocksdb::WriteOptions write_options_;

  Mutex write_mu_;
  std::uint64_t key_count_ GUARDED_BY(write_mu_) = 0;

  // SCAN cursors are numbers (clients parse them) standing for the key to resume at; the most
  // recent kMaxCursors are remembered.
  static constexpr std::size_t kMaxCursors = 4096;
  Mutex cursor_mu_;
  std::uint64_t next_cursor_ GUARDED_BY(cursor_mu_) = 1;
  std::map<std::uint64_t, std::string> cursors_ GUARDED_BY(cursor_mu_);
};

}  // namespace herald::storage
