#include "storage/kv_store.h"

#include <rocksdb/comparator.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <unordered_map>

#include "storage/glob.h"
#include "storage/kv_numbers.h"
#include "storage/kv_store_impl.h"
#include "storage/list_node.h"
#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

constexpr std::string_view kWrongType = "Operation against a key holding the wrong kind of value";
constexpr std::string_view kNotInteger = "value is not an integer or out of range";
constexpr std::string_view kOverflow = "increment or decrement would overflow";

// Redis's KEYS and SCAN skip matching for a lone "*" (so it also lists the empty key, which
// stringmatchlen would not match).
bool Matches(std::string_view pattern, std::string_view key) {
  return pattern == "*" || GlobMatch(pattern, key);
}

}  // namespace

// ---- KvWriteGroup -----------------------------------------------------------------------------

KvWriteGroup::~KvWriteGroup() { (void)Commit(); }

Status KvWriteGroup::Commit() {
  if (ticket_ == 0) return Status::Ok();
  std::uint64_t ticket = ticket_;
  ticket_ = 0;
  return store_->WaitDurable(ticket);
}

// ---- KvStoreImpl ------------------------------------------------------------------------------

namespace {

// Database `db`'s KvStore: each call goes to the KvStoreImpl of every database, with `db`.
class KvDatabase final : public KvStore {
 public:
  KvDatabase(KvStoreImpl* impl, int db) : impl_(impl), db_(db) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    return impl_->Get(db_, key);
  }
  Status Set(std::string_view key, std::string_view value, KvWriteGroup* group) override {
    return impl_->Set(db_, key, value, group);
  }
  Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta,
                              KvWriteGroup* group) override {
    return impl_->IncrBy(db_, key, delta, group);
  }
  Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs,
              KvWriteGroup* group) override {
    return impl_->MSet(db_, pairs, group);
  }
  Result<std::int64_t> Del(const std::vector<std::string>& keys, KvWriteGroup* group) override {
    return impl_->Del(db_, keys, group);
  }
  Result<std::int64_t> Exists(const std::vector<std::string>& keys) override {
    return impl_->Exists(db_, keys);
  }
  Result<KvType> Type(std::string_view key) override { return impl_->Type(db_, key); }
  Result<std::vector<std::string>> Keys(std::string_view pattern) override {
    return impl_->Keys(db_, pattern);
  }
  Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count) override {
    return impl_->Scan(db_, cursor, pattern, count);
  }
  Result<std::uint64_t> Count() override { return impl_->Count(db_); }
  Status Clear() override { return impl_->Clear(db_); }
  Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values,
                            ListEnd end, KvWriteGroup* group) override {
    return impl_->Push(db_, key, values, end, group);
  }
  Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count, ListEnd end,
                                       KvWriteGroup* group) override {
    return impl_->Pop(db_, key, count, end, group);
  }
  Result<std::int64_t> Len(std::string_view key) override { return impl_->Len(db_, key); }
  Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                         std::int64_t stop) override {
    return impl_->Range(db_, key, start, stop);
  }
  Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) override {
    return impl_->Index(db_, key, index);
  }

 private:
  // Tickets count the writes of every database: any database's view commits a group.
  Status WaitDurable(std::uint64_t ticket) override { return impl_->WaitDurable(ticket); }

  KvStoreImpl* const impl_;
  const int db_;
};

}  // namespace

KvStoreImpl::KvStoreImpl(rocksdb::DB* db,
                         const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
                         WalSyncer* wal_syncer, CreateCf create_cf)
    : db_(db), wal_syncer_(wal_syncer), create_cf_(std::move(create_cf)) {
  for (int n = 0; n < kKvDatabases; ++n) {
    cfs_[static_cast<std::size_t>(n)].store(cfs[static_cast<std::size_t>(n)]);
    views_.push_back(std::make_unique<KvDatabase>(this, n));
  }
}

KvStoreImpl::~KvStoreImpl() {
  MutexLock lock(&mu_);
  (void)FlushLocked();  // the store syncs the WAL after this
}

