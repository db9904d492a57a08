#include "storage/database.h"

#include <rocksdb/utilities/checkpoint.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <filesystem>

#include "storage/quote.h"
#include "storage/rocks_logger.h"

namespace herald::storage {

Database::Database(const StoreOptions& options, std::shared_ptr<spdlog::logger> log)
    : data_dir_(options.data_dir),
      log_(std::move(log)),
      tuning_(options.fsync, options.block_cache_mb),
      before_wal_sync_(options.before_wal_sync),
      wal_fs_(std::make_shared<WalWatchFs>()),
      env_(rocksdb::NewCompositeEnv(wal_fs_)) {
  sync_write_options_.sync = true;
  // Compactions (a backlog after a long fill, at the next start) yield the CPU to the threads
  // that answer clients.
  env_->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
}

Result<std::unique_ptr<Database>> Database::Open(const StoreOptions& options,
                                                 std::shared_ptr<spdlog::logger> log) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir is required");
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return Status::IOError("cannot create data directory " + Quote(options.data_dir) + ": " +
                           ec.message());
  }
  std::unique_ptr<Database> database(new Database(options, std::move(log)));
  HERALD_RETURN_IF_ERROR(database->OpenColumnFamilies());
  HERALD_RETURN_IF_ERROR(database->CheckFormat());
  return database;
}

Status Database::OpenColumnFamilies() {
  rocksdb::DBOptions db_options =
      tuning_.DbOptions(env_.get(), std::make_shared<RocksLogger>(log_));
  std::vector<std::string> names;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, data_dir_, &names);
  if (!listed.ok()) names = {rocksdb::kDefaultColumnFamilyName};  // a new database
  for (std::string_view system : {keys::kMetaCf, keys::kJobsCf, keys::kKvCf, keys::kPrefsCf,
                                  keys::kInboxCf, keys::kSentCf, keys::kTicketsCf}) {
    if (std::find(names.begin(), names.end(), system) == names.end()) {
      names.emplace_back(system);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, tuning_.ForName(name));
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  HERALD_RETURN_IF_ERROR(FromRocks(
      rocksdb::DB::Open(db_options, data_dir_, descriptors, &handles, &raw), "open " + data_dir_));
  db_.reset(raw);

  MutexLock lock(&handles_mu_);
  handles_ = handles;
  for (auto* h : handles) {
    const std::string& name = h->GetName();
    if (name == keys::kMetaCf) meta_ = h;
    if (name == keys::kJobsCf) jobs_ = h;
    if (auto kv_db = keys::KvDatabaseOfCfName(name)) kv_cfs_[static_cast<std::size_t>(*kv_db)] = h;
    if (name == keys::kPrefsCf) prefs_ = h;
    if (name == keys::kInboxCf) inbox_ = h;
    if (name == keys::kSentCf) sent_ = h;
    if (name == keys::kTicketsCf) tickets_ = h;
    if (keys::QueueOfCfName(name)) queue_cfs_.push_back(h);
  }
  return Status::Ok();
}

Status Database::CheckFormat() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, keys::kFormatKey, &value);
  if (s.IsNotFound()) {
    return PutSynced(meta_, keys::kFormatKey, keys::EncodeFormatVersion(keys::kFormatVersion),
                     "write format version");
  }
  HERALD_RETURN_IF_ERROR(FromRocks(s, "read format version"));
  HERALD_ASSIGN_OR_RETURN(std::uint32_t version, keys::DecodeFormatVersion(value));
  if (version != keys::kFormatVersion) {
    return Status::Corruption("data directory " + Quote(data_dir_) + " has format version " +
                              std::to_string(version) + "; this build reads version " +
                              std::to_string(keys::kFormatVersion));
  }
  return Status::Ok();
}

Database::~Database() {
  EndGroupCommit();
  if (db_ == nullptr) return;
  Status synced = SyncWal();
  if (!synced.ok()) log_->error("store: WAL sync at close: {}", synced.ToString());
  {
    MutexLock lock(&handles_mu_);
    if (synced.ok()) {
      // The memtables go to files, so that the next open has no WAL to replay: its time then
      // does not depend on how much was written since the last flush (up to
      // max_total_wal_size: seconds).
      rocksdb::FlushOptions flush;
      flush.wait = true;
      if (rocksdb::Status flushed = db_->Flush(flush, handles_); !flushed.ok()) {
        log_->warn("store: flush at close: {}", flushed.ToString());
      }
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
  }
  rocksdb::Status s = db_->Close();
  if (!s.ok()) log_->error("store: close failed: {}", s.ToString());
  db_.reset();
}

Result<rocksdb::ColumnFamilyHandle*> Database::CreateColumnFamily(
    const std::string& name, const rocksdb::ColumnFamilyOptions& cf, std::string_view what) {
  MutexLock create(&create_mu_);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  HERALD_RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(cf, name, &h), what));
  MutexLock lock(&handles_mu_);
  handles_.push_back(h);
  return h;
}

Result<rocksdb::ColumnFamilyHandle*> Database::CreateKvColumnFamily(int db) {
  const std::string name = keys::KvCfName(db);
  HERALD_ASSIGN_OR_RETURN(rocksdb::ColumnFamilyHandle * h,
                          CreateColumnFamily(name, tuning_.kv(), "create " + name));
  log_->info("store: created column family {} (database {})", name, db);
  return h;
}

Status Database::DropColumnFamily(rocksdb::ColumnFamilyHandle* h) {
  const std::string name = h->GetName();
  Status dropped = FromRocks(db_->DropColumnFamily(h), "drop " + name);
  {
    MutexLock lock(&handles_mu_);
    handles_.erase(std::find(handles_.begin(), handles_.end(), h));
  }
  Status closed = FromRocks(db_->DestroyColumnFamilyHandle(h), "close " + name);
  return dropped.ok() ? closed : dropped;
}

Status Database::PutSynced(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                           std::string_view value, std::string_view what) {
  return FromRocks(db_->Put(sync_write_options_, cf, key, value), what);
}

void Database::EnableGroupCommit() {
  wal_syncer_ = std::make_unique<WalSyncer>(db_.get(), wal_fs_.get(), before_wal_sync_);
}

void Database::EndGroupCommit() { wal_syncer_.reset(); }

Status Database::Checkpoint(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      return Status::InvalidArgument("checkpoint directory " + Quote(dir) +
                                     " exists and is not empty");
    }
    fs::remove(dir, ec);  // RocksDB creates the directory itself
    if (ec) return Status::IOError("cannot replace " + Quote(dir) + ": " + ec.message());
  }
  rocksdb::Checkpoint* raw = nullptr;
  HERALD_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), "checkpoint into " + dir);
}

std::uint64_t Database::DiskBytes() const {
  std::uint64_t sst = 0;
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  std::uint64_t wal = 0;
  rocksdb::VectorLogPtr files;
  if (db_->GetSortedWalFiles(files).ok()) {
    for (const auto& f : files) wal += f->SizeFileBytes();
  }
  return sst + wal;
}

std::uint64_t Database::MemtableBytes() const {
  std::uint64_t bytes = 0;
  db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes);
  return bytes;
}

void Database::RecordFailure(const Status& status) {
  write_failures_.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(&failure_mu_);
  last_failure_ = status;
}

Status Database::WriteHealth() const {
  HERALD_RETURN_IF_ERROR(wal_fs_->wal_error());
  if (!last_write_failed_.load(std::memory_order_relaxed)) return Status::Ok();
  MutexLock lock(&failure_mu_);
  return last_failure_.ok() ? Status::IOError("the last write failed") : last_failure_;
}

}  // namespace herald::storage
