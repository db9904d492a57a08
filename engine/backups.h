// Backups: online backups of the store while Herald serves. A backup is a directory holding
// `manifest.json` (BackupManifest) and `db/`, a RocksDB checkpoint of the whole store — jobs,
// lists and strings, records — taken at one moment: every write acknowledged before the
// checkpoint started is in it. Files are hard links where the filesystem allows (the store's
// files never change once written), so a checkpoint is quick and costs little disk at first.
//
// Before the manifest is written the copy is opened once, as a restore will open it, to count
// its jobs: a job active at the moment of the backup is waiting in the copy, its attempt
// counted and ended stalled (as after a restart), and the manifest counts what the restored
// Herald will show.
//
// Two ways to take one:
//   * Write(dir): the backup is made in `dir` on the server's machine (BACKUP SAVE, POST
//     /api/backup).
//   * Stage(): the backup is made in the store's directory (`backup-staging/<token>`) and a
//     client reads its files in chunks (BACKUP START / READ / END: `herald backup --connect`
//     writes them on its own machine, as `redis-cli --rdb` does). A staged backup is removed
//     by Release, once idle for kStagedIdleMs (looked at by every call), or at the next open.
//
// Thread safety: thread-safe. Write and Stage block for as long as the checkpoint and the count
// take (seconds for gigabytes): call them off the I/O threads (the runner()).
// Lifetime: `store` and `clock` must outlive the object.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/background_runner.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "storage/store.h"

namespace spdlog {
class logger;
}

namespace herald::engine {

// The manifest's format; restore refuses others.
inline constexpr int kBackupFormatVersion = 1;

struct BackupQueue {
  std::string name;
  storage::QueueCounts counts;  // active is 0: see the header comment
};

struct BackupFile {
  std::string name;  // a plain file name under db/
  std::uint64_t size = 0;
};

struct BackupManifest {
  int version = kBackupFormatVersion;
  std::string herald_version;
  std::int64_t created_ms = 0;         // when the checkpoint was taken
  std::string fsync;                   // the fsync mode of the store that was backed up
  std::uint64_t active_at_backup = 0;  // jobs that were active, waiting in the copy
  std::vector<BackupQueue> queues;     // sorted by name
  std::vector<BackupFile> files;       // sorted by name
  std::uint64_t bytes = 0;             // sum of the files' sizes

  std::uint64_t jobs() const;  // over every queue and state
};

// manifest.json, one object (README.md "Backup and restore" documents each field).
std::string ManifestToJson(const BackupManifest& manifest);
// InvalidArgument naming what is wrong (not JSON, a missing field, another version).
Result<BackupManifest> ManifestFromJson(std::string_view json);

// A backup made by Stage(): its token for Read and Release, and its manifest.
struct StagedBackup {
  std::string token;
  BackupManifest manifest;
};

class Backups {
 public:
  // A staged backup unread for this long is removed.
  static constexpr std::int64_t kStagedIdleMs = 10 * 60 * 1000;
  // Staged backups at once; Stage answers Busy beyond.
  static constexpr std::size_t kMaxStaged = 4;
  // The most Read returns at once.
  static constexpr std::uint64_t kMaxChunk = 4 << 20;

  // Removes what earlier runs left in the staging directory. `log`: not null.
  Backups(storage::Store* store, Clock* clock, std::shared_ptr<spdlog::logger> log);
  ~Backups();  // removes the staged backups
  Backups(const Backups&) = delete;
  Backups& operator=(const Backups&) = delete;

  // Makes a backup in `dir` (created when missing; InvalidArgument when it is not empty or not
  // a directory), writes its manifest and returns it. IOError naming the file on a failure,
  // after which `dir` holds no manifest.
  Result<BackupManifest> Write(const std::string& dir);
  // Makes a backup to be read by a client. Busy when kMaxStaged are staged.
  Result<StagedBackup> Stage();
  // Up to `max` bytes (at most kMaxChunk) of file `name` of the staged backup `token`, from
  // `offset`; empty at or past the end. NotFound for an unknown token or a file not in its
  // manifest. Counts as activity of that backup.
  Result<std::string> Read(std::string_view token, std::string_view name, std::uint64_t offset,
                           std::uint64_t max);
  // Removes a staged backup. NotFound for an unknown token.
  Status Release(std::string_view token);
  std::size_t staged() const;

  // Where Write and Stage should run (one at a time; at most 2 wait).
  BackgroundRunner& runner() { return runner_; }

 private:
  struct Staged {
    std::string dir;
    BackupManifest manifest;
    std::int64_t last_used_ms = 0;
  };

  // Checkpoint into `dir` (which must not exist), count and list it.
  Result<BackupManifest> MakeBackup(const std::string& dir);
  // Removes staged backups idle for kStagedIdleMs.
  void ExpireIdle() EXCLUDES(mu_);

  storage::Store* store_;
  Clock* clock_;
  std::shared_ptr<spdlog::logger> log_;
  const std::string staging_dir_;
  mutable Mutex mu_;
  std::map<std::string, Staged, std::less<>> staged_ GUARDED_BY(mu_);
  BackgroundRunner runner_{2};  // last: its thread may run tasks that use the rest
};

}  // namespace herald::engine
