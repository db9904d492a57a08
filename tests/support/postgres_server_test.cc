#include "tests/support/postgres_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PostgresServerTest, RunsStatementsInANewDatabase) {
  std::string why_not;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  ASSERT_TRUE(server->running());
  ASSERT_EQ(server->CreateDatabase("t1"), "");
  EXPECT_EQ(server->Psql(
                "create table x(a int); insert into x values (1),(2); select sum(a) from x", "t1"),
            "3");
  EXPECT_EQ(server->Psql("show fsync"), "on");
  EXPECT_EQ(server->ConnInfo("t1"), "host=127.0.0.1 port=" + std::to_string(server->port()) +
                                        " user=herald dbname=t1 connect_timeout=10");
}

TEST(PostgresServerTest, CommittedRowsSurviveKillAndStop) {
  std::string why_not;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  ASSERT_EQ(server->CreateDatabase("t1"), "");
  ASSERT_EQ(server->Psql(
                "create table x(a int); insert into x values (1),(2); select sum(a) from x", "t1"),
            "3");

  server->Kill();
  EXPECT_FALSE(server->running());
  int exit_code = 0;
  server->Psql("select 1", "t1", &exit_code);
  EXPECT_NE(exit_code, 0);
  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(server->Psql("select sum(a) from x", "t1", &exit_code), "3");
  EXPECT_EQ(exit_code, 0);

  server->Stop();
  EXPECT_FALSE(server->running());
  server->Psql("select 1", "t1", &exit_code);
  EXPECT_NE(exit_code, 0);
  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(server->Psql("insert into x values (3); select sum(a) from x", "t1"), "6");
}

TEST(PostgresServerTest, KillEndsOpenSessionsAndRestartSucceeds) {
  std::string why_not;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  std::string bin_dir = server->Psql("select setting from pg_config where name = 'BINDIR'");
  ASSERT_FALSE(bin_dir.empty());
  TempDir temp;
  // A session of its own, outside the server object; env -i: nothing from the test's
  // environment (PGOPTIONS, PGSSLMODE) reaches it.
  ChildProcess session({"/usr/bin/env", "-i", bin_dir + "/psql", "-X", "-d", server->ConnInfo(),
                        "-c", "select pg_sleep(120)"},
                       temp.Sub("session.out"));
  std::string sleeping;
  for (int i = 0; i < 200 && sleeping != "1"; ++i) {
    sleeping =
        server->Psql("select count(*) from pg_stat_activity where query = 'select pg_sleep(120)'");
    if (sleeping != "1") std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(sleeping, "1");

  server->Kill();
  EXPECT_NE(session.Wait(seconds(10)), 0);  // its backend ended with the postmaster
  EXPECT_FALSE(WaitForPort(server->port(), milliseconds(200)));
  ASSERT_TRUE(server->Restart());
  EXPECT_EQ(server->Psql("select 1"), "1");
}

TEST(PostgresServerTest, DestructionStopsTheServerAndRemovesItsDirectory) {
  std::string why_not;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  int port = server->port();
  std::string data_dir = server->Psql("show data_directory");
  ASSERT_FALSE(data_dir.empty());
  std::filesystem::path dir = std::filesystem::path(data_dir).parent_path();
  ASSERT_TRUE(std::filesystem::exists(dir));

  server.reset();
  EXPECT_FALSE(WaitForPort(port, seconds(1)));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresServerTest, DestructionAfterKillRemovesTheDirectory) {
  std::string why_not;
  std::unique_ptr<PostgresServer> server = PostgresServer::Start(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  std::filesystem::path dir =
      std::filesystem::path(server->Psql("show data_directory")).parent_path();
  server->Kill();
  server.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PostgresServerTest, SqlReachesTheServerUnchanged) {
  std::string why_not;
  PostgresServer* server = SharedPostgresServer(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  EXPECT_EQ(server->Psql("select 'it''s $HOME `id` \"q\" \\n; ok'"),
            "it's $HOME `id` \"q\" \\n; ok");
}

TEST(PostgresServerTest, PsqlReportsSqlErrors) {
  std::string why_not;
  PostgresServer* server = SharedPostgresServer(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  int exit_code = 0;
  server->Psql("select * from no_such_table", "postgres", &exit_code);
  EXPECT_NE(exit_code, 0);
  EXPECT_EQ(server->CreateDatabase("bad\"name\"but fine"), "");  // quoted, not injected
  EXPECT_EQ(server->Psql("select 1", "bad\"name\"but fine", &exit_code), "1");
  EXPECT_EQ(exit_code, 0);
}

TEST(PostgresServerTest, CreateDatabaseReplacesAnExistingOne) {
  std::string why_not;
  PostgresServer* server = SharedPostgresServer(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(server, why_not);
  ASSERT_EQ(server->CreateDatabase("t2"), "");
  ASSERT_EQ(server->Psql("create table y(a int); select count(*) from y", "t2"), "0");
  ASSERT_EQ(server->CreateDatabase("t2"), "");
  EXPECT_EQ(server->Psql("select count(*) from pg_tables where tablename = 'y'", "t2"), "0");
}

TEST(PostgresServerTest, SharedServerIsStartedOnce) {
  std::string why_not;
  PostgresServer* first = SharedPostgresServer(&why_not);
  HERALD_SKIP_WITHOUT_POSTGRES(first, why_not);
  EXPECT_EQ(SharedPostgresServer(&why_not), first);
  EXPECT_TRUE(first->running());
}

}  // namespace
}  // namespace herald::testing
