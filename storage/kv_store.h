// KvStore: plain persistent Redis lists and strings, in the "kv" column family.
//
// A key holds either a string or a list (Redis semantics: an operation of the other kind is
// WrongType, "Operation against a key holding the wrong kind of value"). Lists push and pop in
// O(1) at both ends (a head/tail pair in the key's metadata, elements keyed by a big-endian
// position). An empty list is deleted, as in Redis. Every write is one WriteBatch, durable
// under the store's FsyncMode on return.
//
// Thread safety: thread-safe (writes are serialised on one mutex, like Redis's single thread).
// Obtained from Store::kv(); lives as long as the Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace herald::storage {

enum class KvType : std::uint8_t { kNone = 0, kString = 1, kList = 2 };  // on disk: never renumber

class KvStore {
 public:
  virtual ~KvStore() = default;

  // Strings.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual Status Set(std::string_view key, std::string_view value) = 0;  // replaces any type
  // Adds delta to an integer string (missing = 0). InvalidArgument "value is not an integer or
  // out of range" as Redis; overflow too.
  virtual Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta) = 0;
  virtual Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs) = 0;

  // Any type.
  virtual Result<std::int64_t> Del(const std::vector<std::string>& keys) = 0;  // number removed
  virtual Result<std::int64_t> Exists(const std::vector<std::string>& keys) = 0;
  virtual Result<KvType> Type(std::string_view key) = 0;
  // Keys matching a Redis glob pattern (*, ?, [abc], [^a], [a-z], \x).
  virtual Result<std::vector<std::string>> Keys(std::string_view pattern) = 0;
  // Cursor scan: cursor "0" starts; the returned cursor is "0" when done. Cursors are decimal
  // numbers standing for a resume point kept in memory (the latest 4096; not across restarts);
  // an unknown one is InvalidArgument "invalid cursor". count examines that many keys (0 = 10).
  virtual Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                        std::string_view pattern,
                                                                        std::uint32_t count) = 0;
  virtual Result<std::uint64_t> Count() = 0;  // DBSIZE

  // Lists. Push returns the new length.
  virtual Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values,
                                    bool left) = 0;
  // Pops up to count elements; empty vector when the key is missing.
  virtual Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count,
                                               bool left) = 0;
  virtual Result<std::int64_t> Len(std::string_view key) = 0;
  // Redis LRANGE semantics (negative indexes from the end, clamped).
  virtual Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                                 std::int64_t stop) = 0;
  virtual Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) = 0;
};

// Matches a Redis glob pattern against a string (used by KEYS/SCAN and tests).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace herald::storage
