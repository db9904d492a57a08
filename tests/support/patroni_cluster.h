// PatroniCluster: a highly available PostgreSQL on loopback for the failover tests: three etcd
// members and three Patroni nodes, configured from deploy/patroni/*.yml.in (strict synchronous
// mode), each on free ports, with everything in one directory. Patroni and PostgreSQL run as the
// unprivileged `postgres` user when the tests run as root.
//
// Where etcd or Patroni is not installed, Start() says why and the tests skip (or fail, when
// PostgresRequired(): postgres_server.h).
//
// Thread safety: confined to the test's thread; the processes are its children.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace herald::testing {

class PatroniCluster {
 public:
  static constexpr int kNodes = 3;

  // Starts the cluster in `dir` (made and given to the postgres user) and waits, up to 90 s,
  // for a primary with a synchronous standby. nullptr and `why_not` (with the logs' tails)
  // when it cannot.
  static std::unique_ptr<PatroniCluster> Start(const std::string& dir, std::string* why_not);
  ~PatroniCluster();  // kills every process of the cluster
  PatroniCluster(const PatroniCluster&) = delete;
  PatroniCluster& operator=(const PatroniCluster&) = delete;

  // A libpq connection string naming the three nodes, for the one that takes writes.
  std::string ConnInfo(const std::string& db) const;
  // The node that is primary now (its Patroni says so), or -1.
  int Primary() const;
  // Waits for a primary other than `not_this` (-1: any) that has a synchronous standby; its
  // index, or -1 after `limit`.
  int WaitForPrimary(std::chrono::milliseconds limit, int not_this = -1) const;
  // SIGKILLs node `i`'s Patroni and its PostgreSQL (the postmaster; its backends end with it).
  void KillNode(int i);
  // psql on node `i` (tuples only, unaligned), its output without the last newline.
  std::string Psql(int i, const std::string& sql, const std::string& db = "postgres",
                   int* exit_code = nullptr) const;
  // The tail of every process's log, for failure messages.
  std::string Logs() const;

 private:
  PatroniCluster() = default;
  bool RestOk(int i, const std::string& path) const;

  std::string dir_;
  std::vector<int> pg_ports_;
  std::vector<int> rest_ports_;
  std::vector<std::unique_ptr<ChildProcess>> etcd_;
  std::vector<std::unique_ptr<ChildProcess>> patroni_;
};

}  // namespace herald::testing
