// `herald backup` and `herald restore`: an online backup of a running Herald, and a store
// made from one (engine/backups.h says what a backup is).
//
//   herald backup [--connect host:port] [--password P] DIR
//       stages a backup on the server (BACKUP START), reads its files into DIR/db on this
//       machine and writes DIR/manifest.json last: a DIR with a manifest is a whole backup.
//       --on-server DIR: the server writes it into DIR on its own machine (BACKUP SAVE).
//   herald restore DIR --data-dir D [--force]
//       checks the manifest and every file's size, copies DIR/db into D (refused when D is not
//       empty, unless --force, which empties it first), opens the copy, verifies its checksums
//       and that its counts per queue and state are the manifest's.
//
// Both show progress on stderr and end with a table of the queues. Exit status: 0 done, 1 the
// server refused or the backup does not check out (the reason is printed), 2 a usage error or
// no connection.
//
// Thread safety: runs on the calling thread.
#pragma once

#include <cstdio>
#include <string>

namespace herald::tools {

struct BackupFlags {
  std::string connect = "127.0.0.1:6380";  // the server's host:port
  std::string password;                    // AUTH password; "" = none
  std::string dir;                         // where the backup goes. Required
  bool on_server = false;                  // the server writes `dir` on its machine
};

struct RestoreFlags {
  std::string dir;       // the backup. Required
  std::string data_dir;  // the store to make. Required
  bool force = false;    // empty a non-empty data_dir first
};

int RunBackup(const BackupFlags& flags, std::FILE* out, std::FILE* err);
int RunRestore(const RestoreFlags& flags, std::FILE* out, std::FILE* err);

}  // namespace herald::tools
