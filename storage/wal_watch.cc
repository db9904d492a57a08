#include "storage/wal_watch.h"

#include <atomic>
#include <string_view>
#include <utility>

#include "storage/rocks_status.h"

namespace herald::storage {
namespace {

bool IsWal(std::string_view name) {
  return name.size() > 4 && name.substr(name.size() - 4) == ".log";
}

// A WAL file whose failed writes are reported to the file system that made it.
class WatchedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  WatchedFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::string name, WalWatchFs* fs)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), name_(std::move(name)), fs_(fs) {}
  ~WatchedFile() override {
    if (failed_.load()) fs_->Dropped();
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return Check(target()->Append(data, options, dbg));
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return Check(target()->Append(data, options, info, dbg));
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return Check(target()->PositionedAppend(data, offset, options, dbg));
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    return Check(target()->PositionedAppend(data, offset, options, info, dbg));
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Check(target()->Flush(options, dbg));
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return Check(target()->Sync(options, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return Check(target()->Fsync(options, dbg));
  }

 private:
  rocksdb::IOStatus Check(rocksdb::IOStatus s) {
    if (!s.ok() && !failed_.exchange(true)) fs_->Failed(name_, s);
    return s;
  }

  std::string name_;
  WalWatchFs* fs_;
  // Atomic: RocksDB syncs a WAL (SyncWAL) while another thread appends to it, so two of its
  // calls can fail at once; only the first may count the file as failed, or its drop would
  // leave the count, and wal_error(), stuck.
  std::atomic<bool> failed_{false};
};

}  // namespace

rocksdb::IOStatus WalWatchFs::Watch(const std::string& name, rocksdb::IOStatus opened,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file) {
  if (opened.ok() && IsWal(name) && *file) {
    *file = std::make_unique<WatchedFile>(std::move(*file), name, this);
  }
  return opened;
}

rocksdb::IOStatus WalWatchFs::NewWritableFile(const std::string& name,
                                              const rocksdb::FileOptions& options,
                                              std::unique_ptr<rocksdb::FSWritableFile>* file,
                                              rocksdb::IODebugContext* dbg) {
  return Watch(name, target()->NewWritableFile(name, options, file, dbg), file);
}

rocksdb::IOStatus WalWatchFs::ReopenWritableFile(const std::string& name,
                                                 const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* file,
                                                 rocksdb::IODebugContext* dbg) {
  return Watch(name, target()->ReopenWritableFile(name, options, file, dbg), file);
}

rocksdb::IOStatus WalWatchFs::ReuseWritableFile(const std::string& name,
                                                const std::string& old_name,
                                                const rocksdb::FileOptions& options,
                                                std::unique_ptr<rocksdb::FSWritableFile>* file,
                                                rocksdb::IODebugContext* dbg) {
  return Watch(name, target()->ReuseWritableFile(name, old_name, options, file, dbg), file);
}

Status WalWatchFs::wal_error() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::Ok();
  MutexLock lock(&mu_);
  return error_;
}

void WalWatchFs::Failed(const std::string& name, const rocksdb::IOStatus& s) {
  MutexLock lock(&mu_);
  if (failed_files_++ == 0) {
    error_ = FromRocks(s, "WAL " + name + " failed; no writes until the disk has room again");
    failed_.store(true, std::memory_order_release);
  }
}

void WalWatchFs::Dropped() {
  MutexLock lock(&mu_);
  if (--failed_files_ == 0) {
    failed_.store(false, std::memory_order_release);
    error_ = Status::Ok();
  }
}

}  // namespace herald::storage
