#include "storage/kv_lists.h"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <memory>

#include "storage/kv_numbers.h"
#include "storage/kv_write.h"
#include "storage/list_node.h"
#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

Status BrokenList(std::string_view key) {
  return Status::Corruption("list '" + std::string(key) + "' has a missing or malformed node");
}

// The header of a list with no elements yet.
keys::KvMeta NewList() {
  keys::KvMeta meta;
  meta.type = KvType::kList;
  meta.head = meta.tail = keys::kListStart;
  return meta;
}

ListEnd Opposite(ListEnd end) { return end == ListEnd::kLeft ? ListEnd::kRight : ListEnd::kLeft; }

// A list node to modify in place (pending). Corruption when it is missing or malformed.
Result<std::string*> NodeForWrite(KvWrite& write, std::string_view key, std::uint64_t node_id) {
  HERALD_ASSIGN_OR_RETURN(std::string * node, write.RowForUpdate(keys::KvNodeKey(key, node_id)));
  if (node == nullptr || !list_node::LooksValid(*node)) return BrokenList(key);
  return node;
}

Status PushOne(KvWrite& write, std::string_view key, keys::KvMeta* meta, std::string_view value,
               ListEnd end) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t& end_node = left ? meta->head_node : meta->tail_node;
  if (end_node != 0) {
    HERALD_ASSIGN_OR_RETURN(std::string * node, NodeForWrite(write, key, end_node));
    if (list_node::RoomFor(*node, value)) {
      list_node::Push(node, end, value);
      write.Grew(value.size() + 10);
      if (left) {
        --meta->head;
      } else {
        ++meta->tail;
      }
      return Status::Ok();
    }
    list_node::SetLink(node, end, meta->next_node);
  }
  const std::uint64_t id = meta->next_node++;
  std::string fresh = left ? list_node::New(0, end_node) : list_node::New(end_node, 0);
  list_node::Push(&fresh, ListEnd::kRight, value);  // either end of an empty node: an append
  write.Put(keys::KvNodeKey(key, id), fresh);
  end_node = id;
  std::uint64_t& other_end_node = left ? meta->tail_node : meta->head_node;
  if (other_end_node == 0) other_end_node = id;
  if (left) {
    --meta->head;
  } else {
    ++meta->tail;
  }
  return Status::Ok();
}

Result<std::string> PopOne(KvWrite& write, std::string_view key, keys::KvMeta* meta, ListEnd end) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t& end_node = left ? meta->head_node : meta->tail_node;
  const std::uint64_t id = end_node;
  HERALD_ASSIGN_OR_RETURN(std::string * node, NodeForWrite(write, key, id));
  std::string value;
  if (!list_node::Pop(node, end, &value)) return BrokenList(key);
  if (list_node::Count(*node) == 0) {
    end_node = list_node::Link(*node, Opposite(end));
    write.Delete(keys::KvNodeKey(key, id));  // `node` is gone from here on
  }
  if (left) {
    ++meta->head;
  } else {
    --meta->tail;
  }
  return value;
}

}  // namespace

Result<std::int64_t> KvLists::Push(int db, std::string_view key,
                                   const std::vector<std::string>& values, ListEnd end,
                                   KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, end == ListEnd::kLeft ? "lpush" : "rpush",
                KvWrite::Keys::kMayCreate);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
  if (meta.type == KvType::kString) return WrongTypeError();
  const bool created = meta.type == KvType::kNone;
  if (created) meta = NewList();
  if (values.empty()) return static_cast<std::int64_t>(meta.tail - meta.head);
  for (const auto& v : values) HERALD_RETURN_IF_ERROR(PushOne(write, key, &meta, v, end));
  write.Put(keys::KvMetaKey(key), keys::EncodeKvList(meta));
  if (created) ++write.KeyCount();
  const auto length = static_cast<std::int64_t>(meta.tail - meta.head);
  HERALD_RETURN_IF_ERROR(write.Commit());
  return length;
}

Result<std::vector<std::string>> KvLists::Pop(int db, std::string_view key, std::uint32_t count,
                                              ListEnd end, KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, end == ListEnd::kLeft ? "lpop" : "rpop",
                KvWrite::Keys::kExistingOnly);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
  if (meta.type == KvType::kNone) return std::vector<std::string>();
  if (meta.type != KvType::kList) return WrongTypeError();
  std::uint64_t n = std::min<std::uint64_t>(count, meta.tail - meta.head);
  if (n == 0) return std::vector<std::string>();
  std::vector<std::string> values;
  values.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 16)));
  for (std::uint64_t i = 0; i < n; ++i) {
    HERALD_ASSIGN_OR_RETURN(std::string value, PopOne(write, key, &meta, end));
    values.push_back(std::move(value));
  }
  if (meta.head == meta.tail) {
    write.Delete(keys::KvMetaKey(key));
    --write.KeyCount();
  } else {
    write.Put(keys::KvMetaKey(key), keys::EncodeKvList(meta));
  }
  HERALD_RETURN_IF_ERROR(write.Commit());
  return values;
}

Result<std::int64_t> KvLists::Len(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMeta(db, key));
  if (meta.type == KvType::kNone) return std::int64_t{0};
  if (meta.type != KvType::kList) return WrongTypeError();
  return static_cast<std::int64_t>(meta.tail - meta.head);
}

