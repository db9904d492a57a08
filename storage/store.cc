#include "storage/store.h"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdlib>

#include "storage/active_jobs.h"
#include "storage/bulk_transitions.h"
#include "storage/completed_retention.h"
#include "storage/database.h"
#include "storage/everysec_syncer.h"
#include "storage/id_locks.h"
#include "storage/index_scanner.h"
#include "storage/job_adder.h"
#include "storage/job_lister.h"
#include "storage/job_reader.h"
#include "storage/job_taker.h"
#include "storage/job_transitions.h"
#include "storage/kv_store_impl.h"
#include "storage/queue_recovery.h"
#include "storage/queue_registry.h"
#include "storage/quote.h"
#include "storage/record_tables.h"
#include "storage/rocks_store.h"
#include "storage/sequence_allocator.h"
#include "storage/wall_clock.h"

namespace herald::storage {

std::string_view FsyncModeName(FsyncMode mode) {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kEverysec:
      return "everysec";
    case FsyncMode::kNo:
      return "no";
  }
  return "unknown";
}

Result<FsyncMode> ParseFsyncMode(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "always") return FsyncMode::kAlways;
  if (lower == "everysec") return FsyncMode::kEverysec;
  if (lower == "no") return FsyncMode::kNo;
  return Status::InvalidArgument("unknown fsync mode " + Quote(name) +
                                 " (expected always, everysec or no)");
}

// The units of the store, wired together; each borrows the ones declared before it.
class StoreUnits {
 public:
  StoreUnits(StoreOptions options, std::shared_ptr<spdlog::logger> log,
             std::unique_ptr<Database> database)
      : options_(std::move(options)),
        log_(std::move(log)),
        database_(std::move(database)),
        sequence_(database_.get()),
        registry_(database_.get(), log_),
        scanner_(database_.get(), log_),
        reader_(database_.get(), &active_jobs_),
        bulk_(database_.get(), &registry_, &id_locks_, &reader_, &scanner_, log_),
        retention_(options_.completed_retention, database_.get(), &id_locks_, &scanner_, &bulk_,
                   log_),
        taker_(database_.get(), &registry_, &id_locks_, &reader_, &scanner_, &active_jobs_, log_),
        adder_(database_.get(), &registry_, &id_locks_, &reader_, &sequence_, &scanner_),
        transitions_({database_.get(), &registry_, &id_locks_, &reader_, &scanner_, &taker_,
                      &retention_, &active_jobs_}),
        lister_(database_.get(), &registry_, &reader_, &active_jobs_),
        records_(database_.get()) {}

  // Closing: the background sync stops, the lists and strings write out what is pending,
  // and the group commit finishes the asynchronous adds still queued (their callbacks use the
  // units), all before any unit goes away.
  ~StoreUnits() {
    everysec_.reset();
    kv_.reset();
    database_->EndGroupCommit();
  }

  // Open's recovery and background work: sequence numbers, queues, active jobs put back,
  // then the group commit, the lists and strings, and the everysec syncer.
  Status Start();

  const StoreOptions& options() const { return options_; }
  Database& database() { return *database_; }
  QueueRegistry& registry() { return registry_; }
  const JobReader& reader() const { return reader_; }
  BulkTransitions& bulk() { return bulk_; }
  JobTaker& taker() { return taker_; }
  JobAdder& adder() { return adder_; }
  JobTransitions& transitions() { return transitions_; }
  const JobLister& lister() const { return lister_; }
  RecordTables& records() { return records_; }
  KvStoreImpl& kv() { return *kv_; }
  std::uint64_t recovered_active() const { return recovered_active_; }

 private:
  const StoreOptions options_;
  const std::shared_ptr<spdlog::logger> log_;
  const std::unique_ptr<Database> database_;
  IdLocks id_locks_;
  ActiveJobs active_jobs_;
  SequenceAllocator sequence_;
  QueueRegistry registry_;
  IndexScanner scanner_;
  JobReader reader_;
  BulkTransitions bulk_;
  CompletedRetention retention_;
  JobTaker taker_;
  JobAdder adder_;
  JobTransitions transitions_;
  JobLister lister_;
  RecordTables records_;
  std::unique_ptr<KvStoreImpl> kv_;
  std::unique_ptr<EverysecSyncer> everysec_;  // `everysec` mode only
  std::uint64_t recovered_active_ = 0;        // written by Start only
};

