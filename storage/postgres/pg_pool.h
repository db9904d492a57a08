// Internal to storage/postgres. PgPool: up to `size` connections to one PostgreSQL database,
// each lent to one caller at a time. A connection is made when one is needed and none is idle;
// a broken one (PgConnection::broken) is dropped when it comes back, so that after a failover
// the next caller connects again, to whichever server the connection string finds now.
//
// Thread safety: thread-safe. A Lease is used by the thread that holds it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/postgres/pg_connection.h"

namespace herald::storage::postgres {

class PgPool {
 public:
  PgPool(std::string conninfo, std::size_t size);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection lent until the Lease goes.
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PgConnection* operator->() { return conn_.get(); }
    PgConnection& operator*() { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // An idle connection, or a new one while fewer than `size` exist; waits otherwise. IOError
  // when a new connection cannot be made (the server is down, or no primary is found).
  Result<Lease> Acquire() EXCLUDES(mu_);

  // Connections made so far (a reconnect after a failover adds one), for figures.
  std::size_t connects() const;

 private:
  void Return(std::unique_ptr<PgConnection> conn);

  const std::string conninfo_;
  const std::size_t size_;
  mutable Mutex mu_;
  std::condition_variable_any returned_;
  std::vector<std::unique_ptr<PgConnection>> idle_ GUARDED_BY(mu_);
  std::size_t open_ GUARDED_BY(mu_) = 0;  // lent or idle
  std::size_t connects_ GUARDED_BY(mu_) = 0;
};

}  // namespace herald::storage::postgres
