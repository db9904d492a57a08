#include "storage/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>

namespace herald::storage::postgres {
namespace {

// Type OIDs of pg_type (fixed in every PostgreSQL).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kInt2ArrayOid = 1005;
constexpr Oid kByteaArrayOid = 1001;
constexpr Oid kTextArrayOid = 1009;
constexpr Oid kInt8ArrayOid = 1016;

// Network byte order, as the binary protocol sends integers.
void PutBe(std::string* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t LoadBe(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The binary form of a one-dimensional array without NULLs.
template <typename Each>
std::string ArrayOf(Oid element, std::size_t n, Each&& each) {
  std::string out;
  PutBe(&out, n == 0 ? 0 : 1, 4);  // dimensions
  PutBe(&out, 0, 4);               // no NULLs
  PutBe(&out, element, 4);
  if (n > 0) {
    PutBe(&out, n, 4);  // size of the dimension
    PutBe(&out, 1, 4);  // lower bound
  }
  for (std::size_t i = 0; i < n; ++i) each(i, &out);
  return out;
}

// SQLSTATEs after which the connection is not to be used again: connection exceptions (08),
// the server shutting down or starting (57P01..57P03), a standby refusing writes (25006).
bool BreaksConnection(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "25006";
}

}  // namespace

PgParams::Wire PgParams::ToWire() const {
  Wire wire;
  wire.values.reserve(values_.size());
  wire.lengths.reserve(values_.size());
  wire.formats.assign(values_.size(), 1);  // every value in binary
  for (const std::string& v : values_) {
    wire.values.push_back(v.data());
    wire.lengths.push_back(static_cast<int>(v.size()));
  }
  return wire;
}

PgParams& PgParams::Add(unsigned int type, std::string value) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  return *this;
}

PgParams& PgParams::Bytes(std::string_view value) { return Add(kByteaOid, std::string(value)); }
PgParams& PgParams::Text(std::string_view value) { return Add(kTextOid, std::string(value)); }
PgParams& PgParams::Bool(bool value) { return Add(kBoolOid, std::string(1, value ? 1 : 0)); }

PgParams& PgParams::Int64(std::int64_t value) {
  std::string v;
  PutBe(&v, static_cast<std::uint64_t>(value), 8);
  return Add(kInt8Oid, std::move(v));
}

PgParams& PgParams::Int32(std::int32_t value) {
  std::string v;
  PutBe(&v, static_cast<std::uint32_t>(value), 4);
  return Add(kInt4Oid, std::move(v));
}

PgParams& PgParams::Int16(std::int16_t value) {
  std::string v;
  PutBe(&v, static_cast<std::uint16_t>(value), 2);
  return Add(kInt2Oid, std::move(v));
}

PgParams& PgParams::BytesArray(const std::vector<std::string>& values) {
  return Add(kByteaArrayOid,
             ArrayOf(kByteaOid, values.size(), [&](std::size_t i, std::string* out) {
               PutBe(out, values[i].size(), 4);
               out->append(values[i]);
             }));
}

PgParams& PgParams::TextArray(const std::vector<std::string>& values) {
  return Add(kTextArrayOid, ArrayOf(kTextOid, values.size(), [&](std::size_t i, std::string* out) {
               PutBe(out, values[i].size(), 4);
               out->append(values[i]);
             }));
}

PgParams& PgParams::Int64Array(const std::vector<std::int64_t>& values) {
  return Add(kInt8ArrayOid, ArrayOf(kInt8Oid, values.size(), [&](std::size_t i, std::string* out) {
               PutBe(out, 8, 4);
               PutBe(out, static_cast<std::uint64_t>(values[i]), 8);
             }));
}

PgParams& PgParams::Int16Array(const std::vector<std::int16_t>& values) {
  return Add(kInt2ArrayOid, ArrayOf(kInt2Oid, values.size(), [&](std::size_t i, std::string* out) {
               PutBe(out, 2, 4);
               PutBe(out, static_cast<std::uint16_t>(values[i]), 2);
             }));
}

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}
PgResult::PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int PgResult::rows() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view PgResult::Bytes(int row, int column) const {
  return {PQgetvalue(result_, row, column),
          static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t PgResult::Int64(int row, int column) const {
  if (IsNull(row, column) || PQgetlength(result_, row, column) != 8) return 0;
  return static_cast<std::int64_t>(LoadBe(PQgetvalue(result_, row, column), 8));
}

std::int32_t PgResult::Int32(int row, int column) const {
  if (IsNull(row, column) || PQgetlength(result_, row, column) != 4) return 0;
  return static_cast<std::int32_t>(LoadBe(PQgetvalue(result_, row, column), 4));
}

std::int16_t PgResult::Int16(int row, int column) const {
  if (IsNull(row, column) || PQgetlength(result_, row, column) != 2) return 0;
  return static_cast<std::int16_t>(LoadBe(PQgetvalue(result_, row, column), 2));
}

bool PgResult::Bool(int row, int column) const {
  return !IsNull(row, column) && PQgetlength(result_, row, column) == 1 &&
         PQgetvalue(result_, row, column)[0] != 0;
}

std::uint64_t PgResult::affected() const {
  const char* n = result_ == nullptr ? "" : PQcmdTuples(result_);
  return *n == '\0' ? 0 : std::strtoull(n, nullptr, 10);
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return Status::IOError("postgres: out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    PQfinish(conn);
    return Status::IOError("postgres: cannot connect: " + why);
  }
  // The server's notices ("relation ... already exists, skipping") are not errors; libpq would
  // print them on stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

std::string PgConnection::server() const {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  return std::string(host != nullptr ? host : "?") + ":" + (port != nullptr ? port : "?");
}

Status PgConnection::WaitForNotifications(
    int timeout_ms, const std::function<void(std::string_view payload)>& each) {
  if (broken_) return Status::IOError("postgres: connection to the database lost");
  auto drain = [&] {
    while (PGnotify* notify = PQnotifies(conn_)) {
      std::string_view payload = notify->extra != nullptr ? notify->extra : "";
      each(payload);
      PQfreemem(notify);
    }
  };
  drain();
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  if (fd.fd < 0 || poll(&fd, 1, timeout_ms) < 0 || PQconsumeInput(conn_) == 0 ||
      PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    return Status::IOError("postgres: connection for notifications lost");
  }
  drain();
  return Status::Ok();
}

int PgConnection::backend_pid() const { return PQbackendPID(conn_); }

Status PgConnection::ErrorOf(pg_result* result, std::string_view what) {
  std::string message;
  std::string state;
  if (result != nullptr) {
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (primary != nullptr) message = primary;
    if (code != nullptr) state = code;
  }
  if (message.empty()) {
    message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
  }
  if (result != nullptr) PQclear(result);
  if (PQstatus(conn_) != CONNECTION_OK || BreaksConnection(state)) {
    broken_ = true;
    return Status::IOError("postgres: " + std::string(what) +
                           ": connection to the database lost (" + message + ")");
  }
  std::string text = "postgres: " + std::string(what) + ": " + message +
                     (state.empty() ? "" : " (SQLSTATE " + state + ")");
  if (state == "40001" || state == "40P01") return Status::Busy(std::move(text));
  if (state == "23505") return Status::AlreadyExists(std::move(text));
  if (state == "53100") return Status::IOError(text + ": No space left on device");
  return Status::IOError(std::move(text));
}

Result<PgResult> PgConnection::Exec(std::string_view sql, const PgParams& params) {
  if (broken_) return Status::IOError("postgres: connection to the database lost");
  if (!held_.empty()) return SendHeldWith(std::string(sql), params);
  const PgParams::Wire wire = params.ToWire();
  std::string statement(sql);
  PGresult* result =
      PQexecParams(conn_, statement.c_str(), static_cast<int>(params.size()), params.types_.data(),
                   wire.values.data(), wire.lengths.data(), wire.formats.data(), 1);
  ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return ErrorOf(result, statement.substr(0, statement.find_first_of(" \n")));
  }
  return PgResult(result);
}

void PgConnection::Begin() {
  held_.clear();
  held_.push_back(Held{"BEGIN", PgParams()});
  begun_ = true;
}

void PgConnection::Defer(std::string_view sql, PgParams params) {
  held_.push_back(Held{std::string(sql), std::move(params)});
}

Status PgConnection::Commit() {
  if (broken_) return Status::IOError("postgres: connection to the database lost");
  if (held_.size() == 1 && held_.front().sql == "BEGIN") {
    held_.clear();  // nothing was sent: nothing to commit
    begun_ = false;
    return Status::Ok();
  }
  Status s = held_.empty() ? Run("COMMIT") : SendHeldWith("COMMIT", PgParams()).status();
  if (!s.ok() && !broken_ && begun_) Rollback();  // a held statement failed before the COMMIT
  begun_ = false;
  return s;
}

void PgConnection::Rollback() {
  const bool on_server = begun_ && !(held_.size() >= 1 && held_.front().sql == "BEGIN");
  held_.clear();
  begun_ = false;
  if (on_server && !broken_) (void)Run("ROLLBACK");
}

Result<PgResult> PgConnection::SendHeldWith(const std::string& sql, const PgParams& params) {
  std::vector<Held> held;
  held.swap(held_);
  auto lost = [this](std::string_view why) {
    broken_ = true;
    return Status::IOError("postgres: connection to the database lost (" + std::string(why) + ": " +
                           PQerrorMessage(conn_) + ")");
  };
  if (PQenterPipelineMode(conn_) != 1) return lost("pipeline");
  auto send = [this](const std::string& statement, const PgParams& p) {
    const PgParams::Wire wire = p.ToWire();
    return PQsendQueryParams(conn_, statement.c_str(), static_cast<int>(p.size()), p.types_.data(),
                             wire.values.data(), wire.lengths.data(), wire.formats.data(), 1) == 1;
  };
  for (const Held& h : held) {
    if (!send(h.sql, h.params)) return lost("send");
  }
  if (!send(sql, params) || PQpipelineSync(conn_) != 1) return lost("send");
  // One result and a null for each statement, then the sync.
  Status first_error;
  PGresult* last = nullptr;
  const std::size_t statements = held.size() + 1;
  for (std::size_t i = 0; i < statements; ++i) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) return lost("no answer");
    const ExecStatusType status = PQresultStatus(result);
    const std::string& statement = i < held.size() ? held[i].sql : sql;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      if (i + 1 == statements) {
        last = result;
      } else {
        PQclear(result);
      }
    } else if (status == PGRES_PIPELINE_ABORTED) {
      PQclear(result);  // after the error below
    } else {
      Status error = ErrorOf(result, statement.substr(0, statement.find_first_of(" \n")));
      if (first_error.ok()) first_error = error;
      if (broken_) return first_error;
    }
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
  }
  PGresult* sync = PQgetResult(conn_);
  const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  if (sync != nullptr) PQclear(sync);
  if (!synced || PQexitPipelineMode(conn_) != 1) {
    if (last != nullptr) PQclear(last);
    return lost("pipeline end");
  }
  if (!first_error.ok()) {
    if (last != nullptr) PQclear(last);
    return first_error;
  }
  return PgResult(last);
}

Status PgConnection::Run(std::string_view sql) {
  if (broken_) return Status::IOError("postgres: connection to the database lost");
  std::string statement(sql);
  PGresult* result = PQexec(conn_, statement.c_str());
  ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return ErrorOf(result, statement.substr(0, statement.find_first_of(" \n;")));
  }
  PQclear(result);
  return Status::Ok();
}

}  // namespace herald::storage::postgres
