// Replies in `always` mode: the RESP server in-process over a store whose WAL syncs pass a
// gate the test holds (StoreOptions::before_wal_sync), raw sockets for exact bytes. A reply
// that confirms a write, or that may show one, leaves only after a sync that covers it; the
// replies of a pipeline keep their order; a failed sync answers every write of its batch with
// the error.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "tests/net/server_fixture.h"

namespace herald::net {
namespace {

using namespace std::chrono_literals;

// Commands as RESP arrays of bulk strings.
std::string Request(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& arg : args) {
    out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  return out;
}

// Holds every WAL sync until opened; counts the syncs that passed; fails the next `fail`.
class SyncGate {
 public:
  Status BeforeSync() {
    std::unique_lock lock(mu_);
    ++arrived_;
    arrived_cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    ++passed_;
    if (fail_ > 0) {
      --fail_;
      return Status::IOError("injected sync failure");
    }
    return Status::Ok();
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_ = n;
  }
  // Waits until a sync is held at the gate (false after 5 s).
  bool WaitForArrival(int count) {
    std::unique_lock lock(mu_);
    return arrived_cv_.wait_for(lock, 5s, [&] { return arrived_ >= count; });
  }
  int arrived() {
    std::lock_guard lock(mu_);
    return arrived_;
  }
  int passed() {
    std::lock_guard lock(mu_);
    return passed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable arrived_cv_;
  bool open_ = true;
  int arrived_ = 0;
  int passed_ = 0;
  int fail_ = 0;
};

class DurableRepliesTest : public ServerFixture {
 protected:
  void SetUp() override {
    store_options_.fsync = storage::FsyncMode::kAlways;
    store_options_.before_wal_sync = [this] { return gate_.BeforeSync(); };
    StartServer(ServerOptions{});
  }
  void TearDown() override {
    gate_.Open();
    StopServer();
  }