Status StoreUnits::Start() {
  HERALD_RETURN_IF_ERROR(sequence_.Load());
  HERALD_ASSIGN_OR_RETURN(std::vector<QueueState*> queues, registry_.Load());
  QueueRecovery recovery(database_.get(), &reader_, &scanner_, &retention_, log_);
  std::int64_t now_ms = WallClockMs();
  for (QueueState* qs : queues) {
    HERALD_RETURN_IF_ERROR(recovery.Recover(qs, now_ms).WithPrefix("queue " + qs->name()));
  }
  recovered_active_ = recovery.recovered_active();

  if (options_.fsync == FsyncMode::kAlways) database_->EnableGroupCommit();
  Database* database = database_.get();
  HERALD_ASSIGN_OR_RETURN(
      kv_, KvStoreImpl::Open(database->db(), database->kv_cfs(), database->wal_syncer(),
                             [database](int db) { return database->CreateKvColumnFamily(db); }));
  if (options_.fsync == FsyncMode::kEverysec) {
    everysec_ = std::make_unique<EverysecSyncer>([database] { return database->SyncWal(); }, log_);
  }
  log_->info("store: opened {} (fsync {}, {} queues, {} active jobs recovered)", options_.data_dir,
             FsyncModeName(options_.fsync), queues.size(), recovered_active_);
  return Status::Ok();
}

// ---- Store: each call is one unit's ----------------------------------------------------------

Result<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  if (options.logger == nullptr) return Status::InvalidArgument("StoreOptions::logger is null");
  std::shared_ptr<spdlog::logger> log = options.logger;
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<Database> database, Database::Open(options, log));
  auto units =
      std::make_unique<StoreUnits>(std::move(options), std::move(log), std::move(database));
  HERALD_RETURN_IF_ERROR(units->Start());
  return std::unique_ptr<Store>(new RocksStore(std::move(units)));
}

Store::~Store() = default;

KvStore& Store::kv() {
  Result<KvStore*> db = kv(0);
  if (!db.ok()) {
    spdlog::critical("lists and strings asked of a store without them: {}", db.status().ToString());
    std::abort();
  }
  return **db;
}

RocksStore::RocksStore(std::unique_ptr<StoreUnits> units) : impl_(std::move(units)) {}
RocksStore::~RocksStore() = default;

const StoreOptions& RocksStore::options() const { return impl_->options(); }

Status RocksStore::EnsureQueue(std::string_view queue) { return impl_->registry().Ensure(queue); }
bool RocksStore::HasQueue(std::string_view queue) const {
  return impl_->registry().Find(queue) != nullptr;
}
std::vector<std::string> RocksStore::ListQueues() const { return impl_->registry().Names(); }

Result<AddResult> RocksStore::Add(std::string_view queue, NewJob job, std::int64_t now_ms) {
  return impl_->adder().Add(queue, std::move(job), now_ms);
}

Result<std::vector<AddResult>> RocksStore::AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                                   std::int64_t now_ms) {
  return impl_->adder().AddMany(queue, std::move(jobs), now_ms);
}

Result<AddResult> RocksStore::Import(std::string_view queue, Job job) {
  return impl_->adder().Import(queue, std::move(job));
}

void RocksStore::AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                          std::function<void(Result<AddResult>)> done) {
  impl_->adder().AddAsync(queue, std::move(job), now_ms, std::move(done));
}

Result<std::optional<Job>> RocksStore::Take(std::string_view queue, std::int64_t now_ms,
                                            std::string_view worker) {
  return impl_->taker().Take(queue, now_ms, worker);
}

Result<std::vector<Job>> RocksStore::TakeMany(std::string_view queue, std::size_t max,
                                              std::int64_t now_ms, std::string_view worker) {
  return impl_->taker().TakeMany(queue, max, now_ms, worker);
}

Result<Job> RocksStore::Complete(std::string_view id, std::string return_value,
                                 std::int64_t now_ms) {
  return impl_->transitions().Complete(id, std::move(return_value), now_ms);
}

std::vector<Result<Job>> RocksStore::CompleteMany(std::vector<Completion> completions,
                                                  std::int64_t now_ms) {
  return impl_->transitions().CompleteMany(std::move(completions), now_ms);
}

CompleteAndTakeResult RocksStore::CompleteAndTake(Completion done, std::string_view next_queue,
                                                  std::int64_t now_ms, std::string_view worker) {
  return impl_->transitions().CompleteAndTake(std::move(done), next_queue, now_ms, worker);
}

Result<Job> RocksStore::FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                                  std::int64_t now_ms) {
  return impl_->transitions().FailRetry(id, std::move(error), due_ms, now_ms);
}

Result<Job> RocksStore::FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                                  AttemptOutcome outcome) {
  return impl_->transitions().FailFinal(id, std::move(error), now_ms, outcome);
}

Result<Job> RocksStore::Requeue(std::string_view id, std::string reason, std::int64_t now_ms) {
  return impl_->transitions().Requeue(id, std::move(reason), now_ms);
}

Result<Job> RocksStore::Retry(std::string_view id, std::int64_t /*now_ms*/) {
  return impl_->transitions().Retry(id);
}

Result<std::uint64_t> RocksStore::RetryAllFailed(std::string_view queue, std::int64_t /*now_ms*/,
                                                 std::vector<Job>* retried) {
  return impl_->bulk().RetryAllFailed(queue, retried);
}

