// Internal to storage/postgres. A libpq connection and the pieces of the extended query protocol
// the PostgreSQL store uses: statements with parameters sent in binary (bytea, text, integers,
// and one-dimensional arrays of them, so that a batch of jobs is one statement), results read in
// binary, and a server's error turned into a Status:
//   * a lost connection, a server shutting down or a standby that refuses writes (a failover
//     in progress): IOError, and the connection is marked broken (PgPool makes a new one);
//   * a serialization failure or deadlock: Busy (the caller may run the transaction again);
//   * a unique violation: AlreadyExists; anything else: IOError, with the server's message
//     and SQLSTATE.
//
// Thread safety: PgConnection is confined to one thread at a time (PgPool hands it out);
// PgParams and PgResult are plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace herald::storage::postgres {

// Parameters $1, $2, ... of one statement, in binary.
class PgParams {
 public:
  PgParams& Bytes(std::string_view value);  // bytea
  PgParams& Text(std::string_view value);   // text
  PgParams& Int64(std::int64_t value);      // int8
  PgParams& Int32(std::int32_t value);      // int4
  PgParams& Int16(std::int16_t value);      // int2
  PgParams& Bool(bool value);               // bool
  // One-dimensional arrays (unnest($n) in SQL makes rows of them).
  PgParams& BytesArray(const std::vector<std::string>& values);   // bytea[]
  PgParams& TextArray(const std::vector<std::string>& values);    // text[]
  PgParams& Int64Array(const std::vector<std::int64_t>& values);  // int8[]
  PgParams& Int16Array(const std::vector<std::int16_t>& values);  // int2[]

  std::size_t size() const { return values_.size(); }

 private:
  friend class PgConnection;
  // The values as libpq takes them (pointers into this PgParams, which must outlive them).
  struct Wire {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };
  Wire ToWire() const;

  PgParams& Add(unsigned int type, std::string value);

  std::vector<unsigned int> types_;
  std::vector<std::string> values_;
};

// The rows of a statement, read in binary. Accessors take (row, column) within bounds; the
// column's SQL type must be the one asked for (the store's statements cast where needed).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  bool IsNull(int row, int column) const;
  std::string_view Bytes(int row, int column) const;  // bytea or text
  std::int64_t Int64(int row, int column) const;
  std::int32_t Int32(int row, int column) const;
  std::int16_t Int16(int row, int column) const;
  bool Bool(int row, int column) const;
  // The number of rows a command changed (INSERT, UPDATE, DELETE).
  std::uint64_t affected() const;

 private:
  pg_result* result_ = nullptr;
};

class PgConnection {
 public:
  // Connects with a libpq connection string (multi-host with target_session_attrs=read-write
  // finds the primary). IOError naming the server's answer when it cannot.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // One statement with parameters; rows in binary.
  Result<PgResult> Exec(std::string_view sql, const PgParams& params = PgParams());
  // Statements without parameters, several separated by ';' allowed (migrations).
  Status Run(std::string_view sql);

  // A transaction whose statements travel together: Begin() and Defer() hold statements whose
  // rows nobody reads (BEGIN, UPDATE, DELETE, NOTIFY); they go out in one pipeline with the
  // next Exec, or with the COMMIT of Commit(), so that a transaction of a SELECT FOR UPDATE and
  // its UPDATE costs two round trips, not four. An error of a held statement is the error of
  // the Exec or Commit that sent it; the statements after it in the pipeline do not run.
  void Begin();
  void Defer(std::string_view sql, PgParams params);
  // Sends what is held and COMMIT. When a held statement failed, the transaction is rolled back
  // and its error returned; a COMMIT without an answer leaves broken() true.
  Status Commit();
  // Drops what is held and ends the transaction, if one was begun on the server.
  void Rollback();
  // Statements held and not sent yet (a connection returned with some is not used again).
  bool holds_statements() const { return !held_.empty(); }
  // Once a statement failed because the connection or the server went away, or the server is
  // a standby: the connection is not used again.
  bool broken() const { return broken_; }
  // Waits up to `timeout_ms` for notifications (LISTEN) and calls `each` with the payload of
  // every one that came. IOError once the connection is lost.
  Status WaitForNotifications(int timeout_ms,
                              const std::function<void(std::string_view payload)>& each);
  // "host:port" of the server connected to, for logs.
  std::string server() const;
  // The server's process for this connection (pg_backend_pid), for tests that end it.
  int backend_pid() const;

 private:
  struct Held {
    std::string sql;
    PgParams params;
  };

  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  Status ErrorOf(pg_result* result, std::string_view what);
  // Sends the held statements and `sql` in one pipeline; the result of `sql`, or the first
  // error.
  Result<PgResult> SendHeldWith(const std::string& sql, const PgParams& params);

  pg_conn* conn_;
  bool broken_ = false;
  bool begun_ = false;  // BEGIN sent (or held) and no COMMIT or ROLLBACK after it
  std::vector<Held> held_;
};

}  // namespace herald::storage::postgres