Result<std::unique_ptr<KvStoreImpl>> KvStoreImpl::Open(
    rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
    WalSyncer* wal_syncer, CreateCf create_cf) {
  if (cfs[0] == nullptr) return Status::InvalidArgument("database 0 needs its column family");
  std::unique_ptr<KvStoreImpl> kv(new KvStoreImpl(db, cfs, wal_syncer, std::move(create_cf)));
  MutexLock lock(&kv->mu_);
  for (int n = 0; n < kKvDatabases; ++n) {
    if (kv->Cf(n) == nullptr) continue;
    std::vector<std::pair<std::string, keys::KvMeta>> element_row_lists;
    HERALD_RETURN_IF_ERROR(kv->CountKeysLocked(n, &element_row_lists));
    HERALD_RETURN_IF_ERROR(kv->UpgradeElementRowLists(n, element_row_lists));
  }
  return kv;
}

Status KvStoreImpl::EnsureCf(int db) {
  if (Cf(db) != nullptr) return Status::Ok();
  MutexLock lock(&create_mu_);
  if (Cf(db) != nullptr) return Status::Ok();
  if (!create_cf_) return Status::Internal("no column family for database " + std::to_string(db));
  HERALD_ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * cf, create_cf_(db));
  // Published before the write that needed it takes mu_: a flush of that write finds it.
  cfs_[static_cast<std::size_t>(db)].store(cf, std::memory_order_release);
  return Status::Ok();
}

Status KvStoreImpl::CountKeysLocked(
    int db, std::vector<std::pair<std::string, keys::KvMeta>>* element_row_lists) {
  if (Cf(db) == nullptr) {
    KeyCount(db) = 0;
    return Status::Ok();
  }
  std::string end = keys::PrefixEnd(keys::kKvMetaPrefix);
  rocksdb::Slice lower(keys::kKvMetaPrefix.data(), keys::kKvMetaPrefix.size());
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Cf(db)));
  std::uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ++n;
    if (element_row_lists == nullptr) continue;
    auto meta = keys::DecodeKvMeta(std::string_view(it->value().data(), it->value().size()));
    if (!meta.ok() || !meta->element_rows) continue;
    element_row_lists->emplace_back(it->key().ToString().substr(keys::kKvMetaPrefix.size()), *meta);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "count kv keys"));
  KeyCount(db) = n;
  return Status::Ok();
}

Result<std::optional<std::string>> KvStoreImpl::GetFromDb(int db, const std::string& row) const {
  if (Cf(db) == nullptr) return std::optional<std::string>();  // never written
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Cf(db), row, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read kv key"));
  return std::optional<std::string>(std::string(value.data(), value.size()));
}

Result<std::optional<std::string>> KvStoreImpl::GetLocked(int db, const std::string& row) {
  if (auto found = Pending(db).find(row); found != Pending(db).end()) return found->second;
  return GetFromDb(db, row);
}

namespace {

// The header of `key` from its row (kNone when there is none).
Result<keys::KvMeta> MetaOf(std::string_view key, const std::optional<std::string>& row) {
  if (!row) return keys::KvMeta{};
  auto meta = keys::DecodeKvMeta(*row);
  if (!meta.ok()) return meta.status().WithPrefix("key '" + std::string(key) + "'");
  return meta;
}

}  // namespace

Result<keys::KvMeta> KvStoreImpl::ReadMetaLocked(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> row, GetLocked(db, keys::KvMetaKey(key)));
  return MetaOf(key, row);
}

Result<keys::KvMeta> KvStoreImpl::ReadMeta(int db, std::string_view key) {
  if (has_pending_.load(std::memory_order_acquire)) {
    MutexLock lock(&mu_);
    return ReadMetaLocked(db, key);
  }
  // Nothing pending: the database holds every write made so far (a write that becomes pending
  // meanwhile is not acknowledged yet, so reading around it is fine).
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> row, GetFromDb(db, keys::KvMetaKey(key)));
  return MetaOf(key, row);
}

void KvStoreImpl::PutRow(int db, rocksdb::WriteBatch* own, std::string row,
                         std::string_view value) {
  if (own != nullptr) {
    (void)own->Put(Cf(db), row, value);
    return;
  }
  pending_bytes_ += row.size() + value.size();
  Pending(db).insert_or_assign(std::move(row), std::string(value));
}

void KvStoreImpl::DeleteRow(int db, rocksdb::WriteBatch* own, std::string row) {
  if (own != nullptr) {
    (void)own->Delete(Cf(db), row);
    return;
  }
  pending_bytes_ += row.size();
  Pending(db).insert_or_assign(std::move(row), std::nullopt);
}

