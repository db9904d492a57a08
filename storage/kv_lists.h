// Internal to storage/. KvLists: the list operations of every database (LPUSH/RPUSH,
// LPOP/RPOP, LLEN, LRANGE, LINDEX; KvStore in kv_store.h has their contract), on the rows of a
// KvWritePipeline, and the upgrade of lists of the older one-row-per-element layout at open.
// A list is its header row (head/tail positions and end nodes) and a chain of nodes of up to
// 128 elements or 8 KiB each (keys.h; one node's bytes: storage/list_node.h), so a push or pop
// at either end rewrites one small node and the header. An emptied list is deleted.
//
// Thread safety: thread-safe (writes, and reads of nodes, hold the pipeline's mutex).
// `pipeline` is borrowed and must outlive this object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/kv_write_pipeline.h"

namespace herald::storage {

class KvLists {
 public:
  explicit KvLists(KvWritePipeline* pipeline) : pipeline_(pipeline) {}

  // The operations of KvStore, on database `db`.
  Result<std::int64_t> Push(int db, std::string_view key, const std::vector<std::string>& values,
                            ListEnd end, KvWriteGroup* group);
  Result<std::vector<std::string>> Pop(int db, std::string_view key, std::uint32_t count,
                                       ListEnd end, KvWriteGroup* group);
  Result<std::int64_t> Len(int db, std::string_view key);
  Result<std::vector<std::string>> Range(int db, std::string_view key, std::int64_t start,
                                         std::int64_t stop);
  Result<std::optional<std::string>> Index(int db, std::string_view key, std::int64_t index);

  // At open: rewrites `lists` (key, header) of database `db`, of the older one-row-per-element
  // layout (CountKeysLocked finds them), into nodes, one write per list, joined to `group`.
  Status UpgradeElementRowLists(int db,
                                const std::vector<std::pair<std::string, keys::KvMeta>>& lists,
                                KvWriteGroup* group);

 private:
  // A list node to read (a copy). Corruption when it is missing or malformed.
  Result<std::string> NodeForRead(int db, std::string_view key, std::uint64_t node_id)
      REQUIRES(pipeline_->mu());
  // The element rows of an older-layout list at positions [from, to), in order.
  Result<std::vector<std::string>> ReadElements(int db, std::string_view key, std::uint64_t from,
                                                std::uint64_t to) const;

  KvWritePipeline* const pipeline_;
};

}  // namespace herald::storage
