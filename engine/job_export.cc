#include "engine/job_export.h"

#include <simdjson.h>
#include <boost/json.hpp>

#include <array>

#include "common/version.h"

namespace herald::engine {
namespace {

namespace json = boost::json;
using storage::Attempt;
using storage::Job;

constexpr std::string_view kFormat = "herald-export";
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                              static_cast<unsigned char>(bytes[i + 1]) << 8 |
                                              static_cast<unsigned char>(bytes[i + 2]));
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const auto n =
        static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]) << 16 |
                                   (two ? static_cast<unsigned char>(bytes[i + 1]) << 8 : 0));
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += two ? kBase64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> FromBase64(std::string_view text, std::string_view field) {
  static const std::array<int, 256> kValue = [] {
    std::array<int, 256> value{};
    value.fill(-1);
    for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kBase64[i])] = i;
    return value;
  }();
  auto bad = [&] { return Status::InvalidArgument("'" + std::string(field) + "' is not base64"); };
  if (text.size() % 4 != 0) return bad();
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return bad();
      v[k] = kValue[static_cast<unsigned char>(c)];
      if (v[k] < 0) return bad();
    }
    const std::uint32_t n = static_cast<std::uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

// "name": text, or "name_base64": base64 for bytes that are not UTF-8.
void PutBytes(json::object& object, std::string_view name, std::string_view bytes) {
  if (simdjson::validate_utf8(bytes)) {
    object[name] = bytes;
  } else {
    object[std::string(name) + "_base64"] = Base64(bytes);
  }
}

const json::object* ObjectField(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_object() ? &value->as_object() : nullptr;
}

Result<std::string> TextField(const json::object& object, std::string_view name, bool required) {
  if (const json::value* value = object.if_contains(name)) {
    if (!value->is_string()) {
      return Status::InvalidArgument("'" + std::string(name) + "' is not a string");
    }
    return std::string(value->as_string());
  }
  return required ? Result<std::string>(
                        Status::InvalidArgument("'" + std::string(name) + "' is missing"))
                  : Result<std::string>(std::string());
}

// A field written by PutBytes.
Result<std::string> BytesField(const json::object& object, std::string_view name, bool required) {
  const std::string encoded = std::string(name) + "_base64";
  if (object.contains(encoded)) {
    HERALD_ASSIGN_OR_RETURN(std::string text, TextField(object, encoded, true));
    return FromBase64(text, encoded);
  }
  return TextField(object, name, required);
}

Result<std::int64_t> IntField(const json::object& object, std::string_view name, std::int64_t min,
                              std::int64_t max) {
  const json::value* value = object.if_contains(name);
  if (value == nullptr) return std::int64_t{0} < min ? min : std::int64_t{0};
  std::int64_t n = 0;
  if (value->is_int64()) {
    n = value->as_int64();
  } else if (value->is_uint64() && value->as_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(value->as_uint64());
  } else {
    return Status::InvalidArgument("'" + std::string(name) + "' is not an integer");
  }
  if (n < min || n > max) {
    return Status::InvalidArgument("'" + std::string(name) + "' is out of range (" +
                                   std::to_string(min) + ".." + std::to_string(max) + ")");
  }
  return n;
}

constexpr std::int64_t kMaxTime = std::int64_t{1} << 53;
constexpr std::int64_t kMaxU32 = 0xffffffff;