void KvStoreImpl::DeleteElements(int db, rocksdb::WriteBatch* own, std::string_view key,
                                 const keys::KvMeta& meta) {
  if (meta.type != KvType::kList) return;
  if (meta.head_node == meta.tail_node) {
    DeleteRow(db, own, keys::KvNodeKey(key, meta.head_node));
    return;
  }
  std::string prefix = keys::KvElementPrefix(key);
  (void)own->DeleteRange(Cf(db), prefix, keys::PrefixEnd(prefix));
}

namespace {

// Whether deleting `meta`'s elements takes a range delete (see DeleteElements).
bool NeedsRangeDelete(const keys::KvMeta& meta) {
  return meta.type == KvType::kList && meta.head_node != meta.tail_node;
}

ListEnd Opposite(ListEnd end) { return end == ListEnd::kLeft ? ListEnd::kRight : ListEnd::kLeft; }

Status BrokenList(std::string_view key) {
  return Status::Corruption("list '" + std::string(key) + "' has a missing or malformed node");
}

}  // namespace

Status KvStoreImpl::FlushLocked() {
  if (written_ticket_ == last_ticket_) return Status::Ok();
  const std::uint64_t from = written_ticket_ + 1;
  // Only the latest write of each row: a pipeline of pushes to one list rewrites its header
  // once per push, and a memtable insert is the dearest part of a write.
  // Every database's rows go in the one batch: the WAL keeps the writes in ticket order.
  std::size_t rows = 0;
  for (const PendingRows& pending : pending_) rows += pending.size();
  rocksdb::WriteBatch batch(pending_bytes_ + 32 * rows);
  for (int db = 0; db < kKvDatabases; ++db) {
    rocksdb::ColumnFamilyHandle* cf = Cf(db);  // set before the database's first write
    for (const auto& [row, value] : Pending(db)) {
      if (value) {
        (void)batch.Put(cf, row, *value);
      } else {
        (void)batch.Delete(cf, row);
      }
    }
  }
  Status status = FromRocks(db_->Write(write_options_, &batch), "write kv");
  written_ticket_ = last_ticket_;
  for (PendingRows& pending : pending_) pending.clear();
  pending_bytes_ = 0;
  has_pending_.store(false, std::memory_order_release);
  if (!status.ok()) {
    RememberFailure(from, written_ticket_, status);
    RecountAllLocked();
  }
  return status;
}

void KvStoreImpl::RecountAllLocked() {
  for (int db = 0; db < kKvDatabases; ++db) (void)CountKeysLocked(db);
}

void KvStoreImpl::RememberFailure(std::uint64_t from, std::uint64_t to, const Status& status) {
  failures_.push_back({from, to, status});
  while (failures_.size() > kMaxFailures) failures_.pop_front();
}

Status KvStoreImpl::FlushForIteration() {
  if (!has_pending_.load(std::memory_order_acquire)) return Status::Ok();
  MutexLock lock(&mu_);
  return FlushLocked();
}

Result<rocksdb::WriteBatch*> KvStoreImpl::Begin(bool direct, rocksdb::WriteBatch* own) {
  if (!direct) return static_cast<rocksdb::WriteBatch*>(nullptr);
  // The pending writes come first in the WAL: they were made first.
  HERALD_RETURN_IF_ERROR(FlushLocked());
  return own;
}

Result<std::uint64_t> KvStoreImpl::Finish(bool direct, rocksdb::WriteBatch* own,
                                          KvWriteGroup* group, std::string_view what) {
  const std::uint64_t ticket = ++last_ticket_;
  if (direct) {
    Status status = FromRocks(db_->Write(write_options_, own), what);
    written_ticket_ = ticket;
    if (!status.ok()) {
      RememberFailure(ticket, ticket, status);
      RecountAllLocked();
      return status;
    }
  } else {
    has_pending_.store(true, std::memory_order_release);
    if (group == nullptr || pending_bytes_ > kMaxPendingBytes) {
      HERALD_RETURN_IF_ERROR(FlushLocked().WithPrefix(std::string(what)));
    }
  }
  if (group != nullptr) group->Joined(ticket);
  return ticket;
}

Status KvStoreImpl::WaitDurable(std::uint64_t ticket) {
  {
    MutexLock lock(&mu_);
    if (written_ticket_ < ticket) (void)FlushLocked();
    for (const Failure& failure : failures_) {
      if (ticket >= failure.from && ticket <= failure.to) return failure.status;
    }
  }
  if (wal_syncer_ == nullptr) return Status::Ok();
  return wal_syncer_->SyncWritten().WithPrefix("sync kv writes");
}

