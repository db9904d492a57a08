// The command line of `herald`: the broker's flags and the `worker` subcommand, parsed into
// one value that main() applies over the configuration file.
//
// Thread safety: plain values, built once at start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/herald/admin.h"
#include "tools/herald/backup_tool.h"
#include "tools/herald/check_tool.h"
#include "tools/herald/config.h"
#include "tools/herald/export_tool.h"

namespace herald::tools {

// What `herald worker` was asked for (set only when the subcommand was given).
struct WorkerFlags {
  std::string connect;              // the broker's host:port. Required.
  std::string password;             // AUTH password of the broker. Default: none
  std::vector<std::string> queues;  // queues to work on. Default: every handled queue
  std::int64_t lease_ms = 60000;    // lease asked for each job. Default: 60000
};

struct CommandLine {
  std::string config_file;  // --config. Default: none
  // The flags given, each set only when it was on the command line (they win over the file).
  std::optional<std::string> data_dir;
  std::optional<std::uint16_t> port;
  std::optional<std::uint16_t> http_port;
  std::optional<std::string> bind;
  std::optional<std::uint32_t> workers;
  std::optional<std::string> fsync;
  std::optional<std::string> log_level;
  std::optional<std::string> log_format;
  std::optional<std::string> requirepass;
  std::optional<std::string> readonly_password;
  std::optional<std::uint32_t> timeout_s;
  std::optional<bool> protected_mode;
  std::optional<std::string> store_conninfo;  // also chooses the postgres backend
  std::optional<std::string> store_node;
  bool mock_events = false;
  std::vector<std::string> faults;         // --fault specs, in order
  std::optional<WorkerFlags> worker;       // `herald worker ...`
  std::optional<AdminFlags> admin;         // `herald admin ...`
  std::optional<BackupFlags> backup;       // `herald backup ...`
  std::optional<RestoreFlags> restore;     // `herald restore ...`
  std::optional<ExportFlags> export_jobs;  // `herald export ...`
  std::optional<ImportFlags> import_jobs;  // `herald import ...`
  std::optional<CheckFlags> check;         // `herald check ...`
  std::optional<AdminFlags> reload;        // `herald reload` (its connect and password)
};

// What ParseCommandLine decided: go on with `line`, or leave at once with `exit_code` (help,
// --version, or a usage error, already printed by the parser).
struct ParsedCommandLine {
  CommandLine line;
  std::optional<int> exit_code;
};

ParsedCommandLine ParseCommandLine(int argc, char** argv);

// Sets the fields of `config` that were given on the command line.
void ApplyFlags(const CommandLine& line, HeraldConfig* config);

}  // namespace herald::tools
