#include "storage/postgres/pg_pool.h"

namespace herald::storage::postgres {

PgPool::PgPool(std::string conninfo, std::size_t size)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size) {}

PgPool::~PgPool() = default;

PgPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Return(std::move(conn_));
}

Result<PgPool::Lease> PgPool::Acquire() {
  {
    MutexLock lock(&mu_);
    // Waits on the Mutex itself (condition_variable_any), which MutexLock holds around it.
    returned_.wait(mu_,
                   [&]() NO_THREAD_SAFETY_ANALYSIS { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // this slot is ours while connecting (outside the lock: it takes a round trip)
  }
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(conninfo_);
  MutexLock lock(&mu_);
  if (!conn.ok()) {
    --open_;
    returned_.notify_one();
    return conn.status();
  }
  ++connects_;
  return Lease(this, std::move(*conn));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  MutexLock lock(&mu_);
  // Statements held and never sent mean a transaction left half done: not used again.
  if (conn->broken() || conn->holds_statements()) {
    --open_;
    conn.reset();
  } else {
    idle_.push_back(std::move(conn));
  }
  returned_.notify_one();
}

std::size_t PgPool::connects() const {
  MutexLock lock(&mu_);
  return connects_;
}

}  // namespace herald::storage::postgres