Result<std::vector<std::string>> KvStoreImpl::ReadElements(int db, std::string_view key,
                                                           std::uint64_t from,
                                                           std::uint64_t to) const {
  std::vector<std::string> out;
  if (to <= from) return out;
  std::string lower_key = keys::KvElementKey(key, from);
  std::string upper_key = keys::KvElementKey(key, to);
  rocksdb::Slice lower(lower_key);
  rocksdb::Slice upper(upper_key);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Cf(db)));
  out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(to - from, 1 << 16)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->value().ToString());
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read list"));
  if (out.size() != to - from) {
    return Status::Corruption("list '" + std::string(key) + "' is missing elements");
  }
  return out;
}

Result<std::optional<std::string>> KvStoreImpl::Get(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(db, key));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kString) return Status::WrongType(std::string(kWrongType));
  return std::optional<std::string>(std::move(meta.value));
}

Status KvStoreImpl::Set(int db, std::string_view key, std::string_view value, KvWriteGroup* group) {
  std::uint64_t ticket = 0;
  HERALD_RETURN_IF_ERROR(EnsureCf(db));
  {
    MutexLock lock(&mu_);
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
    const bool direct = NeedsRangeDelete(meta);
    rocksdb::WriteBatch own;
    HERALD_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, Begin(direct, &own));
    DeleteElements(db, batch, key, meta);
    PutRow(db, batch, keys::KvMetaKey(key), keys::EncodeKvString(value));
    if (meta.type == KvType::kNone) ++KeyCount(db);
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(direct, &own, group, "set"));
  }
  if (group != nullptr) return Status::Ok();
  return WaitDurable(ticket);
}

Result<std::int64_t> KvStoreImpl::IncrBy(int db, std::string_view key, std::int64_t delta,
                                         KvWriteGroup* group) {
  std::uint64_t ticket = 0;
  HERALD_RETURN_IF_ERROR(EnsureCf(db));
  std::int64_t next = 0;
  {
    MutexLock lock(&mu_);
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
    if (meta.type == KvType::kList) return Status::WrongType(std::string(kWrongType));
    std::int64_t current = 0;
    if (meta.type == KvType::kString && !ParseRedisInt(meta.value, &current)) {
      return Status::InvalidArgument(std::string(kNotInteger));
    }
    if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
        (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
      return Status::InvalidArgument(std::string(kOverflow));
    }
    next = current + delta;
    PutRow(db, nullptr, keys::KvMetaKey(key), keys::EncodeKvString(std::to_string(next)));
    if (meta.type == KvType::kNone) ++KeyCount(db);
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(/*direct=*/false, nullptr, group, "incrby"));
  }
  if (group == nullptr) HERALD_RETURN_IF_ERROR(WaitDurable(ticket));
  return next;
}

Status KvStoreImpl::MSet(int db, const std::vector<std::pair<std::string, std::string>>& pairs,
                         KvWriteGroup* group) {
  std::uint64_t ticket = 0;
  HERALD_RETURN_IF_ERROR(EnsureCf(db));
  {
    MutexLock lock(&mu_);
    // Every read before the first write, so an error leaves nothing half-applied.
    std::vector<std::pair<std::string_view, keys::KvMeta>> old;
    std::set<std::string_view> seen;
    bool direct = false;
    for (const auto& [key, value] : pairs) {
      if (!seen.insert(key).second) continue;
      HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
      direct = direct || NeedsRangeDelete(meta);
      old.emplace_back(key, std::move(meta));
    }
    rocksdb::WriteBatch own;
    HERALD_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, Begin(direct, &own));
    for (const auto& [key, meta] : old) {
      DeleteElements(db, batch, key, meta);
      if (meta.type == KvType::kNone) ++KeyCount(db);
    }
    for (const auto& [key, value] : pairs) {
      PutRow(db, batch, keys::KvMetaKey(key), keys::EncodeKvString(value));
    }
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(direct, &own, group, "mset"));
  }
  if (group != nullptr) return Status::Ok();
  return WaitDurable(ticket);
}

