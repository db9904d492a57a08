// `herald export` and `herald import`: jobs and records of a running Herald as JSON lines
// (the format of engine/job_export.h, documented in README.md "Export and import").
//
//   herald export [--connect host:port] [--password P] [--queue Q ...] [--state S ...]
//                 [--since T] [--records] > FILE
//       a header line, then every job of the queues (all of them by default) in the states (all
//       of them by default) created at or after T (ms since the epoch, or an ISO 8601 UTC time
//       such as 2026-12-01T00:00:00Z), then with --records every row of the users'
//       preferences, inbox, delivery log and tickets.
//   herald import [--connect host:port] [--password P] FILE    ("-" = standard input)
//       every line into the server, idempotent by id: a job whose id exists is left as it is,
//       a record already holding the value is not written again.
//
// Progress and the summary table go to stderr (stdout carries the lines). Exit status: 0 done,
// 1 the server refused or a line was bad (each reported with its line number; the others are
// imported), 2 a usage error or no connection.
//
// Thread safety: runs on the calling thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace herald::tools {

struct ExportFlags {
  std::string connect = "127.0.0.1:6380";  // the server's host:port
  std::string password;                    // AUTH password; "" = none
  std::vector<std::string> queues;         // Default: every queue
  std::vector<std::string> states;         // Default: every state
  std::string since;                       // ms or ISO 8601; "" = all
  bool records = false;                    // also the record tables
};

struct ImportFlags {
  std::string connect = "127.0.0.1:6380";
  std::string password;
  std::string file;  // "-" = standard input. Required
};

int RunExport(const ExportFlags& flags, std::FILE* out, std::FILE* err);
int RunImport(const ImportFlags& flags, std::FILE* err);

}  // namespace herald::tools
