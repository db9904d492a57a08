// kill -9 in the middle of a stream of adds: every add the child reported as done (it reports
// only after Add returned OK in `always` mode) must be there after reopening.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/kv_store.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<spdlog::logger> NullLogger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A store in `dir` that syncs every write before returning.
StoreOptions AlwaysOptions(const std::string& dir) {
  StoreOptions options;
  options.data_dir = dir;
  options.fsync = FsyncMode::kAlways;
  options.logger = NullLogger();
  return options;
}

// In the forked child: opens an `always` store in `dir`, or exits with status 2.
std::unique_ptr<Store> OpenInChild(const std::string& dir) {
  auto store = Store::Open(AlwaysOptions(dir));
  if (!store.ok()) _exit(2);
  return std::move(store).value();
}

// In the forked child: writes `line` and a newline to `fd`, all of it, or exits with status 5.
void WriteLineInChild(int fd, const std::string& line) {
  const std::string out = line + "\n";
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(5);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Runs in the forked child: adds jobs forever, writing "<id>\n" to `fd` after each one is
// durable. Never returns.
[[noreturn]] void AddUntilKilled(const std::string& dir, int fd) {
  std::unique_ptr<Store> store = OpenInChild(dir);
  if (!store->EnsureQueue("crash").ok()) _exit(3);
  for (std::uint64_t i = 0;; ++i) {
    NewJob job;
    job.payload = "payload-" + std::to_string(i);
    if (i % 3 == 0) job.id = "evt-" + std::to_string(i);  // some caller ids too
    auto added = store->Add("crash", std::move(job), 1'700'000'000'000);
    if (!added.ok()) _exit(4);
    WriteLineInChild(fd, added->id);
  }
}

// Runs in the forked child: eight threads add jobs forever, each writing "<id>\n" to `fd`
// once its add is durable, so that adds are committed in groups (one line is one write(2),
// which a pipe keeps whole). Never returns.
[[noreturn]] void AddConcurrentlyUntilKilled(const std::string& dir, int fd) {
  std::unique_ptr<Store> store = OpenInChild(dir);
  if (!store->EnsureQueue("crash").ok()) _exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&store, fd, t] {
      for (std::uint64_t i = 0;; ++i) {
        NewJob job;
        job.payload = "payload-" + std::to_string(t) + "-" + std::to_string(i);
        if (i % 2 == 0) job.id = "evt-" + std::to_string(t) + "-" + std::to_string(i);
        auto added = store->Add("crash", std::move(job), 1'700'000'000'000);
        if (!added.ok()) _exit(4);
        WriteLineInChild(fd, added->id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  _exit(7);  // not reached
}

// Runs in the forked child: one thread keeps 64 adds in flight with AddAsync, writing
// "<id>\n" to `fd` from each callback (once that add is durable). Never returns.
[[noreturn]] void AddAsyncUntilKilled(const std::string& dir, int fd) {
  std::unique_ptr<Store> store = OpenInChild(dir);
  if (!store->EnsureQueue("crash").ok()) _exit(3);
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  for (std::uint64_t i = 0;; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < 64; });
      ++in_flight;
    }
    NewJob job;
    job.payload = "payload-" + std::to_string(i);
    if (i % 4 == 0) job.id = "evt-" + std::to_string(i);
    store->AddAsync("crash", std::move(job), 1'700'000'000'000, [&, fd](Result<AddResult> added) {
      if (!added.ok()) _exit(4);
      WriteLineInChild(fd, added->id);
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      cv.notify_one();
    });
  }
}

// Splits complete lines off `buffer`.
void TakeLines(std::string* buffer, std::vector<std::string>* lines) {
  std::size_t start = 0;
  for (std::size_t nl; (nl = buffer->find('\n', start)) != std::string::npos; start = nl + 1) {
    lines->push_back(buffer->substr(start, nl - start));
  }
  buffer->erase(0, start);
}

// Runs in the forked child: a client's pipeline that writes database 0, then database 9, then
// database 0 again, in one KvWriteGroup, over and over (round i sets "n" to i in each);
// writes "<i>\n" to `fd` once the group committed. Never returns.
[[noreturn]] void WriteTwoDatabasesUntilKilled(const std::string& dir, int fd) {
  std::unique_ptr<Store> store = OpenInChild(dir);
  KvStore& zero = store->kv();
  auto nine = store->kv(9);
  if (!nine.ok()) _exit(3);
  for (std::uint64_t i = 1;; ++i) {
    const std::string value = std::to_string(i);
    KvWriteGroup group(&zero);
    if (!zero.Set("n", value, &group).ok()) _exit(4);
    if (!(*nine)->Set("n", value, &group).ok()) _exit(4);
    if (!zero.Set("m", value, &group).ok()) _exit(4);
    if (!group.Commit().ok()) _exit(6);
    WriteLineInChild(fd, value);
  }
}

