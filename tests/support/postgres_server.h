// PostgresServer: a real PostgreSQL server of its own for tests of the PostgreSQL store
// backend: `initdb` into a fresh temporary directory (a copy of the cluster the first initdb on
// this machine made, kept in the temp directory, when there is one: much faster), `postgres`
// listening on a free loopback port with its unix socket in that directory, stopped and
// removed when the object goes away.
// When the tests run as root (PostgreSQL refuses to), the cluster belongs to the unprivileged
// `postgres` user (Debian's package creates it), or `nobody` where there is none.
//
// Where PostgreSQL is not installed, Start() says why and the tests skip.
//
// Thread safety: confined to one thread (the test's). The server process is the child of the
// thread that started it and gets SIGQUIT (immediate shutdown) should that thread or the
// program end first, so a crashed test leaves no postmaster behind (its directory stays).
#pragma once

#include <memory>
#include <string>

namespace herald::testing {

class PostgresServer {
 public:
  // Starts a new cluster (superuser "herald", trust authentication on loopback and the
  // socket; fsync on, as in production, so that durability is what is measured). nullptr and
  // `why_not` set when it cannot (no PostgreSQL binaries, initdb or the server failing: the
  // reason names the step and quotes its output).
  static std::unique_ptr<PostgresServer> Start(std::string* why_not);
  ~PostgresServer();  // stops the server (SIGQUIT, then SIGKILL) and removes its directory
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // A libpq connection string for database `db` over TCP on 127.0.0.1 (user "herald").
  std::string ConnInfo(const std::string& db = "postgres") const;
  // Creates database `name` (dropping one of that name first). "" on success, otherwise the
  // error.
  std::string CreateDatabase(const std::string& name);
  // Runs one SQL statement (or several separated by ';', sent as one query string: one
  // implicit transaction, so CREATE DATABASE or VACUUM must come alone) in database `db`
  // through psql, without a shell, and returns its unaligned, tuples-only output without the
  // last newline; `exit_code` (may be null) gets psql's exit status (0 on success, 1 for an
  // SQL error, 2 when the server cannot be reached).
  std::string Psql(const std::string& sql, const std::string& db = "postgres",
                   int* exit_code = nullptr);
  // SIGKILLs the postmaster (a crash: its children end too) and waits for it and its
  // children to be gone and the port to refuse connections.
  void Kill();
  // Starts the server again on the same directory and port after Kill() or Stop() (a
  // running server is stopped first); false, and the reason on stderr, when it does not
  // accept queries within 30 s.
  bool Restart();
  // Stops the server cleanly (fast shutdown) and waits for it.
  void Stop();
  bool running() const { return pid_ > 0; }

 private:
  PostgresServer() = default;
  bool Launch(std::string* why_not);
  // Stops the running postmaster: SIGQUIT, then Kill() when it is not gone within 10 s.
  void QuitOrKill();

  std::string dir_;      // the temporary directory: data/ and the socket
  std::string bin_dir_;  // /usr/lib/postgresql/<version>/bin
  std::string run_as_;   // "" or the unprivileged user the cluster belongs to
  int port_ = 0;
  int pid_ = -1;  // the postmaster
};

// One server for a whole test program, started at first use and stopped when the program
// exits; nullptr (and `why_not`) when it cannot be started. Each test makes its own database
// on it (CreateDatabase) so that tests do not see each other's tables.
PostgresServer* SharedPostgresServer(std::string* why_not);

// Whether the tests must have PostgreSQL (HERALD_REQUIRE_POSTGRES set, as the test command
// does): then a server that cannot start fails the test instead of skipping it.
bool PostgresRequired();

}  // namespace herald::testing

// In a test or SetUp: when `server` is null, fails (PostgresRequired) or skips, saying why.
#define HERALD_SKIP_WITHOUT_POSTGRES(server, why_not)                 \
  do {                                                                \
    if ((server) == nullptr) {                                        \
      if (::herald::testing::PostgresRequired()) FAIL() << (why_not); \
      GTEST_SKIP() << "no PostgreSQL: " << (why_not);                 \
    }                                                                 \
  } while (0)

namespace herald::testing {}  // namespace herald::testing
