// PgConnection's held statements (Begin, Defer, Commit, Rollback): they go out with the next
// statement or the COMMIT, in order; one that fails fails the whole transaction and leaves the
// connection usable; a session ended by the server leaves it broken. Against a real PostgreSQL.
#include "storage/postgres/pg_connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/support/postgres_server.h"

namespace herald::storage::postgres {
namespace {

class PgConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::SharedPostgresServer(&why_not);
    HERALD_SKIP_WITHOUT_POSTGRES(server_, why_not);
    static int databases = 0;
    db_ = "pgconn_" + std::to_string(++databases);
    ASSERT_EQ(server_->CreateDatabase(db_), "");
    conn_ = Connect();
    ASSERT_TRUE(conn_);
    ASSERT_TRUE(conn_->Run("CREATE TABLE t (k int4 PRIMARY KEY)").ok());
  }

  std::unique_ptr<PgConnection> Connect() {
    auto conn = PgConnection::Connect(server_->ConnInfo(db_));
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(conn).value() : nullptr;
  }

  static void Insert(PgConnection* c, std::int32_t k) {
    c->Defer("INSERT INTO t (k) VALUES ($1)", PgParams().Int32(k));
  }

  // Rows of t, read on a connection of its own (what others see).
  std::int64_t Rows(const std::string& where = "true") {
    auto other = Connect();
    auto rows = other->Exec("SELECT count(*) FROM t WHERE " + where);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows->Int64(0, 0) : -1;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(PgConnectionTest, HeldStatementsGoOutInOrderWithTheNextStatementAndTheCommit) {
  conn_->Begin();
  Insert(conn_.get(), 1);
  EXPECT_TRUE(conn_->holds_statements());
  auto seen = conn_->Exec("SELECT count(*) FROM t");  // BEGIN and the INSERT go first
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->Int64(0, 0), 1);
  EXPECT_FALSE(conn_->holds_statements());
  EXPECT_EQ(Rows(), 0);  // not committed yet: others do not see it
  Insert(conn_.get(), 2);
  conn_->Defer("DELETE FROM t WHERE k = $1", PgParams().Int32(1));
  ASSERT_TRUE(conn_->Commit().ok());
  EXPECT_EQ(Rows(), 1);
  EXPECT_EQ(Rows("k = 2"), 1);
}

TEST_F(PgConnectionTest, AHeldStatementThatFailsFailsTheCommitAndLeavesNothing) {
  conn_->Begin();
  Insert(conn_.get(), 3);
  Insert(conn_.get(), 3);  // a unique violation
  Insert(conn_.get(), 4);
  Status committed = conn_->Commit();
  EXPECT_TRUE(committed.IsAlreadyExists()) << committed.ToString();
  EXPECT_FALSE(conn_->broken());
  EXPECT_FALSE(conn_->holds_statements());
  EXPECT_EQ(Rows(), 0);
  // Rolled back: the connection takes the next transaction.
  conn_->Begin();
  Insert(conn_.get(), 5);
  ASSERT_TRUE(conn_->Commit().ok());
  EXPECT_EQ(Rows(), 1);
}

TEST_F(PgConnectionTest, AHeldStatementThatFailsIsTheErrorOfTheStatementThatSentIt) {
  conn_->Begin();
  conn_->Defer("INSERT INTO missing_table VALUES (1)", PgParams());
  auto read = conn_->Exec("SELECT count(*) FROM t");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("missing_table"), std::string::npos)
      << read.status().ToString();
  conn_->Rollback();
  auto after = conn_->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->Int64(0, 0), 0);
}

TEST_F(PgConnectionTest, RollbackDropsHeldStatementsAndWhatWasSent) {
  conn_->Begin();
  Insert(conn_.get(), 6);
  conn_->Rollback();  // nothing was sent
  EXPECT_FALSE(conn_->holds_statements());
  conn_->Begin();
  Insert(conn_.get(), 7);
  ASSERT_TRUE(conn_->Exec("SELECT 1").ok());  // sent: the transaction is open on the server
  conn_->Rollback();
  EXPECT_EQ(Rows(), 0);
  // A commit of nothing but BEGIN sends nothing and succeeds.
  conn_->Begin();
  EXPECT_TRUE(conn_->Commit().ok());
}

TEST_F(PgConnectionTest, ASessionEndedByTheServerFailsTheCommitAndBreaksTheConnection) {
  const int pid = conn_->backend_pid();
  int code = 0;
  server_->Psql("SELECT pg_terminate_backend(" + std::to_string(pid) + ")", db_, &code);
  ASSERT_EQ(code, 0);
  conn_->Begin();
  Insert(conn_.get(), 8);
  Status committed = conn_->Commit();
  EXPECT_TRUE(committed.IsIOError()) << committed.ToString();
  EXPECT_TRUE(conn_->broken());
  EXPECT_EQ(Rows(), 0);
}

}  // namespace
}  // namespace herald::storage::postgres
