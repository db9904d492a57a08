// KvCommitter with a real store in a temp dir and a real io_context: the groups handed over
// while the I/O thread is busy are committed together, and their writes are durable.
#include "net/kv_committer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
};

TEST_P(KvCommitterTest, GroupsHandedOverTogetherShareOneCommitAndAreDurable) {
  Open();
  asio::io_context io;
  KvCommitter committer(io.get_executor(), &store_->kv());
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
      committer.Enqueue(&group, [&](Status s) { outcomes.push_back(std::move(s)); });
      EXPECT_TRUE(group.empty());
    }
  });
  io.run();
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
  asio::io_context io;
  KvCommitter committer(io.get_executor(), &store_->kv());
  int done = 0;
  auto write_and_enqueue = [&](const std::string& value) {
    storage::KvWriteGroup group(&store_->kv());
    ASSERT_TRUE(store_->kv().Push("list", {value}, storage::ListEnd::kRight, &group).ok());
    committer.Enqueue(&group, [&](Status s) {
      EXPECT_TRUE(s.ok());
      ++done;
    });
  };
  asio::post(io, [&] { write_and_enqueue("a"); });
  io.run();
  io.restart();
  asio::post(io, [&] { write_and_enqueue("b"); });
  io.run();
  EXPECT_EQ(done, 2);
  EXPECT_EQ(committer.commits(), 2u);
  auto range = store_->kv().Range("list", 0, -1);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(*range, (std::vector<std::string>{"a", "b"}));
}

TEST_P(KvCommitterTest, AGroupWithWritesToSeveralDatabasesIsCommittedWhole) {
  Open();
  asio::io_context io;
  KvCommitter committer(io.get_executor(), &store_->kv());
  storage::KvStore& nine = *store_->kv(9).value();
  std::vector<Status> outcomes;
  asio::post(io, [&] {
    // A connection's pipeline: SET in 0, SELECT 9, SET and RPUSH there, back to 0.
    storage::KvWriteGroup group(&store_->kv());
    ASSERT_TRUE(store_->kv().Set("k", "zero", &group).ok());
    ASSERT_TRUE(nine.Set("k", "nine", &group).ok());
    ASSERT_TRUE(nine.Push("l", {"a"}, storage::ListEnd::kRight, &group).ok());
    ASSERT_TRUE(store_->kv().Push("l", {"z"}, storage::ListEnd::kRight, &group).ok());
    committer.Enqueue(&group, [&](Status s) { outcomes.push_back(std::move(s)); });
    // Another client's batch, in database 9 only.
    storage::KvWriteGroup other(&nine);
    ASSERT_TRUE(nine.Push("l", {"b"}, storage::ListEnd::kRight, &other).ok());
    committer.Enqueue(&other, [&](Status s) { outcomes.push_back(std::move(s)); });
  });
  io.run();
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
