// KvStore: plain persistent Redis lists and strings of one database (SELECT n, as Redis with
// "databases 16"): database 0 in the "kv" column family, database n in "kv.<n>".
//
// A key holds either a string or a list (Redis semantics: an operation of the other kind is
// WrongType, "Operation against a key holding the wrong kind of value"). Lists push and pop in
// O(1) at both ends (a head/tail pair in the key's metadata, elements keyed by a big-endian
// position). An empty list is deleted, as in Redis. Every write is atomic. Without a
// KvWriteGroup it is durable under the store's FsyncMode on return; with one, once the group's
// Commit() returns OK. The databases of a store are independent keyspaces that share one
// write order: writes reach the WAL in the order they were made, whatever their database.
//
// Thread safety: thread-safe (writes to every database of a store are serialised on one
// mutex, like Redis's single thread). Obtained from Store::kv() (database 0) or
// Store::kv(db); lives as long as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/glob.h"  // the patterns of Keys and Scan

namespace herald::storage {

enum class KvType : std::uint8_t { kNone = 0, kString = 1, kList = 2 };  // on disk: never renumber

// The end of a list an operation works at: kLeft is the head (LPUSH, LPOP), kRight the tail
// (RPUSH, RPOP).
enum class ListEnd : std::uint8_t { kLeft, kRight };

// Databases of the Redis keyspace: SELECT takes 0 .. kKvDatabases - 1 (Redis's default).
inline constexpr int kKvDatabases = 16;

class KvStore;

// KvWriteGroup: lets the writes of a batch of commands (one pipelined read of a client) reach
// the WAL in one write and, in `always` mode, one sync. A write made with a group is applied
// at once (every later read or write of any thread sees it) but written to the WAL later: when
// the group commits, when another writer without a group flushes, or when a read needs it on
// disk. Commit() returns once every write made with the group is durable under the store's
// FsyncMode; a caller must not acknowledge such a write before Commit() returned OK (a failed
// Commit means those writes may be lost). A group made with any database's KvStore takes
// writes to every database of the same Store (one pipeline may SELECT another database
// between its writes): they share one write order, so one Commit covers them all.
//
// Thread safety: confined to one thread. `store` is borrowed and must outlive the group.
class KvWriteGroup {
 public:
  explicit KvWriteGroup(KvStore* store) : store_(store) {}
  ~KvWriteGroup();  // commits what is left; an error is then dropped (call Commit() to see it)
  KvWriteGroup(const KvWriteGroup&) = delete;
  KvWriteGroup& operator=(const KvWriteGroup&) = delete;

  // Makes every write made with this group so far durable. OK when there were none.
  Status Commit();
  // Called by the store for each write made with the group.
  void Joined(std::uint64_t ticket) { ticket_ = ticket > ticket_ ? ticket : ticket_; }
  // Whether writes made with the group wait for Commit().
  bool empty() const { return ticket_ == 0; }
  // Hands this group's writes over to `other` (a group of the same Store, made with any of its
  // databases), which then commits them; this group is left empty.
  void MoveInto(KvWriteGroup* other) {
    if (ticket_ != 0) other->Joined(ticket_);
    ticket_ = 0;
  }

 private:
  KvStore* store_;
  std::uint64_t ticket_ = 0;  // the latest write made with this group; 0 = none uncommitted
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // Strings.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual Status Set(std::string_view key, std::string_view value,
                     KvWriteGroup* group = nullptr) = 0;  // replaces any type
  // Adds delta to an integer string (missing = 0). InvalidArgument "value is not an integer or
  // out of range" as Redis; overflow too.
  virtual Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta,
                                      KvWriteGroup* group = nullptr) = 0;
  virtual Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs,
                      KvWriteGroup* group = nullptr) = 0;

  // Any type.
  // Number removed.
  virtual Result<std::int64_t> Del(const std::vector<std::string>& keys,
                                   KvWriteGroup* group = nullptr) = 0;
  virtual Result<std::int64_t> Exists(const std::vector<std::string>& keys) = 0;
  virtual Result<KvType> Type(std::string_view key) = 0;
  // Keys matching a Redis glob pattern (*, ?, [abc], [^a], [a-z], \x; storage/glob.h).
  virtual Result<std::vector<std::string>> Keys(std::string_view pattern) = 0;
  // Cursor scan: cursor "0" starts; the returned cursor is "0" when done. Cursors are decimal
  // numbers standing for a resume point kept in memory (the latest 4096 of all databases; not
  // across restarts); an unknown one, or one of another database, is InvalidArgument "invalid
  // cursor". count examines that many keys (0 = 10).
  virtual Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                        std::string_view pattern,
                                                                        std::uint32_t count) = 0;
  virtual Result<std::uint64_t> Count() = 0;  // DBSIZE
  // Removes every key of this database, strings and lists (FLUSHDB; Store::ClearKv() is
  // FLUSHALL). Durable on return as a write without a group; writes made earlier with a group
  // reach the WAL before it (so a reopen never brings them back), writes made later are kept.
  // Known SCAN cursors stay valid and resume among the keys written since.
  virtual Status Clear() = 0;

  // Lists. Push adds `values` one by one at `end` (so LPUSH a b c makes c b a) and returns the
  // new length.
  virtual Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values,
                                    ListEnd end, KvWriteGroup* group = nullptr) = 0;
  // Pops up to count elements from `end`, nearest first; empty vector when the key is missing.
  virtual Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count,
                                               ListEnd end, KvWriteGroup* group = nullptr) = 0;
  virtual Result<std::int64_t> Len(std::string_view key) = 0;
  // Redis LRANGE semantics (negative indexes from the end, clamped).
  virtual Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                                 std::int64_t stop) = 0;
  virtual Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) = 0;

 private:
  friend class KvWriteGroup;
  // Returns once the write with `ticket` and every earlier one is durable; the error of a
  // failed WAL write or sync that covered it otherwise.
  virtual Status WaitDurable(std::uint64_t ticket) = 0;
};

}  // namespace herald::storage