  SyncGate gate_;
};

TEST_F(DurableRepliesTest, APipelineOfWritesReadsAndErrorsIsAnsweredInOrderAfterOneSync) {
  RawConnection raw(server_->port());
  gate_.Close();
  const int arrived_before = gate_.arrived();
  std::string pipeline;
  pipeline += Request({"SET", "k", "1"});
  pipeline += Request({"GET", "k"});
  pipeline += Request({"INCR", "k"});
  pipeline += Request({"NOSUCHCOMMAND"});
  pipeline += Request({"LPUSH", "l", "a", "b"});
  pipeline += Request({"LPOP", "k"});  // WRONGTYPE
  pipeline += Request({"ADDJOB", "q", "payload", "JOBID", "job-1"});
  pipeline += Request({"QLEN", "q"});
  pipeline += Request({"PING"});
  raw.Send(pipeline);
  // The batch's writes wait at the gate: no reply of it may be sent before their sync.
  ASSERT_TRUE(gate_.WaitForArrival(arrived_before + 1));
  raw.SetReadTimeout(300ms);
  EXPECT_EQ(raw.ReadToClose(), "");
  gate_.Open();
  raw.SetReadTimeout(5s);
  const std::string expected =
      "+OK\r\n$1\r\n1\r\n:2\r\n-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "
      "\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
      "$5\r\njob-1\r\n:1\r\n+PONG\r\n";
  EXPECT_EQ(raw.Exchange("", expected), expected);
  // One sync covered the whole batch (the gate saw one, give or take a background one).
  EXPECT_LE(gate_.arrived() - arrived_before, 2);
}

TEST_F(DurableRepliesTest, AReadOfAnotherClientsUnsyncedWriteWaitsForItsSync) {
  RawConnection writer(server_->port());
  RawConnection reader(server_->port());
  gate_.Close();
  const int arrived_before = gate_.arrived();
  writer.Send(Request({"SET", "shared", "v"}));
  ASSERT_TRUE(gate_.WaitForArrival(arrived_before + 1));
  // The value is visible, but the reply that shows it waits for the write's sync.
  reader.Send(Request({"GET", "shared"}));
  reader.SetReadTimeout(300ms);
  EXPECT_EQ(reader.ReadToClose(), "");
  gate_.Open();
  reader.SetReadTimeout(5s);
  EXPECT_EQ(reader.Exchange("", "$1\r\nv\r\n"), "$1\r\nv\r\n");
  EXPECT_EQ(writer.Exchange("", "+OK\r\n"), "+OK\r\n");
  // With nothing unsynced, a read is answered without a sync.
  const int passed = gate_.passed();
  EXPECT_EQ(reader.Exchange(Request({"GET", "shared"}), "$1\r\nv\r\n"), "$1\r\nv\r\n");
  EXPECT_EQ(gate_.passed(), passed);
}

TEST_F(DurableRepliesTest, ABlockingPopInAPipelineParksOnlyItsConnection) {
  RawConnection blocked(server_->port());
  // The replies before the BLPOP go out (after their sync); the PING after it waits for it.
  EXPECT_EQ(blocked.Exchange(Request({"RPUSH", "other", "x"}) + Request({"BLPOP", "empty", "0"}) +
                                 Request({"PING"}),
                             ":1\r\n"),
            ":1\r\n");
  ASSERT_TRUE(WaitForBlocked(1));
  // Another client is served meanwhile, and its push wakes the parked one.
  RawConnection pusher(server_->port());
  EXPECT_EQ(pusher.Exchange(Request({"GET", "missing"}), "$-1\r\n"), "$-1\r\n");
  EXPECT_EQ(pusher.Exchange(Request({"RPUSH", "empty", "v"}), ":1\r\n"), ":1\r\n");
  const std::string expected = "*2\r\n$5\r\nempty\r\n$1\r\nv\r\n+PONG\r\n";
  EXPECT_EQ(blocked.Exchange("", expected), expected);
  EXPECT_EQ(Cmd({"LLEN", "empty"}), Int(0));
}

TEST_F(DurableRepliesTest, AFailedSyncAnswersEveryWriteOfTheBatchWithTheError) {
  RawConnection raw(server_->port());
  gate_.Close();
  gate_.FailNext(1);
  const int arrived_before = gate_.arrived();
  raw.Send(Request({"SET", "k", "v"}) + Request({"GET", "nothing"}) +
           Request({"MSET", "a", "1", "b", "2"}) + Request({"ADDJOB", "q", "p", "JOBID", "j-1"}) +
           Request({"PING"}));
  ASSERT_TRUE(gate_.WaitForArrival(arrived_before + 1));
  gate_.Open();
  const std::string error = "-ERR storage error: injected sync failure\r\n";
  const std::string expected = error + "$-1\r\n" + error + error + "+PONG\r\n";
  EXPECT_EQ(raw.Exchange("", expected), expected);
  // The connection goes on, and so do later writes once the disk syncs again.
  EXPECT_EQ(raw.Exchange(Request({"SET", "after", "1"}), "+OK\r\n"), "+OK\r\n");

  // Reopened: each command of the failed batch is there whole or not at all.
  StopServer();
  gate_.Open();
  StartServer(ServerOptions{});
  const resp::Reply a = Cmd({"GET", "a"});
  const resp::Reply b = Cmd({"GET", "b"});
  EXPECT_EQ(a.is_null(), b.is_null()) << a.ToString() << " " << b.ToString();
  if (!a.is_null()) {
    EXPECT_EQ(a, Bulk("1"));
    EXPECT_EQ(b, Bulk("2"));
  }
  const resp::Reply job = Cmd({"SHOW", "j-1"});
  const resp::Reply waiting = Cmd({"QLEN", "q"});
  EXPECT_EQ(waiting, Int(job.is_null() ? 0 : 1));
  EXPECT_EQ(Cmd({"GET", "after"}), Bulk("1"));
}

TEST_F(DurableRepliesTest, GetJobAckCompletesTheJobAndTakesTheNextInOneWrite) {
  ASSERT_EQ(Cmd({"ADDJOB", "work", "first", "JOBID", "w-1"}), Bulk("w-1"));
  ASSERT_EQ(Cmd({"ADDJOB", "work", "second", "JOBID", "w-2"}), Bulk("w-2"));
  resp::Reply taken = Cmd({"GETJOB", "NOHANG", "FROM", "work"});
  ASSERT_EQ(taken.elements.size(), 1u) << taken.ToString();
  ASSERT_EQ(taken.elements[0].elements[1], Bulk("w-1"));

  const std::string writes_before = Cmd({"INFO", "persistence"}).str;
  resp::Reply next =
      Cmd({"GETJOB", "NOHANG", "ACK", "w-1", "RESULT", "sent", "LEASE", "30000", "FROM", "work"});
  ASSERT_EQ(next.elements.size(), 1u) << next.ToString();
  EXPECT_EQ(next.elements[0].elements[1], Bulk("w-2"));
  const std::string writes_after = Cmd({"INFO", "persistence"}).str;
  auto field = [](const std::string& info, const std::string& name) {
    const std::size_t at = info.find(name + ":");
    return at == std::string::npos
               ? -1
               : std::stoll(
                     info.substr(at + name.size() + 1, info.find('\r', at) - at - name.size()));
  };
  EXPECT_EQ(field(writes_after, "store_writes") - field(writes_before, "store_writes"), 1);

  resp::Reply first = Cmd({"SHOW", "w-1"});
  ASSERT_FALSE(first.is_null());
  EXPECT_NE(first.ToString().find("completed"), std::string::npos) << first.ToString();
  EXPECT_NE(first.ToString().find("sent"), std::string::npos) << first.ToString();

  // Acknowledging a job this client does not hold is refused, and nothing is taken.
  ASSERT_EQ(Cmd({"ADDJOB", "work", "third", "JOBID", "w-3"}), Bulk("w-3"));
  const std::string refused = Err({"GETJOB", "NOHANG", "ACK", "w-1", "FROM", "work"});
  EXPECT_EQ(refused.rfind("NOJOB job w-1 is not active", 0), 0u) << refused;
  EXPECT_EQ(Cmd({"QLEN", "work"}), Int(1));
  // The last job: acknowledged with nothing left, the reply is empty (NOHANG).
  resp::Reply last = Cmd({"GETJOB", "NOHANG", "ACK", "w-2", "FROM", "work"});
  ASSERT_EQ(last.elements.size(), 1u) << last.ToString();
  EXPECT_EQ(last.elements[0].elements[1], Bulk("w-3"));
  resp::Reply none = Cmd({"GETJOB", "NOHANG", "ACK", "w-3", "FROM", "work"});
  EXPECT_TRUE(none.elements.empty()) << none.ToString();
  EXPECT_NE(Cmd({"SHOW", "w-3"}).ToString().find("completed"), std::string::npos);
  EXPECT_EQ(Err({"GETJOB", "ACK", "FROM", "work"}), "ERR syntax error");
}

TEST_F(DurableRepliesTest, ABlockingGetJobWithAckParksAfterTheAckAndIsWokenByAnAdd) {
  ASSERT_EQ(Cmd({"ADDJOB", "work", "only", "JOBID", "b-1"}), Bulk("b-1"));
  resp::Reply taken = Cmd({"GETJOB", "NOHANG", "FROM", "work"});
  ASSERT_EQ(taken.elements.size(), 1u);
  auto worker = Connect();
  SendOnly(worker.get(), {"GETJOB", "TIMEOUT", "0", "ACK", "b-1", "FROM", "work"});
  ASSERT_TRUE(WaitForBlocked(1));
  EXPECT_NE(Cmd({"SHOW", "b-1"}).ToString().find("completed"), std::string::npos);
  ASSERT_EQ(Cmd({"ADDJOB", "work", "later", "JOBID", "b-2"}), Bulk("b-2"));
  auto woken = worker->ReadReply();
  ASSERT_TRUE(woken.ok());
  ASSERT_EQ(woken->elements.size(), 1u) << woken->ToString();
  EXPECT_EQ(woken->elements[0].elements[1], Bulk("b-2"));
}

}  // namespace
}  // namespace herald::net
