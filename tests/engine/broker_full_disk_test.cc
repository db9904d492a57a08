// A Broker on a store whose disk fills up: its data directory on a small tmpfs of its own
// (mounted by the test; skipped where that is not allowed). An ACKJOB or NACK whose write
// fails keeps the job's lease: the job stays active and covered, the call can be repeated
// once there is room again, and an expiry of the lease still puts the job back.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "engine/broker.h"
#include "tests/engine/broker_fixture.h"
#include "tests/support/small_tmpfs.h"

namespace herald::engine {
namespace {

using namespace std::chrono_literals;
using storage::JobState;

// RocksDB takes writes again a while after the disk has room (its recovery polls).
constexpr std::chrono::seconds kRecoveryDeadline{30};

class BrokerFullDiskTest : public BrokerFixture {
 protected:
  void SetUp() override {
    const std::string why = tmpfs_.Mount("8m");
    if (!why.empty()) GTEST_SKIP() << "cannot mount a tmpfs here (" << why << ")";
    data_dir_ = tmpfs_.path() + "/db";
    Policy("q").max_attempts = 3;
    Policy("q").backoff_ms = 60000;
    BrokerFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(CreateBroker());
    AddJob("filler");  // its queue exists before the disk is full
    id_ = AddJob("q");
    leased_ = TakeOne("q", kMinLeaseMs);
    ASSERT_EQ(leased_.job.id, id_);
  }

  // Takes the room left; then adds until one fails (the WAL may have room set aside), after
  // which every write fails until there is room again.
  void FillDisk() {
    ASSERT_TRUE(tmpfs_.Fill());
    Status added;
    for (int i = 0; i < 1000 && added.ok(); ++i) {
      added = broker_->Add("filler", std::string(32 * 1024, 'x'), {}).status();
    }
    ASSERT_FALSE(added.ok()) << "the disk took 32 MiB more";
    ExpectDiskFull(added);
  }

  void MakeRoom() { ASSERT_TRUE(tmpfs_.Resize("64m")); }

  static void ExpectDiskFull(const Status& status) {
    EXPECT_TRUE(status.IsIOError()) << status.ToString();
    EXPECT_NE(status.ToString().find("No space left on device"), std::string::npos)
        << status.ToString();
  }

  // Repeats `call` (a Result<T>() callable) until it succeeds or the recovery deadline passes;
  // its last status.
  template <typename Call>
  Status UntilOk(Call call) {
    Status status = call().status();
    for (auto deadline = std::chrono::steady_clock::now() + kRecoveryDeadline;
         !status.ok() && std::chrono::steady_clock::now() < deadline;) {
      std::this_thread::sleep_for(100ms);
      status = call().status();
    }
    return status;
  }

  testing::SmallTmpfs tmpfs_{dir_.Sub("small")};
  std::string id_;
  LeasedJob leased_;
};

TEST_F(BrokerFullDiskTest, AnAckThatFailsOnAFullDiskSucceedsWhenRepeated) {
  ASSERT_NO_FATAL_FAILURE(FillDisk());
  auto acked = broker_->Ack(id_, "sent");
  ASSERT_FALSE(acked.ok());
  ExpectDiskFull(acked.status());
  EXPECT_EQ(broker_->Show(id_)->state, JobState::kActive);
  EXPECT_TRUE(broker_->ExtendLease(id_).ok()) << "the lease is gone";

  ASSERT_NO_FATAL_FAILURE(MakeRoom());
  Status repeated = UntilOk([&] { return broker_->Ack(id_, "sent"); });
  ASSERT_TRUE(repeated.ok()) << repeated.ToString();
  auto job = broker_->Show(id_);
  EXPECT_EQ(job->state, JobState::kCompleted);
  EXPECT_EQ(job->return_value, "sent");
  EXPECT_TRUE(broker_->Ack(id_).status().IsNotFound());
}

TEST_F(BrokerFullDiskTest, ANackThatFailsOnAFullDiskSucceedsWhenRepeated) {
  ASSERT_NO_FATAL_FAILURE(FillDisk());
  auto failed = broker_->Fail(id_, "smtp 451");
  ASSERT_FALSE(failed.ok());
  ExpectDiskFull(failed.status());
  EXPECT_EQ(broker_->Show(id_)->state, JobState::kActive);

  ASSERT_NO_FATAL_FAILURE(MakeRoom());
  Status repeated = UntilOk([&] { return broker_->Fail(id_, "smtp 451"); });
  ASSERT_TRUE(repeated.ok()) << repeated.ToString();
  auto job = broker_->Show(id_);
  EXPECT_EQ(job->state, JobState::kDelayed);
  EXPECT_EQ(job->last_error, "smtp 451");
  EXPECT_EQ(broker_->Counts("q")->active, 0u);
  EXPECT_TRUE(broker_->Fail(id_, "again").status().IsNotFound());
}

// The lease expires after the failed ACKJOB: first while the disk is still full (the expiry
// cannot be written either, and is tried again), then with room: the job is waiting again,
// its attempt counted.
TEST_F(BrokerFullDiskTest, ALeaseExpiringAfterAFailedAckPutsTheJobBack) {
  ASSERT_NO_FATAL_FAILURE(FillDisk());
  ASSERT_FALSE(broker_->Ack(id_, "sent").ok());
  clock_.Set(leased_.lease_until_ms);
  broker_->Tick();
  EXPECT_EQ(broker_->Show(id_)->state, JobState::kActive);

  ASSERT_NO_FATAL_FAILURE(MakeRoom());
  Status written = UntilOk([&] { return broker_->Add("filler", "x", {}); });
  ASSERT_TRUE(written.ok()) << written.ToString();
  EXPECT_EQ(broker_->Show(id_)->state, JobState::kActive);  // not before its retry is due
  clock_.Advance(1000);
  broker_->Tick();
  EXPECT_EQ(broker_->Show(id_)->state, JobState::kWaiting);
  EXPECT_TRUE(broker_->Ack(id_).status().IsNotFound());
  LeasedJob again = TakeOne("q");
  EXPECT_EQ(again.job.id, id_);
  EXPECT_EQ(again.job.attempts_made, 2u);
}

}  // namespace
}  // namespace herald::engine
