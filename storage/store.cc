#include "storage/store.h"

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <cctype>

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
class Store::Impl {
 public:
  Impl(StoreOptions options, std::shared_ptr<spdlog::logger> log,
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
  ~Impl() {
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

Status Store::Impl::Start() {
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
  std::shared_ptr<spdlog::logger> log = options.logger ? options.logger : spdlog::default_logger();
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<Database> database, Database::Open(options, log));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(log), std::move(database));
  HERALD_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const StoreOptions& Store::options() const { return impl_->options(); }

Status Store::EnsureQueue(std::string_view queue) { return impl_->registry().Ensure(queue); }
bool Store::HasQueue(std::string_view queue) const {
  return impl_->registry().Find(queue) != nullptr;
}
std::vector<std::string> Store::ListQueues() const { return impl_->registry().Names(); }

Result<AddResult> Store::Add(std::string_view queue, NewJob job, std::int64_t now_ms) {
  return impl_->adder().Add(queue, std::move(job), now_ms);
}

Result<std::vector<AddResult>> Store::AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                              std::int64_t now_ms) {
  return impl_->adder().AddMany(queue, std::move(jobs), now_ms);
}

Result<AddResult> Store::Import(std::string_view queue, Job job) {
  return impl_->adder().Import(queue, std::move(job));
}

void Store::AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                     std::function<void(Result<AddResult>)> done) {
  impl_->adder().AddAsync(queue, std::move(job), now_ms, std::move(done));
}

Result<std::optional<Job>> Store::Take(std::string_view queue, std::int64_t now_ms,
                                       std::string_view worker) {
  return impl_->taker().Take(queue, now_ms, worker);
}

Result<std::vector<Job>> Store::TakeMany(std::string_view queue, std::size_t max,
                                         std::int64_t now_ms, std::string_view worker) {
  return impl_->taker().TakeMany(queue, max, now_ms, worker);
}

Result<Job> Store::Complete(std::string_view id, std::string return_value, std::int64_t now_ms) {
  return impl_->transitions().Complete(id, std::move(return_value), now_ms);
}

std::vector<Result<Job>> Store::CompleteMany(std::vector<Completion> completions,
                                             std::int64_t now_ms) {
  return impl_->transitions().CompleteMany(std::move(completions), now_ms);
}

CompleteAndTakeResult Store::CompleteAndTake(Completion done, std::string_view next_queue,
                                             std::int64_t now_ms, std::string_view worker) {
  return impl_->transitions().CompleteAndTake(std::move(done), next_queue, now_ms, worker);
}

Result<Job> Store::FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                             std::int64_t now_ms) {
  return impl_->transitions().FailRetry(id, std::move(error), due_ms, now_ms);
}

Result<Job> Store::FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                             AttemptOutcome outcome) {
  return impl_->transitions().FailFinal(id, std::move(error), now_ms, outcome);
}

Result<Job> Store::Requeue(std::string_view id, std::string reason, std::int64_t now_ms) {
  return impl_->transitions().Requeue(id, std::move(reason), now_ms);
}

Result<Job> Store::Retry(std::string_view id, std::int64_t /*now_ms*/) {
  return impl_->transitions().Retry(id);
}

Result<std::uint64_t> Store::RetryAllFailed(std::string_view queue, std::int64_t /*now_ms*/,
                                            std::vector<Job>* retried) {
  return impl_->bulk().RetryAllFailed(queue, retried);
}

Result<Job> Store::Promote(std::string_view id, std::int64_t /*now_ms*/) {
  return impl_->transitions().Promote(id);
}

Result<std::uint64_t> Store::PromoteDue(std::string_view queue, std::int64_t now_ms,
                                        std::uint64_t limit, std::vector<Job>* promoted) {
  return impl_->bulk().PromoteDue(queue, now_ms, limit, promoted);
}

std::optional<std::int64_t> Store::NextDue(std::string_view queue) const {
  return impl_->registry().NextDue(queue);
}

Status Store::Delete(std::string_view id) { return impl_->transitions().Delete(id); }

Result<std::uint64_t> Store::Clean(std::string_view queue, JobState state,
                                   std::int64_t older_than_ms, std::uint64_t limit,
                                   std::vector<Job>* cleaned) {
  return impl_->bulk().Clean(queue, state, older_than_ms, limit, cleaned);
}

Result<Job> Store::Get(std::string_view id) const { return impl_->reader().Read(id); }

Result<QueueCounts> Store::Counts(std::string_view queue) const {
  return impl_->registry().Counts(queue);
}

Result<JobPage> Store::List(std::string_view queue, JobState state, std::string_view cursor,
                            std::uint32_t count) const {
  return impl_->lister().List(queue, state, cursor, count);
}

std::uint64_t Store::recovered_active() const { return impl_->recovered_active(); }

Status Store::SetPaused(std::string_view queue, bool paused) {
  return impl_->registry().SetPaused(queue, paused);
}

bool Store::IsPaused(std::string_view queue) const { return impl_->registry().IsPaused(queue); }

Status Store::PutRecord(RecordTable table, std::string_view key, std::string_view value) {
  return impl_->records().Put(table, key, value);
}

Result<std::optional<std::string>> Store::GetRecord(RecordTable table, std::string_view key) const {
  return impl_->records().Get(table, key);
}

Status Store::DeleteRecord(RecordTable table, std::string_view key) {
  return impl_->records().Delete(table, key);
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ScanRecords(RecordTable table,
                                                                            std::string_view prefix,
                                                                            std::uint32_t limit,
                                                                            ScanOrder order) const {
  return impl_->records().Scan(table, prefix, limit, order);
}

Result<std::vector<std::pair<std::string, std::string>>> Store::ScanRecordsAfter(
    RecordTable table, std::string_view after, std::uint32_t limit) const {
  return impl_->records().ScanAfter(table, after, limit);
}

KvStore& Store::kv() { return impl_->kv().database(0); }

Result<KvStore*> Store::kv(int db) {
  if (db < 0 || db >= kKvDatabases) return Status::InvalidArgument("DB index is out of range");
  return &impl_->kv().database(db);
}

Status Store::ClearKv() { return impl_->kv().ClearAll(); }

Status Store::SyncWal() { return impl_->database().SyncWal(); }

FsyncMode Store::fsync_mode() const { return impl_->options().fsync; }

bool Store::AllDurable() const {
  const WalSyncer* syncer = impl_->database().wal_syncer();
  return syncer == nullptr || (!impl_->kv().has_pending() && syncer->AllSynced());
}

std::uint64_t Store::WalSyncs() const {
  const WalSyncer* syncer = impl_->database().wal_syncer();
  return syncer == nullptr ? 0 : syncer->syncs();
}

std::uint64_t Store::Writes() const { return impl_->database().writes(); }

Status Store::WriteHealth() const { return impl_->database().WriteHealth(); }

std::uint64_t Store::WriteFailures() const { return impl_->database().write_failures(); }

void Store::SyncAsync(std::function<void(Status)> done, std::size_t waiters) {
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

Status Store::Checkpoint(const std::string& dir) { return impl_->database().Checkpoint(dir); }

Status Store::VerifyChecksums() const { return impl_->database().VerifyChecksums(); }

std::uint64_t Store::DiskBytes() const { return impl_->database().DiskBytes(); }

std::uint64_t Store::MemtableBytes() const { return impl_->database().MemtableBytes(); }

}  // namespace herald::storage