// Forks a child that runs `child` (which writes a line per acknowledged write to the fd it is
// given, until killed), reads `before_kill` lines, kills it with SIGKILL mid-stream and
// returns every line it wrote.
template <typename Child>
std::vector<std::string> RunAndKill(const std::string& db, std::size_t before_kill, Child child) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child(db, fds[1]);
  }
  close(fds[1]);

  std::vector<std::string> acked;
  std::string buffer;
  char chunk[4096];
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (acked.size() < before_kill && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    TakeLines(&buffer, &acked);
  }
  EXPECT_EQ(kill(pid, SIGKILL), 0);
  // Everything the child wrote before dying counts as acknowledged too.
  while (true) {
    ssize_t n = read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  TakeLines(&buffer, &acked);
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_GE(acked.size(), before_kill);
  return acked;
}

// Reopens the store in `db` after the kill: every add in `acked` is there, waiting, and
// sequence numbers continue past everything handed out before the crash.
void ExpectEveryAckedAddKept(const std::string& db, const std::vector<std::string>& acked) {
  auto store = Store::Open(AlwaysOptions(db));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::size_t missing = 0;
  std::uint64_t max_seq = 0;
  for (const auto& id : acked) {
    auto job = (*store)->Get(id);
    if (!job.ok()) {
      ++missing;
      ADD_FAILURE() << "acknowledged job " << id << ": " << job.status().ToString();
      continue;
    }
    EXPECT_EQ(job->state, JobState::kWaiting);
    EXPECT_EQ(job->payload.rfind("payload-", 0), 0u) << id;
    max_seq = std::max(max_seq, job->seq);
  }
  EXPECT_EQ(missing, 0u);
  auto counts = (*store)->Counts("crash");
  ASSERT_TRUE(counts.ok());
  EXPECT_GE(counts->waiting, acked.size());
  auto added = (*store)->Add("crash", NewJob{}, 1'700'000'000'000);
  ASSERT_TRUE(added.ok());
  EXPECT_GT((*store)->Get(added->id)->seq, max_seq);
}

// Runs `child` (an adder) until it acknowledged `before_kill` adds, kills it, checks them all.
void KillAddsAndCheck(std::size_t before_kill, void (*child)(const std::string&, int)) {
  testing::TempDir dir;
  const std::string db = dir.Sub("db");
  std::vector<std::string> acked = RunAndKill(db, before_kill, child);
  ASSERT_GE(acked.size(), before_kill);
  ExpectEveryAckedAddKept(db, acked);
}

// A few hundred adds acknowledged, then a kill mid-stream.
TEST(CrashTest, KillNineLosesNoAcknowledgedAdd) { KillAddsAndCheck(300, AddUntilKilled); }

// The same with eight writers, whose adds share WAL writes and syncs.
TEST(CrashTest, KillNineLosesNoAcknowledgedAddOfConcurrentWriters) {
  KillAddsAndCheck(600, AddConcurrentlyUntilKilled);
}

// Adds kept in flight by one thread (AddAsync), acknowledged from the syncer's thread.
TEST(CrashTest, KillNineLosesNoAcknowledgedAsyncAdd) {
  KillAddsAndCheck(1000, AddAsyncUntilKilled);
}

// A group with writes to two databases: each acknowledged round is there after kill -9 in
// both, and the writes reach the disk in the order they were made, across databases (database
// 9 never holds a round that database 0 lacks, nor "m" one that database 9 lacks).
TEST(CrashTest, KillNineLosesNoAcknowledgedWriteOfAGroupAcrossDatabases) {
  testing::TempDir dir;
  const std::string db = dir.Sub("db");
  constexpr std::size_t kBeforeKill = 300;
  std::vector<std::string> acked = RunAndKill(db, kBeforeKill, WriteTwoDatabasesUntilKilled);
  ASSERT_GE(acked.size(), kBeforeKill);
  const std::uint64_t last_acked = std::stoull(acked.back());

  auto store = Store::Open(AlwaysOptions(db));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto read = [](KvStore& kv, const std::string& key) -> std::uint64_t {
    auto value = kv.Get(key);
    EXPECT_TRUE(value.ok() && value->has_value()) << key;
    return value.ok() && value->has_value() ? std::stoull(**value) : 0;
  };
  const std::uint64_t n0 = read((*store)->kv(), "n");
  const std::uint64_t n9 = read(*(*store)->kv(9).value(), "n");
  const std::uint64_t m0 = read((*store)->kv(), "m");
  EXPECT_GE(m0, last_acked);
  EXPECT_GE(n0, n9);
  EXPECT_GE(n9, m0);
}

}  // namespace
}  // namespace herald::storage
