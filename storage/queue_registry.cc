#include "storage/queue_registry.h"

#include <spdlog/logger.h>

#include <set>

#include "storage/bounded_iterator.h"
#include "storage/job_rules.h"
#include "storage/keys.h"
#include "storage/quote.h"
#include "storage/wall_clock.h"

namespace herald::storage {

Result<std::vector<std::string>> QueueRegistry::ReadRows() const {
  std::vector<std::string> registered;
  BoundedIterator it(database_->db(), database_->meta(), std::string(keys::kQueueRegistryPrefix),
                     keys::PrefixEnd(keys::kQueueRegistryPrefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    registered.push_back(it->key().ToString().substr(keys::kQueueRegistryPrefix.size()));
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "read queue registry"));
  return registered;
}

Result<std::vector<QueueState*>> QueueRegistry::Load() {
  HERALD_ASSIGN_OR_RETURN(std::vector<std::string> rows, ReadRows());
  std::set<std::string> registered(rows.begin(), rows.end());
  std::vector<rocksdb::ColumnFamilyHandle*> kept;
  std::set<std::string> have;
  for (auto* h : database_->queue_cfs()) {
    std::string queue(*keys::QueueOfCfName(h->GetName()));
    if (registered.count(queue) == 0) {
      // Created, then the process died before its registry row was written.
      log_->warn("store: dropping column family {} (no registry row)", h->GetName());
      HERALD_RETURN_IF_ERROR(database_->DropColumnFamily(h));
      continue;
    }
    kept.push_back(h);
    have.insert(queue);
  }
  for (const auto& queue : registered) {
    if (have.count(queue) != 0) continue;
    log_->warn("store: recreating column family for registered queue {}", queue);
    HERALD_ASSIGN_OR_RETURN(
        rocksdb::ColumnFamilyHandle * h,
        database_->CreateColumnFamily(keys::QueueCfName(queue), database_->tuning().queue(),
                                      "create " + queue));
    HERALD_RETURN_IF_ERROR(
        database_->PutSynced(h, keys::kCountedKey, keys::EncodeFlag(true), "create " + queue));
    kept.push_back(h);
  }

  MutexLock lock(&mu_);
  for (auto* h : kept) {
    std::string queue(*keys::QueueOfCfName(h->GetName()));
    queues_.emplace(queue, std::make_unique<QueueState>(queue, h));
  }
  std::vector<QueueState*> loaded;
  loaded.reserve(queues_.size());
  for (const auto& [name, qs] : queues_) loaded.push_back(qs.get());
  return loaded;
}

QueueState* QueueRegistry::Find(std::string_view queue) const {
  MutexLock lock(&mu_);
  auto it = queues_.find(queue);
  return it == queues_.end() ? nullptr : it->second.get();
}

Result<QueueState*> QueueRegistry::Require(std::string_view queue) const {
  QueueState* qs = Find(queue);
  if (qs == nullptr) return Status::NotFound("unknown queue " + Quote(queue));
  return qs;
}

std::vector<std::string> QueueRegistry::Names() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(queues_.size());
  for (const auto& [name, qs] : queues_) out.push_back(name);
  return out;
}

Status QueueRegistry::Ensure(std::string_view queue) {
  HERALD_RETURN_IF_ERROR(ValidateQueueName(queue));
  if (Find(queue) != nullptr) return Status::Ok();
  MutexLock ensure(&ensure_mu_);
  if (Find(queue) != nullptr) return Status::Ok();
  // Column family first, registry row second: a crash in between leaves a column family
  // without a row, which the next open drops.
  HERALD_ASSIGN_OR_RETURN(
      rocksdb::ColumnFamilyHandle * h,
      database_->CreateColumnFamily(keys::QueueCfName(queue), database_->tuning().queue(),
                                    "create queue " + std::string(queue)));
  // An empty queue's counters are all 0: kept from the first change on (keys.h, "m|n|").
  Status s = database_->PutSynced(h, keys::kCountedKey, keys::EncodeFlag(true),
                                  "create queue " + std::string(queue));
  if (s.ok()) {
    s = database_->PutSynced(database_->meta(), keys::QueueRegistryKey(queue),
                             keys::EncodeQueueRow(WallClockMs()),
                             "register queue " + std::string(queue));
  }
  if (!s.ok()) {
    Status dropped = database_->DropColumnFamily(h);
    if (!dropped.ok()) log_->error("store: drop after failed create: {}", dropped.ToString());
    return s;
  }
  {
    MutexLock lock(&mu_);
    queues_.emplace(std::string(queue), std::make_unique<QueueState>(std::string(queue), h));
  }
  log_->info("store: created queue {}", queue);
  return Status::Ok();
}

Result<QueueCounts> QueueRegistry::Counts(std::string_view queue) const {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, Require(queue));
  MutexLock lock(&qs->mu());
  return qs->counts();
}

Status QueueRegistry::SetPaused(std::string_view queue, bool paused) {
  HERALD_ASSIGN_OR_RETURN(QueueState * qs, Require(queue));
  // Under the queue's mutex so that two calls can't leave memory and disk disagreeing.
  MutexLock lock(&qs->mu());
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(
      FromRocks(batch.Put(qs->cf(), keys::kPausedKey, keys::EncodeFlag(paused)), "pause"));
  HERALD_RETURN_IF_ERROR(database_->Write(&batch, "pause " + qs->name()));
  qs->counts().paused = paused;
  return Status::Ok();
}

bool QueueRegistry::IsPaused(std::string_view queue) const {
  QueueState* qs = Find(queue);
  if (qs == nullptr) return false;
  MutexLock lock(&qs->mu());
  return qs->counts().paused;
}

std::optional<std::int64_t> QueueRegistry::NextDue(std::string_view queue) const {
  QueueState* qs = Find(queue);
  if (qs == nullptr) return std::nullopt;
  MutexLock lock(&qs->mu());
  if (!qs->delayed().HasAhead()) return std::nullopt;
  return keys::TimeOfIndexKey(qs->delayed().Front().key);
}

}  // namespace herald::storage
