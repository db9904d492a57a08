#include "storage/kv_keyspace.h"

#include <rocksdb/iterator.h>

#include <charconv>
#include <limits>
#include <memory>
#include <set>

#include "storage/glob.h"
#include "storage/keys.h"
#include "storage/kv_write.h"
#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

// Redis's KEYS and SCAN skip matching for a lone "*" (so it also lists the empty key, which
// stringmatchlen would not match).
bool Matches(std::string_view pattern, std::string_view key) {
  return pattern == "*" || GlobMatch(pattern, key);
}

// What one walk over key headers found: the matching names, and the header row to resume at
// ("" when the walk reached its end).
struct KeyWalk {
  std::vector<std::string> names;
  std::string resume_row;
};

// Walks the key headers of `cf` in rows [start, end) (end "" = no bound), examining at most
// `limit` of them, collecting the names that match `pattern`; `what` names it in errors.
Result<KeyWalk> WalkKeys(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const std::string& start,
                         const std::string& end, std::string_view pattern, std::uint64_t limit,
                         std::string_view what) {
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  KeyWalk walk;
  std::uint64_t examined = 0;
  for (it->SeekToFirst(); it->Valid() && examined < limit; it->Next(), ++examined) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + keys::kKvMetaPrefix.size(),
                          k.size() - keys::kKvMetaPrefix.size());
    if (Matches(pattern, name)) walk.names.emplace_back(name);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), what));
  if (it->Valid()) walk.resume_row = it->key().ToString();
  return walk;
}

}  // namespace

Result<std::int64_t> KvKeyspace::Del(int db, const std::vector<std::string>& keys,
                                     KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, "del", KvWrite::Keys::kExistingOnly);
  std::vector<std::pair<std::string_view, keys::KvMeta>> old;
  std::set<std::string_view> seen;
  for (const auto& key : keys) {
    if (!seen.insert(key).second) continue;
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
    if (meta.type != KvType::kNone) old.emplace_back(key, std::move(meta));
  }
  if (old.empty()) return std::int64_t{0};
  HERALD_RETURN_IF_ERROR(write.RemoveValues(old));
  for (const auto& [key, meta] : old) write.Delete(keys::KvMetaKey(key));
  write.KeyCount() -= old.size();
  HERALD_RETURN_IF_ERROR(write.Commit());
  return static_cast<std::int64_t>(old.size());
}

Result<std::int64_t> KvKeyspace::Exists(int db, const std::vector<std::string>& keys) {
  std::int64_t n = 0;
  for (const auto& key : keys) {  // Redis counts a key named twice twice
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMeta(db, key));
    if (meta.type != KvType::kNone) ++n;
  }
  return n;
}

Result<KvType> KvKeyspace::Type(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMeta(db, key));
  return meta.type;
}

Result<std::vector<std::string>> KvKeyspace::Keys(int db, std::string_view pattern) {
  if (pipeline_->Cf(db) == nullptr) return std::vector<std::string>();  // never written
  HERALD_RETURN_IF_ERROR(pipeline_->FlushForIteration());
  std::string start = keys::KvMetaKey(GlobLiteralPrefix(pattern));
  HERALD_ASSIGN_OR_RETURN(
      KeyWalk walk, WalkKeys(pipeline_->db(), pipeline_->Cf(db), start, keys::PrefixEnd(start),
                             pattern, std::numeric_limits<std::uint64_t>::max(), "keys"));
  return std::move(walk.names);
}

std::string KvKeyspace::NewScanCursor(int db, std::string resume_key) {
  MutexLock lock(&cursor_mu_);
  std::uint64_t id = next_cursor_++;
  cursors_.emplace(id, ScanCursor{db, std::move(resume_key)});
  while (cursors_.size() > kMaxCursors) cursors_.erase(cursors_.begin());
  return std::to_string(id);
}

Result<std::string> KvKeyspace::ScanStart(int db, std::string_view cursor) {
  if (cursor == "0") return std::string(keys::kKvMetaPrefix);
  std::uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), id);
  MutexLock lock(&cursor_mu_);
  auto found = cursors_.end();
  if (ec == std::errc() && ptr == cursor.data() + cursor.size()) found = cursors_.find(id);
  if (found == cursors_.end() || found->second.db != db) {
    return Status::InvalidArgument("invalid cursor");
  }
  return found->second.resume_key;
}

Result<std::pair<std::string, std::vector<std::string>>> KvKeyspace::Scan(int db,
                                                                          std::string_view cursor,
                                                                          std::string_view pattern,
                                                                          std::uint32_t count) {
  HERALD_ASSIGN_OR_RETURN(std::string start, ScanStart(db, cursor));
  if (count == 0) count = 10;
  if (pipeline_->Cf(db) == nullptr) {  // never written
    return std::make_pair(std::string("0"), std::vector<std::string>());
  }
  HERALD_RETURN_IF_ERROR(pipeline_->FlushForIteration());
  HERALD_ASSIGN_OR_RETURN(KeyWalk walk,
                          WalkKeys(pipeline_->db(), pipeline_->Cf(db), start,
                                   keys::PrefixEnd(keys::kKvMetaPrefix), pattern, count, "scan"));
  std::string next = "0";
  if (!walk.resume_row.empty()) next = NewScanCursor(db, std::move(walk.resume_row));
  return std::make_pair(std::move(next), std::move(walk.names));
}

Result<std::uint64_t> KvKeyspace::Count(int db) {
  MutexLock lock(pipeline_->mu());
  return pipeline_->KeyCount(db);
}

Status KvKeyspace::Clear(int db) { return ClearDatabases(db, db + 1, "flushdb"); }

// One write for every database: FLUSHALL is atomic, as in Redis.
Status KvKeyspace::ClearAll() { return ClearDatabases(0, kKvDatabases, "flushall"); }

Status KvKeyspace::ClearDatabases(int first, int last, std::string_view what) {
  KvWrite write(pipeline_, first, nullptr, what, KvWrite::Keys::kExistingOnly);
  // The pending rows reach the WAL first (AllowRangeDeletes), so a reopen replays them before
  // the range deletes that remove them.
  HERALD_RETURN_IF_ERROR(write.AllowRangeDeletes());
  // Two range deletes cover every row of a database's column family (keys.h: "k|" headers,
  // "l|" list nodes of either layout) however many keys there are; kv column families have no
  // memtable insert hint, which range tombstones would upset.
  bool any = false;
  for (int db = first; db < last; ++db) {
    if (pipeline_->Cf(db) == nullptr) continue;  // never written: nothing to delete
    any = true;
    for (std::string_view prefix : {keys::kKvMetaPrefix, keys::kKvElementPrefix}) {
      write.DeletePrefix(db, prefix);
    }
    pipeline_->KeyCount(db) = 0;  // counted again if the write fails
  }
  if (!any) return Status::Ok();
  return write.Commit();
}

}  // namespace herald::storage
