// The export format of `herald export` and `herald import`: JSON lines, one object per line,
// each with a "type" (README.md "Export and import" documents every field):
//
//   {"type":"header","format":"herald-export","version":1,"herald_version":..,"created_ms":..}
//   {"type":"job","queue":..,"id":..,"name":..,"state":..,"payload":..,"priority":..,
//    "attempts_made":..,"max_attempts":..,"backoff":{"type":..,"delay_ms":..},"created_ms":..,
//    "processed_ms":..,"finished_ms":..,"due_ms":..,"last_error":..,"result":..,
//    "history":[{"started_ms":..,"ended_ms":..,"outcome":..,"error":..,"worker":..,
//                "backoff_ms":..,"next_due_ms":..}, ...]}
//   {"type":"record","table":"prefs|inbox|sent|tickets","key_base64":..,"value_base64":..}
//
// Bytes that are not UTF-8 (a binary payload, result or error) are written base64 under the
// field's name with "_base64" appended ("payload_base64"); a reader takes either. Record keys
// and values are always base64 (their keys hold binary numbers).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/records.h"
#include "storage/job.h"

namespace herald::engine {

inline constexpr int kExportFormatVersion = 1;

// The tables an export carries with --records, by their names in the format.
inline constexpr RecordKind kExportedTables[] = {RecordKind::kPrefs, RecordKind::kInbox,
                                                 RecordKind::kSent, RecordKind::kTickets};
std::string_view ExportTableName(RecordKind kind);  // "prefs", "inbox", "sent", "tickets"
Result<RecordKind> ParseExportTable(std::string_view name);

std::string ExportHeaderLine(std::int64_t now_ms);
std::string ExportJobLine(const storage::Job& job);
std::string ExportRecordLine(RecordKind kind, std::string_view key, std::string_view value);

struct ExportLine {
  enum class Type : std::uint8_t { kHeader, kJob, kRecord };
  Type type = Type::kJob;
  int version = 0;                        // kHeader
  storage::Job job;                       // kJob
  RecordKind table = RecordKind::kPrefs;  // kRecord
  std::string key;
  std::string value;
};

// InvalidArgument naming the field that is wrong (or "not JSON", "unknown type ...").
Result<ExportLine> ParseExportLine(std::string_view line);

}  // namespace herald::engine