Result<std::int64_t> KvStoreImpl::Del(int db, const std::vector<std::string>& keys,
                                      KvWriteGroup* group) {
  std::uint64_t ticket = 0;
  std::int64_t removed = 0;
  {
    MutexLock lock(&mu_);
    std::vector<std::pair<std::string_view, keys::KvMeta>> old;
    std::set<std::string_view> seen;
    bool direct = false;
    for (const auto& key : keys) {
      if (!seen.insert(key).second) continue;
      HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
      if (meta.type == KvType::kNone) continue;
      direct = direct || NeedsRangeDelete(meta);
      old.emplace_back(key, std::move(meta));
    }
    if (old.empty()) return std::int64_t{0};
    rocksdb::WriteBatch own;
    HERALD_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, Begin(direct, &own));
    for (const auto& [key, meta] : old) {
      DeleteElements(db, batch, key, meta);
      DeleteRow(db, batch, keys::KvMetaKey(key));
    }
    removed = static_cast<std::int64_t>(old.size());
    KeyCount(db) -= old.size();
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(direct, &own, group, "del"));
  }
  if (group == nullptr) HERALD_RETURN_IF_ERROR(WaitDurable(ticket));
  return removed;
}

Result<std::int64_t> KvStoreImpl::Exists(int db, const std::vector<std::string>& keys) {
  std::int64_t n = 0;
  for (const auto& key : keys) {  // Redis counts a key named twice twice
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(db, key));
    if (meta.type != KvType::kNone) ++n;
  }
  return n;
}

Result<KvType> KvStoreImpl::Type(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(db, key));
  return meta.type;
}

Result<std::vector<std::string>> KvStoreImpl::Keys(int db, std::string_view pattern) {
  if (Cf(db) == nullptr) return std::vector<std::string>();  // never written
  HERALD_RETURN_IF_ERROR(FlushForIteration());
  std::string start = keys::KvMetaKey(GlobLiteralPrefix(pattern));
  std::string end = keys::PrefixEnd(start);
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Cf(db)));
  std::vector<std::string> out;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + keys::kKvMetaPrefix.size(),
                          k.size() - keys::kKvMetaPrefix.size());
    if (Matches(pattern, name)) out.emplace_back(name);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "keys"));
  return out;
}

std::string KvStoreImpl::NewScanCursor(int db, std::string resume_key) {
  MutexLock lock(&cursor_mu_);
  std::uint64_t id = next_cursor_++;
  cursors_.emplace(id, ScanCursor{db, std::move(resume_key)});
  while (cursors_.size() > kMaxCursors) cursors_.erase(cursors_.begin());
  return std::to_string(id);
}

Result<std::pair<std::string, std::vector<std::string>>> KvStoreImpl::Scan(int db,
                                                                           std::string_view cursor,
                                                                           std::string_view pattern,
                                                                           std::uint32_t count) {
  std::string start;
  if (cursor == "0") {
    start = std::string(keys::kKvMetaPrefix);
  } else {
    std::uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), id);
    MutexLock lock(&cursor_mu_);
    auto found = cursors_.end();
    if (ec == std::errc() && ptr == cursor.data() + cursor.size()) found = cursors_.find(id);
    if (found == cursors_.end() || found->second.db != db) {
      return Status::InvalidArgument("invalid cursor");
    }
    start = found->second.resume_key;
  }
  if (count == 0) count = 10;
  if (Cf(db) == nullptr) {  // never written
    return std::make_pair(std::string("0"), std::vector<std::string>());
  }
  HERALD_RETURN_IF_ERROR(FlushForIteration());
  std::string end = keys::PrefixEnd(keys::kKvMetaPrefix);
  rocksdb::Slice lower(start);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Cf(db)));
  std::vector<std::string> out;
  std::uint32_t examined = 0;
  for (it->SeekToFirst(); it->Valid() && examined < count; it->Next(), ++examined) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + keys::kKvMetaPrefix.size(),
                          k.size() - keys::kKvMetaPrefix.size());
    if (Matches(pattern, name)) out.emplace_back(name);
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  std::string next = "0";
  if (it->Valid()) next = NewScanCursor(db, it->key().ToString());
  return std::make_pair(std::move(next), std::move(out));
}

Result<std::uint64_t> KvStoreImpl::Count(int db) {
  MutexLock lock(&mu_);
  return KeyCount(db);
}

