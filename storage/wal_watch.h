// Internal to storage/ (names rocksdb types). WalWatchFs: the file system the store opens
// RocksDB with, the default one with its WAL files ("*.log") watched. Once a write to one of
// them fails (a full disk, an I/O error), RocksDB takes no more writes (its background error
// stops them), and that WAL's file writer must not be flushed or synced again: RocksDB asserts
// there, which aborts the process in Debian's build. Whoever syncs the WAL (the `everysec`
// thread, WalSyncer, the close) asks wal_error() first and reports that error instead.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "common/status.h"

namespace herald::storage {

class WalWatchFs : public rocksdb::FileSystemWrapper {
 public:
  WalWatchFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "HeraldWalWatchFs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* file,
                                      rocksdb::IODebugContext* dbg) override;

  // OK while no WAL file that saw a failed write is open; otherwise the first such failure.
  // RocksDB drops a failed WAL once it recovers (it does so by itself when the disk has room
  // again: a flush, then a new WAL), and syncing is safe again from then on.
  Status wal_error() const EXCLUDES(mu_);
  // Called by a watched file when one of its writes failed (the first time for that file),
  // and when such a file is dropped.
  void Failed(const std::string& name, const rocksdb::IOStatus& s) EXCLUDES(mu_);
  void Dropped() EXCLUDES(mu_);

 private:
  // Wraps `file` when it was `opened` and `name` is a WAL file; returns `opened`.
  rocksdb::IOStatus Watch(const std::string& name, rocksdb::IOStatus opened,
                          std::unique_ptr<rocksdb::FSWritableFile>* file);

  std::atomic<bool> failed_{false};  // failed_files_ > 0
  mutable Mutex mu_;
  int failed_files_ GUARDED_BY(mu_) = 0;
  Status error_ GUARDED_BY(mu_);
};

}  // namespace herald::storage
