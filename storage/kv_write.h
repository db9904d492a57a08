// Internal to storage/. KvWrite: one write operation on the lists and strings of a store (SET,
// INCRBY, MSET, DEL, LPUSH, LPOP, FLUSHDB, ...), from its first read to its durability, on a
// KvWritePipeline (storage/kv_write_pipeline.h). Constructing it creates the database's column
// family when the write may create keys and it has none, then takes the pipeline's mutex;
// the operation then reads headers and puts or deletes rows through it, and Commit() hands
// out its ticket, unlocks and waits until the write is durable (or joins it to its group). A
// write dropped without Commit() unlocks and hands out no ticket; rows it has already put
// stay pending, so an operation makes every check that can refuse it before its first row.
//
//   KvWrite write(pipeline, db, group, "set", KvWrite::Keys::kMayCreate);
//   HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
//   HERALD_RETURN_IF_ERROR(write.RemoveValue(key, meta));
//   write.Put(keys::KvMetaKey(key), keys::EncodeKvString(value));
//   return write.Commit();
//
// A write's rows go to the pending rows. A write that needs range deletes (removing a list of
// several nodes, FLUSHDB) calls AllowRangeDeletes() before its first row: that writes out the
// pending rows of earlier writes, and Commit() then writes its range deletes and rows at once.
//
// Thread safety: confined to one thread, and holds the pipeline's mutex from construction to
// Commit() or destruction. `pipeline` and `group` are borrowed and must outlive the write.
#pragma once

#include <rocksdb/write_batch.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/kv_write_pipeline.h"

namespace herald::storage {

// Redis's WRONGTYPE error: an operation of one kind (string, list) on a key of the other.
Status WrongTypeError();

class SCOPED_CAPABILITY KvWrite {
 public:
  // Whether the write may create keys. A write that only changes or removes existing ones
  // leaves a database that was never written without a column family (it has nothing there).
  enum class Keys { kMayCreate, kExistingOnly };

  // `what` names the write in errors (a command name: "set", "lpush"). When creating the
  // column family fails, ReadMeta and Commit return that error (and nothing is written).
  KvWrite(KvWritePipeline* pipeline, int db, KvWriteGroup* group, std::string_view what, Keys keys)
      ACQUIRE(pipeline->mu());
  ~KvWrite() RELEASE();
  KvWrite(const KvWrite&) = delete;
  KvWrite& operator=(const KvWrite&) = delete;

  // The key's header; kNone type when absent. Sees pending writes. The error of creating the
  // column family, when that failed.
  Result<keys::KvMeta> ReadMeta(std::string_view key);

  // Lets this write make range deletes: writes out the pending rows of earlier writes (the
  // range deletes must not reach the WAL before them), and makes Commit() write this one at
  // once. Call before the first row; once is enough (later calls do nothing).
  Status AllowRangeDeletes();
  // Whether removing the value of `meta` takes a range delete (a list of several nodes).
  static bool NeedsRangeDelete(const keys::KvMeta& meta);

  void Put(std::string row, std::string_view value);
  void Delete(std::string row);
  // Deletes every row of database `db` that starts with `prefix` (FLUSHALL clears every
  // database in one write). Precondition: AllowRangeDeletes() was called.
  void DeletePrefix(int db, std::string_view prefix);
  // A row to modify in place (pending, loaded from the database when needed); null when it is
  // absent. Report what it grows by with Grew.
  Result<std::string*> RowForUpdate(std::string row);
  void Grew(std::size_t bytes);
  // Deletes the rows of `meta`'s value besides the key's header (a list's nodes; a string has
  // none), with a range delete when that takes one (see AllowRangeDeletes).
  Status RemoveValue(std::string_view key, const keys::KvMeta& meta);
  // RemoveValue for each of `old` (read with ReadMeta), after AllowRangeDeletes when any needs it.
  Status RemoveValues(const std::vector<std::pair<std::string_view, keys::KvMeta>>& old);
  // The key count of this write's database (DBSIZE), for writes that add or remove keys.
  std::uint64_t& KeyCount();

  // Ends the write: hands out its ticket, unlocks, and waits until it is durable (without a
  // group) or joins it to the group (which Commit()s it later). The error of a failed WAL
  // write or sync; the write may then be lost.
  Status Commit() RELEASE();

 private:
  // Tells the thread-safety analysis what the constructor established: this write holds the
  // pipeline's mutex (until Commit).
  void AssertLocked() const HERALD_TSA(assert_capability(pipeline_->mu())) {}

  KvWritePipeline* const pipeline_;
  const int db_;
  KvWriteGroup* const group_;
  const std::string_view what_;
  Status cf_status_;  // of creating the column family
  bool locked_ = true;
  // The range deletes of a write made with AllowRangeDeletes(); nullopt before.
  std::optional<rocksdb::WriteBatch> range_deletes_;
};

}  // namespace herald::storage