bool KvStoreImpl::ClearRowsLocked(int first, int last, rocksdb::WriteBatch* batch) {
  // Two range deletes cover every row of a database's column family (keys.h: "k|" headers,
  // "l|" list nodes of either layout) however many keys there are; kv column families have no
  // memtable insert hint, which range tombstones would upset.
  bool any = false;
  for (int db = first; db < last; ++db) {
    rocksdb::ColumnFamilyHandle* cf = Cf(db);
    if (cf == nullptr) continue;  // never written: nothing to delete
    any = true;
    for (std::string_view prefix : {keys::kKvMetaPrefix, keys::kKvElementPrefix}) {
      (void)batch->DeleteRange(cf, prefix, keys::PrefixEnd(prefix));
    }
    KeyCount(db) = 0;  // Finish counts the keys again if the write fails
  }
  return any;
}

Status KvStoreImpl::Clear(int db) {
  std::uint64_t ticket = 0;
  {
    MutexLock lock(&mu_);
    // The pending rows reach the WAL first (Begin), so a reopen replays them before the range
    // deletes that remove them.
    rocksdb::WriteBatch own;
    HERALD_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, Begin(/*direct=*/true, &own));
    if (!ClearRowsLocked(db, db + 1, batch)) return Status::Ok();
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(/*direct=*/true, &own, nullptr, "flushdb"));
  }
  return WaitDurable(ticket);
}

Status KvStoreImpl::ClearAll() {
  std::uint64_t ticket = 0;
  {
    MutexLock lock(&mu_);
    // One batch for every database: FLUSHALL is atomic, as in Redis.
    rocksdb::WriteBatch own;
    HERALD_ASSIGN_OR_RETURN(rocksdb::WriteBatch * batch, Begin(/*direct=*/true, &own));
    (void)ClearRowsLocked(0, kKvDatabases, batch);  // database 0 always has its column family
    HERALD_ASSIGN_OR_RETURN(ticket, Finish(/*direct=*/true, &own, nullptr, "flushall"));
  }
  return WaitDurable(ticket);
}

Result<std::string*> KvStoreImpl::NodeForWrite(int db, std::string_view key,
                                               std::uint64_t node_id) {
  std::string row = keys::KvNodeKey(key, node_id);
  auto found = Pending(db).find(row);
  if (found == Pending(db).end()) {
    HERALD_ASSIGN_OR_RETURN(std::optional<std::string> stored, GetFromDb(db, row));
    if (!stored) return BrokenList(key);
    pending_bytes_ += row.size() + stored->size();
    found = Pending(db).emplace(std::move(row), std::move(stored)).first;
  }
  if (!found->second || !list_node::LooksValid(*found->second)) return BrokenList(key);
  return &*found->second;
}

Result<std::string> KvStoreImpl::NodeForRead(int db, std::string_view key, std::uint64_t node_id) {
  HERALD_ASSIGN_OR_RETURN(std::optional<std::string> node,
                          GetLocked(db, keys::KvNodeKey(key, node_id)));
  if (!node || !list_node::LooksValid(*node)) return BrokenList(key);
  return std::move(*node);
}

Status KvStoreImpl::PushOne(int db, std::string_view key, keys::KvMeta* meta,
                            std::string_view value, ListEnd end) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t& end_node = left ? meta->head_node : meta->tail_node;
  if (end_node != 0) {
    HERALD_ASSIGN_OR_RETURN(std::string * node, NodeForWrite(db, key, end_node));
    if (list_node::RoomFor(*node, value)) {
      list_node::Push(node, end, value);
      pending_bytes_ += value.size() + 10;
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
  PutRow(db, nullptr, keys::KvNodeKey(key, id), fresh);
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

Result<std::string> KvStoreImpl::PopOne(int db, std::string_view key, keys::KvMeta* meta,
                                        ListEnd end) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t& end_node = left ? meta->head_node : meta->tail_node;
  const std::uint64_t id = end_node;
  HERALD_ASSIGN_OR_RETURN(std::string * node, NodeForWrite(db, key, id));
  std::string value;
  if (!list_node::Pop(node, end, &value)) return BrokenList(key);
  if (list_node::Count(*node) == 0) {
    end_node = list_node::Link(*node, Opposite(end));
    DeleteRow(db, nullptr, keys::KvNodeKey(key, id));  // `node` is gone from here on
  }
  if (left) {
    ++meta->head;
  } else {
    --meta->tail;
  }
  return value;
}

Result<std::int64_t> KvStoreImpl::Push(int db, std::string_view key,
                                       const std::vector<std::string>& values, ListEnd end,
                                       KvWriteGroup* group) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t ticket = 0;
  std::int64_t length = 0;
  HERALD_RETURN_IF_ERROR(EnsureCf(db));
  {
    MutexLock lock(&mu_);
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
    if (meta.type == KvType::kString) return Status::WrongType(std::string(kWrongType));
    bool created = meta.type == KvType::kNone;
    if (created) {
      meta = keys::KvMeta{};
      meta.type = KvType::kList;
      meta.head = meta.tail = keys::kListStart;
    }
    if (values.empty()) return static_cast<std::int64_t>(meta.tail - meta.head);
    for (const auto& v : values) HERALD_RETURN_IF_ERROR(PushOne(db, key, &meta, v, end));
    PutRow(db, nullptr, keys::KvMetaKey(key), keys::EncodeKvList(meta));
    if (created) ++KeyCount(db);
    length = static_cast<std::int64_t>(meta.tail - meta.head);
    HERALD_ASSIGN_OR_RETURN(ticket,
                            Finish(/*direct=*/false, nullptr, group, left ? "lpush" : "rpush"));
  }
  if (group == nullptr) HERALD_RETURN_IF_ERROR(WaitDurable(ticket));
  return length;
}