Result<std::string> KvLists::NodeForRead(int db, std::string_view key, std::uint64_t node_id) {
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> node,
                          pipeline_->GetLocked(db, keys::KvNodeKey(key, node_id)));
  if (!node || !list_node::LooksValid(*node)) return BrokenList(key);
  return std::move(*node);
}

Result<std::vector<std::string>> KvLists::Range(int db, std::string_view key, std::int64_t start,
                                                std::int64_t stop) {
  MutexLock lock(pipeline_->mu());
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMetaLocked(db, key));
  if (meta.type == KvType::kNone) return std::vector<std::string>();
  if (meta.type != KvType::kList) return WrongTypeError();
  auto len = static_cast<std::int64_t>(meta.tail - meta.head);
  if (!NormaliseRange(len, &start, &stop)) return std::vector<std::string>();
  // Walk the nodes from the head: skip whole nodes before `start`, then collect.
  auto skip = static_cast<std::uint64_t>(start);
  auto want = static_cast<std::uint64_t>(stop - start + 1);
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(want, 1 << 16)));
  std::vector<std::string_view> elements;
  for (std::uint64_t id = meta.head_node; out.size() < want;) {
    if (id == 0) return BrokenList(key);
    HERALD_ASSIGN_OR_RETURN(std::string node, NodeForRead(db, key, id));
    const std::uint32_t count = list_node::Count(node);
    if (skip >= count) {
      skip -= count;
    } else {
      elements.clear();
      if (!list_node::Elements(node, &elements)) return BrokenList(key);
      for (std::size_t i = skip; i < elements.size() && out.size() < want; ++i) {
        out.emplace_back(elements[i]);
      }
      skip = 0;
    }
    id = list_node::Link(node, ListEnd::kRight);
  }
  return out;
}

Result<std::optional<std::string>> KvLists::Index(int db, std::string_view key,
                                                  std::int64_t index) {
  MutexLock lock(pipeline_->mu());
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMetaLocked(db, key));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kList) return WrongTypeError();
  auto len = static_cast<std::int64_t>(meta.tail - meta.head);
  if (index < 0) index += len;
  if (index < 0 || index >= len) return std::optional<std::string>();
  // Walk from the nearer end, as Redis's quicklist does.
  const ListEnd from = index < len / 2 ? ListEnd::kLeft : ListEnd::kRight;
  const bool from_head = from == ListEnd::kLeft;
  auto skip = static_cast<std::uint64_t>(from_head ? index : len - 1 - index);
  for (std::uint64_t id = from_head ? meta.head_node : meta.tail_node;;) {
    if (id == 0) return BrokenList(key);
    HERALD_ASSIGN_OR_RETURN(std::string node, NodeForRead(db, key, id));
    const std::uint32_t count = list_node::Count(node);
    if (skip < count) {
      auto at = static_cast<std::uint32_t>(from_head ? skip : count - 1 - skip);
      std::size_t entry_at = 0;
      std::string_view value;
      if (!list_node::Element(node, at, &entry_at, &value)) return BrokenList(key);
      return std::optional<std::string>(std::string(value));
    }
    skip -= count;
    id = list_node::Link(node, Opposite(from));
  }
}

// ---- The older one-row-per-element layout ---------------------------------------------------

Result<std::vector<std::string>> KvLists::ReadElements(int db, std::string_view key,
                                                       std::uint64_t from, std::uint64_t to) const {
  std::vector<std::string> out;
  if (to <= from) return out;
  std::string lower_key = keys::KvElementKey(key, from);
  std::string upper_key = keys::KvElementKey(key, to);
  rocksdb::Slice lower(lower_key);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(pipeline_->db()->NewIterator(ro, pipeline_->Cf(db)));
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(to - from, 1 << 16)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->value().ToString());
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read list"));
  if (out.size() != to - from) {
    return Status::Corruption("list '" + std::string(key) + "' is missing elements");
  }
  return out;
}

Status KvLists::UpgradeElementRowLists(
    int db, const std::vector<std::pair<std::string, keys::KvMeta>>& lists, KvWriteGroup* group) {
  for (const auto& [key, old_meta] : lists) {
    HERALD_ASSIGN_OR_RETURN(std::vector<std::string> values,
                            ReadElements(db, key, old_meta.head, old_meta.tail));
    KvWrite write(pipeline_, db, group, "upgrade list", KvWrite::Keys::kExistingOnly);
    // One write per list: the old rows go, then the nodes (which share their key prefix) and
    // the header come.
    HERALD_RETURN_IF_ERROR(write.AllowRangeDeletes());
    write.DeletePrefix(db, keys::KvElementPrefix(key));
    keys::KvMeta meta = NewList();
    for (const auto& v : values) {
      HERALD_RETURN_IF_ERROR(PushOne(write, key, &meta, v, ListEnd::kRight));
    }
    write.Put(keys::KvMetaKey(key), keys::EncodeKvList(meta));
    HERALD_RETURN_IF_ERROR(write.Commit());
  }
  return Status::Ok();
}

}  // namespace herald::storage
