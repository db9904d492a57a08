#include "storage/kv_store.h"

#include <string>
#include <utility>

#include "storage/kv_store_impl.h"

namespace herald::storage {

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

// Database `db`'s KvStore: each call goes to the part of the KvStoreImpl that does it (for
// every database), with `db`.
class KvDatabase final : public KvStore {
 public:
  KvDatabase(KvWritePipeline* pipeline, KvStrings* strings, KvLists* lists, KvKeyspace* keyspace,
             int db)
      : pipeline_(pipeline), strings_(strings), lists_(lists), keyspace_(keyspace), db_(db) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    return strings_->Get(db_, key);
  }
  Status Set(std::string_view key, std::string_view value, KvWriteGroup* group) override {
    return strings_->Set(db_, key, value, group);
  }
  Result<std::int64_t> IncrBy(std::string_view key, std::int64_t delta,
                              KvWriteGroup* group) override {
    return strings_->IncrBy(db_, key, delta, group);
  }
  Status MSet(const std::vector<std::pair<std::string, std::string>>& pairs,
              KvWriteGroup* group) override {
    return strings_->MSet(db_, pairs, group);
  }
  Result<std::int64_t> Del(const std::vector<std::string>& keys, KvWriteGroup* group) override {
    return keyspace_->Del(db_, keys, group);
  }
  Result<std::int64_t> Exists(const std::vector<std::string>& keys) override {
    return keyspace_->Exists(db_, keys);
  }
  Result<KvType> Type(std::string_view key) override { return keyspace_->Type(db_, key); }
  Result<std::vector<std::string>> Keys(std::string_view pattern) override {
    return keyspace_->Keys(db_, pattern);
  }
  Result<std::pair<std::string, std::vector<std::string>>> Scan(std::string_view cursor,
                                                                std::string_view pattern,
                                                                std::uint32_t count) override {
    return keyspace_->Scan(db_, cursor, pattern, count);
  }
  Result<std::uint64_t> Count() override { return keyspace_->Count(db_); }
  Status Clear() override { return keyspace_->Clear(db_); }
  Result<std::int64_t> Push(std::string_view key, const std::vector<std::string>& values,
                            ListEnd end, KvWriteGroup* group) override {
    return lists_->Push(db_, key, values, end, group);
  }
  Result<std::vector<std::string>> Pop(std::string_view key, std::uint32_t count, ListEnd end,
                                       KvWriteGroup* group) override {
    return lists_->Pop(db_, key, count, end, group);
  }
  Result<std::int64_t> Len(std::string_view key) override { return lists_->Len(db_, key); }
  Result<std::vector<std::string>> Range(std::string_view key, std::int64_t start,
                                         std::int64_t stop) override {
    return lists_->Range(db_, key, start, stop);
  }
  Result<std::optional<std::string>> Index(std::string_view key, std::int64_t index) override {
    return lists_->Index(db_, key, index);
  }

 private:
  // Tickets count the writes of every database: any database's view commits a group.
  Status WaitDurable(std::uint64_t ticket) override { return pipeline_->WaitDurable(ticket); }

  KvWritePipeline* const pipeline_;
  KvStrings* const strings_;
  KvLists* const lists_;
  KvKeyspace* const keyspace_;
  const int db_;
};

}  // namespace

KvStoreImpl::KvStoreImpl(rocksdb::DB* db,
                         const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
                         WalSyncer* wal_syncer, CreateCf create_cf)
    : pipeline_(db, cfs, wal_syncer, std::move(create_cf)),
      strings_(&pipeline_),
      lists_(&pipeline_),
      keyspace_(&pipeline_) {
  for (int n = 0; n < kKvDatabases; ++n) {
    views_.push_back(std::make_unique<KvDatabase>(&pipeline_, &strings_, &lists_, &keyspace_, n));
  }
}

Result<std::unique_ptr<KvStoreImpl>> KvStoreImpl::Open(
    rocksdb::DB* db, const std::array<rocksdb::ColumnFamilyHandle*, kKvDatabases>& cfs,
    WalSyncer* wal_syncer, CreateCf create_cf) {
  if (cfs[0] == nullptr) return Status::InvalidArgument("database 0 needs its column family");
  std::unique_ptr<KvStoreImpl> kv(new KvStoreImpl(db, cfs, wal_syncer, std::move(create_cf)));
  // The upgrades of every database become durable together, once.
  KvWriteGroup upgrades(&kv->database(0));
  for (int n = 0; n < kKvDatabases; ++n) {
    if (kv->pipeline_.Cf(n) == nullptr) continue;
    std::vector<std::pair<std::string, keys::KvMeta>> element_row_lists;
    {
      MutexLock lock(kv->pipeline_.mu());
      HERALD_RETURN_IF_ERROR(kv->pipeline_.CountKeysLocked(n, &element_row_lists));
    }
    HERALD_RETURN_IF_ERROR(kv->lists_.UpgradeElementRowLists(n, element_row_lists, &upgrades));
  }
  HERALD_RETURN_IF_ERROR(upgrades.Commit());
  return kv;
}

}  // namespace herald::storage