Result<std::vector<std::string>> KvStoreImpl::Pop(int db, std::string_view key, std::uint32_t count,
                                                  ListEnd end, KvWriteGroup* group) {
  const bool left = end == ListEnd::kLeft;
  std::uint64_t ticket = 0;
  std::vector<std::string> values;
  {
    MutexLock lock(&mu_);
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
    if (meta.type == KvType::kNone) return std::vector<std::string>();
    if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
    std::uint64_t n = std::min<std::uint64_t>(count, meta.tail - meta.head);
    if (n == 0) return std::vector<std::string>();
    values.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 16)));
    for (std::uint64_t i = 0; i < n; ++i) {
      HERALD_ASSIGN_OR_RETURN(std::string value, PopOne(db, key, &meta, end));
      values.push_back(std::move(value));
    }
    if (meta.head == meta.tail) {
      DeleteRow(db, nullptr, keys::KvMetaKey(key));
      --KeyCount(db);
    } else {
      PutRow(db, nullptr, keys::KvMetaKey(key), keys::EncodeKvList(meta));
    }
    HERALD_ASSIGN_OR_RETURN(ticket,
                            Finish(/*direct=*/false, nullptr, group, left ? "lpop" : "rpop"));
  }
  if (group == nullptr) HERALD_RETURN_IF_ERROR(WaitDurable(ticket));
  return values;
}

Result<std::int64_t> KvStoreImpl::Len(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMeta(db, key));
  if (meta.type == KvType::kNone) return std::int64_t{0};
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
  return static_cast<std::int64_t>(meta.tail - meta.head);
}

Result<std::vector<std::string>> KvStoreImpl::Range(int db, std::string_view key,
                                                    std::int64_t start, std::int64_t stop) {
  MutexLock lock(&mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
  if (meta.type == KvType::kNone) return std::vector<std::string>();
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
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

Result<std::optional<std::string>> KvStoreImpl::Index(int db, std::string_view key,
                                                      std::int64_t index) {
  MutexLock lock(&mu_);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, ReadMetaLocked(db, key));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kList) return Status::WrongType(std::string(kWrongType));
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

Status KvStoreImpl::UpgradeElementRowLists(
    int db, const std::vector<std::pair<std::string, keys::KvMeta>>& lists) {
  for (const auto& [key, old_meta] : lists) {
    HERALD_ASSIGN_OR_RETURN(std::vector<std::string> values,
                            ReadElements(db, key, old_meta.head, old_meta.tail));
    keys::KvMeta meta;
    meta.type = KvType::kList;
    meta.head = meta.tail = keys::kListStart;
    for (const auto& v : values)
      HERALD_RETURN_IF_ERROR(PushOne(db, key, &meta, v, ListEnd::kRight));
    // One batch per list: the old rows go, the nodes (now pending) and header come.
    rocksdb::WriteBatch batch;
    std::string prefix = keys::KvElementPrefix(key);
    (void)batch.DeleteRange(Cf(db), prefix, keys::PrefixEnd(prefix));
    for (const auto& [row, value] : Pending(db)) (void)batch.Put(Cf(db), row, *value);
    (void)batch.Put(Cf(db), keys::KvMetaKey(key), keys::EncodeKvList(meta));
    Pending(db).clear();
    pending_bytes_ = 0;
    HERALD_RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch), "upgrade list"));
  }
  return Status::Ok();
}

}  // namespace herald::storage
