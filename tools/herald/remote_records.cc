#include "tools/herald/remote_records.h"

#include "engine/job_export.h"
#include "net/client/client.h"
#include "net/resp/reply.h"

namespace herald::tools {

using client::Client;
using resp::Reply;

namespace {

constexpr std::uint32_t kMaxScan = 10000;

std::string TableName(engine::RecordKind kind) {
  return std::string(engine::ExportTableName(kind));
}

// What a kind the broker does not serve over RECORD (kAdmin, the server's own records) answers.
Status CheckServed(engine::RecordKind kind) {
  for (engine::RecordKind served : engine::kExportedTables) {
    if (kind == served) return Status::Ok();
  }
  return Status::InvalidArgument("a remote worker keeps no " + TableName(kind) + " records");
}

}  // namespace

RemoteRecords::RemoteRecords(RemoteRecordsOptions options) : options_(std::move(options)) {}

RemoteRecords::~RemoteRecords() = default;

Result<std::unique_ptr<Client>> RemoteRecords::Borrow() const {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Client> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  auto connected = Client::Connect(options_.host, options_.port, options_.timeout);
  if (!connected.ok()) {
    return Status::IOError("records: cannot reach the broker " + options_.host + ":" +
                           std::to_string(options_.port) + ": " + connected.status().message());
  }
  std::unique_ptr<Client> connection = std::move(connected).value();
  if (!options_.password.empty()) {
    auto auth = connection->Auth(options_.password);
    if (!auth.ok()) return Status::IOError("records: AUTH failed: " + auth.status().message());
    if (auth->is_error()) return Status::IOError("records: AUTH refused: " + auth->str);
  }
  return connection;
}

void RemoteRecords::GiveBack(std::unique_ptr<Client> connection) const {
  if (!connection->is_open()) return;
  MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
}

Result<Reply> RemoteRecords::Call(const std::vector<std::string>& args) const {
  Status failed;
  // A connection kept idle may have been closed by the broker since: one more try on a new one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    HERALD_ASSIGN_OR_RETURN(std::unique_ptr<Client> connection, Borrow());
    auto reply = connection->Command(args);
    if (!reply.ok()) {
      failed = reply.status();
      continue;
    }
    GiveBack(std::move(connection));
    if (reply->is_error()) {
      return Status::IOError("records: the broker refused RECORD " + args[1] + ": " + reply->str);
    }
    return std::move(reply).value();
  }
  return Status::IOError("records: RECORD " + args[1] + " failed: " + failed.message());
}

Status RemoteRecords::Put(engine::RecordKind kind, std::string_view key, std::string_view value) {
  HERALD_RETURN_IF_ERROR(CheckServed(kind));
  return Call({"RECORD", "PUT", TableName(kind), std::string(key), std::string(value)}).status();
}

Result<std::optional<std::string>> RemoteRecords::Get(engine::RecordKind kind,
                                                      std::string_view key) const {
  HERALD_RETURN_IF_ERROR(CheckServed(kind));
  HERALD_ASSIGN_OR_RETURN(Reply reply, Call({"RECORD", "GET", TableName(kind), std::string(key)}));
  if (reply.is_null()) return std::optional<std::string>();
  if (!reply.is_string()) {
    return Status::Corruption("records: RECORD GET answered " + reply.ToString());
  }
  return std::optional<std::string>(std::move(reply.str));
}

Status RemoteRecords::Delete(engine::RecordKind kind, std::string_view key) {
  HERALD_RETURN_IF_ERROR(CheckServed(kind));
  // 1 or 0: either way the key is gone.
  return Call({"RECORD", "DEL", TableName(kind), std::string(key)}).status();
}

Result<std::vector<std::pair<std::string, std::string>>> RemoteRecords::Scan(
    engine::RecordKind kind, std::string_view prefix, std::uint32_t limit,
    engine::ScanOrder order) const {
  HERALD_RETURN_IF_ERROR(CheckServed(kind));
  if (limit == 0 || limit > kMaxScan) {
    return Status::InvalidArgument("records: a remote scan reads 1 to 10000 records, not " +
                                   std::to_string(limit));
  }
  std::vector<std::string> args = {
      "RECORD", "SCAN", TableName(kind), std::string(prefix), "COUNT", std::to_string(limit)};
  if (order == engine::ScanOrder::kNewestFirst) args.emplace_back("NEWEST");
  HERALD_ASSIGN_OR_RETURN(Reply reply, Call(args));
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(reply.elements.size());
  for (Reply& row : reply.elements) {
    if (row.elements.size() != 2 || !row.elements[0].is_string() || !row.elements[1].is_string()) {
      return Status::Corruption("records: RECORD SCAN answered a row " + row.ToString());
    }
    rows.emplace_back(std::move(row.elements[0].str), std::move(row.elements[1].str));
  }
  return rows;
}

}  // namespace herald::tools