Result<Attempt> ParseAttempt(const json::value& value) {
  if (!value.is_object()) return Status::InvalidArgument("a history entry is not an object");
  const json::object& object = value.as_object();
  Attempt attempt;
  HERALD_ASSIGN_OR_RETURN(attempt.started_ms, IntField(object, "started_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(attempt.ended_ms, IntField(object, "ended_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(attempt.backoff_ms, IntField(object, "backoff_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(attempt.next_due_ms, IntField(object, "next_due_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(std::string outcome, TextField(object, "outcome", true));
  bool known = false;
  for (auto candidate : {storage::AttemptOutcome::kRunning, storage::AttemptOutcome::kCompleted,
                         storage::AttemptOutcome::kRetrying, storage::AttemptOutcome::kFailed,
                         storage::AttemptOutcome::kStalled}) {
    if (storage::AttemptOutcomeName(candidate) == outcome) {
      attempt.outcome = candidate;
      known = true;
    }
  }
  if (!known) return Status::InvalidArgument("unknown attempt outcome '" + outcome + "'");
  HERALD_ASSIGN_OR_RETURN(attempt.error, BytesField(object, "error", false));
  HERALD_ASSIGN_OR_RETURN(attempt.worker, TextField(object, "worker", false));
  if (attempt.error.size() > storage::kMaxAttemptErrorBytes) {
    attempt.error.resize(storage::kMaxAttemptErrorBytes);
  }
  if (attempt.worker.size() > storage::kMaxAttemptWorkerBytes) {
    attempt.worker.resize(storage::kMaxAttemptWorkerBytes);
  }
  return attempt;
}

Result<Job> ParseJob(const json::object& object) {
  Job job;
  HERALD_ASSIGN_OR_RETURN(job.queue, TextField(object, "queue", true));
  HERALD_ASSIGN_OR_RETURN(job.id, TextField(object, "id", true));
  HERALD_ASSIGN_OR_RETURN(job.name, TextField(object, "name", false));
  if (job.name.size() > storage::kMaxJobNameBytes) {
    return Status::InvalidArgument("'name' is longer than 1024 bytes");
  }
  HERALD_ASSIGN_OR_RETURN(std::string state, TextField(object, "state", true));
  HERALD_ASSIGN_OR_RETURN(job.state, storage::ParseJobState(state));
  HERALD_ASSIGN_OR_RETURN(job.payload, BytesField(object, "payload", true));
  HERALD_ASSIGN_OR_RETURN(std::int64_t priority, IntField(object, "priority", 0, kMaxU32));
  HERALD_ASSIGN_OR_RETURN(std::int64_t made, IntField(object, "attempts_made", 0, kMaxU32));
  HERALD_ASSIGN_OR_RETURN(std::int64_t max, IntField(object, "max_attempts", 1, kMaxU32));
  job.priority = static_cast<std::uint32_t>(priority);
  job.attempts_made = static_cast<std::uint32_t>(made);
  job.max_attempts = static_cast<std::uint32_t>(max);
  if (const json::object* backoff = ObjectField(object, "backoff")) {
    HERALD_ASSIGN_OR_RETURN(std::string type, TextField(*backoff, "type", true));
    HERALD_ASSIGN_OR_RETURN(job.backoff_type, storage::ParseBackoffType(type));
    HERALD_ASSIGN_OR_RETURN(job.backoff_ms, IntField(*backoff, "delay_ms", 0, kMaxTime));
  }
  HERALD_ASSIGN_OR_RETURN(job.created_ms, IntField(object, "created_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(job.processed_ms, IntField(object, "processed_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(job.finished_ms, IntField(object, "finished_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(job.due_ms, IntField(object, "due_ms", 0, kMaxTime));
  HERALD_ASSIGN_OR_RETURN(std::string last_error, BytesField(object, "last_error", false));
  job.last_error = storage::CutLastError(std::move(last_error));
  HERALD_ASSIGN_OR_RETURN(job.return_value, BytesField(object, "result", false));
  if (const json::value* history = object.if_contains("history")) {
    if (!history->is_array()) return Status::InvalidArgument("'history' is not an array");
    for (const json::value& entry : history->as_array()) {
      HERALD_ASSIGN_OR_RETURN(Attempt attempt, ParseAttempt(entry));
      job.history.push_back(std::move(attempt));
    }
    if (job.history.size() > storage::kMaxAttemptHistory) {
      job.history.erase(job.history.begin(), job.history.end() - static_cast<std::ptrdiff_t>(
                                                                     storage::kMaxAttemptHistory));
    }
  }
  return job;
}

}  // namespace

std::string_view ExportTableName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kPrefs:
      return "prefs";
    case RecordKind::kInbox:
      return "inbox";
    case RecordKind::kSent:
      return "sent";
    case RecordKind::kTickets:
      return "tickets";
    case RecordKind::kAdmin:
      break;
  }
  return "admin";
}

Result<RecordKind> ParseExportTable(std::string_view name) {
  for (RecordKind kind : kExportedTables) {
    if (ExportTableName(kind) == name) return kind;
  }
  return Status::InvalidArgument("unknown record table '" + std::string(name) +
                                 "' (prefs, inbox, sent or tickets)");
}

std::string ExportHeaderLine(std::int64_t now_ms) {
  json::object header;
  header["type"] = "header";
  header["format"] = kFormat;
  header["version"] = kExportFormatVersion;
  header["herald_version"] = kHeraldVersion;
  header["created_ms"] = now_ms;
  return json::serialize(header);
}

std::string ExportJobLine(const Job& job) {
  json::object line;
  line["type"] = "job";
  line["queue"] = job.queue;
  line["id"] = job.id;
  if (!job.name.empty()) line["name"] = job.name;
  line["state"] = storage::JobStateName(job.state);
  PutBytes(line, "payload", job.payload);
  line["priority"] = job.priority;
  line["attempts_made"] = job.attempts_made;
  line["max_attempts"] = job.max_attempts;
  line["backoff"] = json::object{{"type", storage::BackoffTypeName(job.backoff_type)},
                                 {"delay_ms", job.backoff_ms}};
  line["created_ms"] = job.created_ms;
  line["processed_ms"] = job.processed_ms;
  line["finished_ms"] = job.finished_ms;
  line["due_ms"] = job.due_ms;
  if (!job.last_error.empty()) PutBytes(line, "last_error", job.last_error);
  if (!job.return_value.empty()) PutBytes(line, "result", job.return_value);
  json::array history;
  for (const Attempt& attempt : job.history) {
    json::object entry;
    entry["started_ms"] = attempt.started_ms;
    entry["ended_ms"] = attempt.ended_ms;
    entry["outcome"] = storage::AttemptOutcomeName(attempt.outcome);
    if (!attempt.error.empty()) PutBytes(entry, "error", attempt.error);
    if (!attempt.worker.empty()) entry["worker"] = attempt.worker;
    entry["backoff_ms"] = attempt.backoff_ms;
    entry["next_due_ms"] = attempt.next_due_ms;
    history.push_back(std::move(entry));
  }
  line["history"] = std::move(history);
  return json::serialize(line);
}

std::string ExportRecordLine(RecordKind kind, std::string_view key, std::string_view value) {
  json::object line;
  line["type"] = "record";
  line["table"] = ExportTableName(kind);
  line["key_base64"] = Base64(key);
  line["value_base64"] = Base64(value);
  return json::serialize(line);
}

Result<ExportLine> ParseExportLine(std::string_view text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return Status::InvalidArgument("not a JSON object");
  const json::object& object = parsed.as_object();
  HERALD_ASSIGN_OR_RETURN(std::string type, TextField(object, "type", true));
  ExportLine line;
  if (type == "header") {
    line.type = ExportLine::Type::kHeader;
    HERALD_ASSIGN_OR_RETURN(std::string format, TextField(object, "format", true));
    if (format != kFormat) {
      return Status::InvalidArgument("format is '" + format + "', not '" + std::string(kFormat) +
                                     "'");
    }
    HERALD_ASSIGN_OR_RETURN(std::int64_t version, IntField(object, "version", 1, 1 << 30));
    line.version = static_cast<int>(version);
    return line;
  }
  if (type == "job") {
    line.type = ExportLine::Type::kJob;
    HERALD_ASSIGN_OR_RETURN(line.job, ParseJob(object));
    return line;
  }
  if (type == "record") {
    line.type = ExportLine::Type::kRecord;
    HERALD_ASSIGN_OR_RETURN(std::string table, TextField(object, "table", true));
    HERALD_ASSIGN_OR_RETURN(line.table, ParseExportTable(table));
    HERALD_ASSIGN_OR_RETURN(std::string key, TextField(object, "key_base64", true));
    HERALD_ASSIGN_OR_RETURN(std::string value, TextField(object, "value_base64", true));
    HERALD_ASSIGN_OR_RETURN(line.key, FromBase64(key, "key_base64"));
    HERALD_ASSIGN_OR_RETURN(line.value, FromBase64(value, "value_base64"));
    if (line.key.empty()) return Status::InvalidArgument("a record's key is empty");
    return line;
  }
  return Status::InvalidArgument("unknown type '" + type + "' (header, job or record)");
}

}  // namespace herald::engine