Result<Job> RocksStore::Promote(std::string_view id, std::int64_t /*now_ms*/) {
  return impl_->transitions().Promote(id);
}

Result<std::uint64_t> RocksStore::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                             std::uint64_t limit, std::vector<Job>* promoted) {
  return impl_->bulk().PromoteDue(queue, now_ms, limit, promoted);
}

std::optional<std::int64_t> RocksStore::NextDue(std::string_view queue) const {
  return impl_->registry().NextDue(queue);
}

Status RocksStore::Delete(std::string_view id) { return impl_->transitions().Delete(id); }

Result<std::uint64_t> RocksStore::Clean(std::string_view queue, JobState state,
                                        std::int64_t older_than_ms, std::uint64_t limit,
                                        std::vector<Job>* cleaned) {
  return impl_->bulk().Clean(queue, state, older_than_ms, limit, cleaned);
}

Result<Job> RocksStore::Get(std::string_view id) const { return impl_->reader().Read(id); }

Result<QueueCounts> RocksStore::Counts(std::string_view queue) const {
  return impl_->registry().Counts(queue);
}

Result<JobPage> RocksStore::List(std::string_view queue, JobState state, std::string_view cursor,
                                 std::uint32_t count) const {
  return impl_->lister().List(queue, state, cursor, count);
}

std::uint64_t RocksStore::recovered_active() const { return impl_->recovered_active(); }

Status RocksStore::SetPaused(std::string_view queue, bool paused) {
  return impl_->registry().SetPaused(queue, paused);
}

bool RocksStore::IsPaused(std::string_view queue) const {
  return impl_->registry().IsPaused(queue);
}

Status RocksStore::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  return impl_->records().Put(table, key, value);
}

Result<std::optional<std::string>> RocksStore::GetRecord(RecordTable table,
                                                         std::string_view key) const {
  return impl_->records().Get(table, key);
}

Status RocksStore::DeleteRecord(RecordTable table, std::string_view key) {
  return impl_->records().Delete(table, key);
}

Result<std::vector<std::pair<std::string, std::string>>> RocksStore::ScanRecords(
    RecordTable table, std::string_view prefix, std::uint32_t limit, ScanOrder order) const {
  return impl_->records().Scan(table, prefix, limit, order);
}

Result<std::vector<std::pair<std::string, std::string>>> RocksStore::ScanRecordsAfter(
    RecordTable table, std::string_view after, std::uint32_t limit) const {
  return impl_->records().ScanAfter(table, after, limit);
}

Result<KvStore*> RocksStore::kv(int db) {
  if (db < 0 || db >= kKvDatabases) return Status::InvalidArgument("DB index is out of range");
  return &impl_->kv().database(db);
}

Status RocksStore::ClearKv() { return impl_->kv().ClearAll(); }

// One process writes this store: there is no work made elsewhere to hear of.
void RocksStore::SetWorkListener(WorkListener /*listener*/) {}

Status RocksStore::SyncWal() { return impl_->database().SyncWal(); }

FsyncMode RocksStore::fsync_mode() const { return impl_->options().fsync; }

bool RocksStore::AllDurable() const {
  const WalSyncer* syncer = impl_->database().wal_syncer();
  return syncer == nullptr || (!impl_->kv().has_pending() && syncer->AllSynced());
}

std::uint64_t RocksStore::WalSyncs() const {
  const WalSyncer* syncer = impl_->database().wal_syncer();
  return syncer == nullptr ? 0 : syncer->syncs();
}

std::uint64_t RocksStore::Writes() const { return impl_->database().writes(); }

Status RocksStore::WriteHealth() const { return impl_->database().WriteHealth(); }

std::uint64_t RocksStore::WriteFailures() const { return impl_->database().write_failures(); }

void RocksStore::SyncAsync(std::function<void(Status)> done, std::size_t waiters) {
  WalSyncer* syncer = impl_->database().wal_syncer();
  Status written = impl_->kv().WritePending();
  if (!written.ok()) impl_->database().NoteWriteOutcome(written);
  if (syncer == nullptr || !written.ok()) return done(std::move(written));
  // A failed sync fails the writes it covers: the store's health says so (readiness).
  syncer->SyncAsync(
      [database = &impl_->database(), done = std::move(done)](Status synced) {
        database->NoteWriteOutcome(synced);
        done(std::move(synced));
      },
      waiters);
}

Status RocksStore::Checkpoint(const std::string& dir) { return impl_->database().Checkpoint(dir); }

Status RocksStore::VerifyChecksums() const { return impl_->database().VerifyChecksums(); }

std::uint64_t RocksStore::DiskBytes() const { return impl_->database().DiskBytes(); }

std::uint64_t RocksStore::MemtableBytes() const { return impl_->database().MemtableBytes(); }

}  // namespace herald::storage
