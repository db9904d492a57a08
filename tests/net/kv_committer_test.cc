// KvCommitter with a real store in a temp dir and a real io_context: the groups handed over
// while the I/O thread is busy are committed together, and their writes are durable.
#include "net/kv_committer.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/durability.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::net {
namespace {

namespace asio = boost::asio;

class KvCommitterTest : public ::testing::TestWithParam<storage::FsyncMode> {
 protected:
  void Open() {
    storage::StoreOptions options;
    options.data_dir = dir_.Sub("db");
    options.fsync = GetParam();
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    durability_ = std::make_unique<engine::Durability>(store_.get());
  }

  // A callback for Enqueue that records the outcome on the I/O thread, with whether the
  // store then held nothing that was not durable (in `always` mode the committer calls back
  // from the syncer's thread, after the sync).
  KvCommitter::Done Record(asio::io_context& io, std::vector<Status>* outcomes) {
    return [this, &io, outcomes](Status s) {
      const bool durable = store_->AllDurable();
      asio::post(io, [outcomes, durable, s = std::move(s)] {
        EXPECT_TRUE(durable);
        outcomes->push_back(s);
      });
    };
  }
  // Runs `io` until `count` outcomes are in.
  static void RunUntil(asio::io_context& io, const std::vector<Status>& outcomes,
                       std::size_t count) {
    auto busy = asio::make_work_guard(io);  // waits for the callbacks posted from elsewhere
    for (int i = 0; i < 1000 && outcomes.size() < count; ++i) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
  }

  testing::TempDir dir_;
  // Outlives the store: the store's WAL syncer thread posts the last outcomes into it and may
  // still be inside that post when the test has its outcomes.
  asio::io_context io_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<engine::Durability> durability_;
};

TEST_P(KvCommitterTest, GroupsHandedOverTogetherShareOneCommitAndAreDurable) {
  Open();
  asio::io_context& io = io_;
  KvCommitter committer(io.get_executor(), &store_->kv(), durability_.get());
  std::vector<Status> outcomes;
  // Ten clients' batches run in one handler, as reads ready at the same time run before the
  // commit that the first of them scheduled.
  asio::post(io, [&] {
    for (int i = 0; i < 10; ++i) {
      storage::KvWriteGroup group(&store_->kv());
      ASSERT_TRUE(store_->kv()
                      .Push("list", {"v" + std::to_string(i)}, storage::ListEnd::kRight, &group)
                      .ok());
      ASSERT_TRUE(store_->kv().Set("key" + std::to_string(i), "x", &group).ok());
      ASSERT_FALSE(group.empty());
      committer.Enqueue(&group, Record(io, &outcomes));
      EXPECT_TRUE(group.empty());
    }
  });
  RunUntil(io, outcomes, 10);
  ASSERT_EQ(outcomes.size(), 10u);
  for (const Status& s : outcomes) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(committer.groups(), 10u);
  EXPECT_EQ(committer.commits(), 1u);

  store_.reset();
  Open();
  auto len = store_->kv().Len("list");
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(*len, 10);
  auto value = store_->kv().Get("key9");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or(""), "x");
}

TEST_P(KvCommitterTest, AGroupHandedOverAfterACommitGetsTheNext) {
  Open();
  asio::io_context& io = io_;
  KvCommitter committer(io.get_executor(), &store_->kv(), durability_.get());
  std::vector<Status> outcomes;
  auto write_and_enqueue = [&](const std::string& value) {
    storage::KvWriteGroup group(&store_->kv());
    ASSERT_TRUE(store_->kv().Push("list", {value}, storage::ListEnd::kRight, &group).ok());
    committer.Enqueue(&group, Record(io, &outcomes));
  };
  asio::post(io, [&] { write_and_enqueue("a"); });
  RunUntil(io, outcomes, 1);
  asio::post(io, [&] { write_and_enqueue("b"); });
  RunUntil(io, outcomes, 2);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const Status& s : outcomes) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(committer.commits(), 2u);
  auto range = store_->kv().Range("list", 0, -1);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*range, (std::vector<std::string>{"a", "b"}));
}

TEST_P(KvCommitterTest, AGroupWithWritesToSeveralDatabasesIsCommittedWhole) {
  Open();
  asio::io_context& io = io_;
  KvCommitter committer(io.get_executor(), &store_->kv(), durability_.get());
  storage::KvStore& nine = *store_->kv(9).value();
  std::vector<Status> outcomes;
  asio::post(io, [&] {
    // A connection's pipeline: SET in 0, SELECT 9, SET and RPUSH there, back to 0.
    storage::KvWriteGroup group(&store_->kv());
    ASSERT_TRUE(store_->kv().Set("k", "zero", &group).ok());
    ASSERT_TRUE(nine.Set("k", "nine", &group).ok());
    ASSERT_TRUE(nine.Push("l", {"a"}, storage::ListEnd::kRight, &group).ok());
    ASSERT_TRUE(store_->kv().Push("l", {"z"}, storage::ListEnd::kRight, &group).ok());
    committer.Enqueue(&group, Record(io, &outcomes));
    // Another client's batch, in database 9 only.
    storage::KvWriteGroup other(&nine);
    ASSERT_TRUE(nine.Push("l", {"b"}, storage::ListEnd::kRight, &other).ok());
    committer.Enqueue(&other, Record(io, &outcomes));
  });
  RunUntil(io, outcomes, 2);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const Status& s : outcomes) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(committer.commits(), 1u);

  store_.reset();
  Open();
  EXPECT_EQ(store_->kv().Get("k").value(), std::optional<std::string>("zero"));
  EXPECT_EQ(store_->kv(9).value()->Get("k").value(), std::optional<std::string>("nine"));
  EXPECT_EQ(store_->kv().Range("l", 0, -1).value(), std::vector<std::string>{"z"});
  EXPECT_EQ(store_->kv(9).value()->Range("l", 0, -1).value(), (std::vector<std::string>{"a", "b"}));
}

INSTANTIATE_TEST_SUITE_P(AllModes, KvCommitterTest,
                         ::testing::Values(storage::FsyncMode::kAlways,
                                           storage::FsyncMode::kEverysec, storage::FsyncMode::kNo));

}  // namespace
}  // namespace herald::net
