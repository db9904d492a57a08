#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "storage/count_merge.h"
#include "storage/keys.h"

#include "storage/kv_store.h"
#include "tests/storage/kv_store_fixture.h"

namespace herald::storage {
namespace {

// ---- Lists ------------------------------------------------------------------------------------

TEST_F(KvStoreTest, PushesAndPopsAtBothEndsLikeRedis) {
  EXPECT_EQ(Push("l", {"a", "b", "c"}, ListEnd::kLeft), 3);  // LPUSH a b c -> c b a
  EXPECT_EQ(Range("l", 0, -1), (Strings{"c", "b", "a"}));
  EXPECT_EQ(Push("l", {"d", "e"}, ListEnd::kRight), 5);
  EXPECT_EQ(Range("l", 0, -1), (Strings{"c", "b", "a", "d", "e"}));
  EXPECT_EQ(Pop("l", 1, ListEnd::kLeft), (Strings{"c"}));
  EXPECT_EQ(Pop("l", 2, ListEnd::kRight), (Strings{"e", "d"}));  // RPOP count: from the tail inward
  EXPECT_EQ(*kv().Len("l"), 2);
  Reopen();
  EXPECT_EQ(Range("l", 0, -1), (Strings{"b", "a"}));
}

TEST_F(KvStoreTest, EmptiedListIsDeleted) {
  Push("l", {"a", "b"}, ListEnd::kRight);
  EXPECT_EQ(Count(), 1u);
  EXPECT_EQ(Pop("l", 10, ListEnd::kLeft), (Strings{"a", "b"}));
  EXPECT_EQ(*kv().Exists({"l"}), 0);
  EXPECT_EQ(*kv().Type("l"), KvType::kNone);
  EXPECT_EQ(*kv().Len("l"), 0);
  EXPECT_EQ(Count(), 0u);
  EXPECT_TRUE(Pop("l", 1, ListEnd::kLeft).empty());
  ASSERT_TRUE(kv().Set("l", "now a string").ok());  // no leftovers of the list
  EXPECT_EQ(**kv().Get("l"), "now a string");
}

TEST_F(KvStoreTest, RangeFollowsRedisIndexRules) {
  Push("l", {"0", "1", "2", "3", "4"}, ListEnd::kRight);
  EXPECT_EQ(Range("l", 0, 0), (Strings{"0"}));
  EXPECT_EQ(Range("l", -2, -1), (Strings{"3", "4"}));
  EXPECT_EQ(Range("l", -100, 1), (Strings{"0", "1"}));
  EXPECT_EQ(Range("l", 3, 100), (Strings{"3", "4"}));
  EXPECT_TRUE(Range("l", 5, 10).empty());
  EXPECT_TRUE(Range("l", 3, 2).empty());
  EXPECT_TRUE(Range("l", -1, -2).empty());
  EXPECT_TRUE(Range("missing", 0, -1).empty());
}

TEST_F(KvStoreTest, IndexFollowsRedisIndexRules) {
  Push("l", {"a", "b", "c"}, ListEnd::kRight);
  EXPECT_EQ(**kv().Index("l", 0), "a");
  EXPECT_EQ(**kv().Index("l", -1), "c");
  EXPECT_EQ(**kv().Index("l", -3), "a");
  EXPECT_FALSE(kv().Index("l", 3)->has_value());
  EXPECT_FALSE(kv().Index("l", -4)->has_value());
  EXPECT_FALSE(kv().Index("missing", 0)->has_value());
}

TEST_F(KvStoreTest, LongListsAreDeletedWholeAndReusable) {
  Strings values;
  for (int i = 0; i < 300; ++i) values.push_back(std::to_string(i));
  Push("l", values, ListEnd::kRight);
  EXPECT_EQ(Pop("l", 100, ListEnd::kLeft).size(), 100u);  // a range delete of 100 elements
  EXPECT_EQ(**kv().Index("l", 0), "100");
  EXPECT_EQ(*kv().Del({"l"}), 1);
  Push("l", {"fresh"}, ListEnd::kRight);
  EXPECT_EQ(Range("l", 0, -1), (Strings{"fresh"}));
  ASSERT_TRUE(kv().Set("l", "s").ok());
  Push("l2", values, ListEnd::kLeft);
  ASSERT_TRUE(kv().Set("l2", "overwritten").ok());
  EXPECT_EQ(*kv().Type("l2"), KvType::kString);
}

TEST_F(KvStoreTest, WrongTypeIsRefusedWithRedisWording) {
  ASSERT_TRUE(kv().Set("s", "v").ok());
  Push("l", {"x"}, ListEnd::kRight);
  const std::string message = "Operation against a key holding the wrong kind of value";
  auto push = kv().Push("s", {"x"}, ListEnd::kLeft);
  ASSERT_FALSE(push.ok());
  EXPECT_TRUE(push.status().IsWrongType());
  EXPECT_EQ(push.status().message(), message);
  EXPECT_TRUE(kv().Pop("s", 1, ListEnd::kLeft).status().IsWrongType());
  EXPECT_TRUE(kv().Len("s").status().IsWrongType());
  EXPECT_TRUE(kv().Range("s", 0, -1).status().IsWrongType());
  EXPECT_TRUE(kv().Index("s", 0).status().IsWrongType());
  auto get = kv().Get("l");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().message(), message);
  EXPECT_TRUE(kv().IncrBy("l", 1).status().IsWrongType());
  ASSERT_TRUE(kv().Set("l", "replaced").ok());  // SET replaces any type
  EXPECT_EQ(**kv().Get("l"), "replaced");
}

TEST_F(KvStoreTest, PopFromTheHeadSkipsNoTombstones) {
  // A list used as a queue: 5000 pops from the head, then the next pop is still immediate.
  Strings values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::to_string(i));
  Push("q", values, ListEnd::kRight);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(Pop("q", 1, ListEnd::kLeft), Strings{std::to_string(i)});
  Push("q", {"last"}, ListEnd::kRight);
  EXPECT_EQ(Pop("q", 1, ListEnd::kLeft), Strings{"last"});
}

// ---- List nodes -------------------------------------------------------------------------------

// A list of many nodes (small and big elements, pushes and pops at both ends, counts), checked
// against a std::deque after every step and again after reopening.
TEST_F(KvStoreTest, ListsOfManyNodesBehaveLikeADeque) {
  std::mt19937 rng(7);
  std::deque<std::string> model;
  int next = 0;
  auto value = [&] {
    std::string v = std::to_string(next++);
    // Mostly small; now and then one bigger than a node's 8 KiB.
    if (rng() % 50 == 0) v.append(9000 + rng() % 3000, 'x');
    if (rng() % 7 == 0) v.append(rng() % 200, 'y');
    return v;
  };
  auto check = [&] {
    ASSERT_EQ(*kv().Len("l"), static_cast<std::int64_t>(model.size()));
    Strings all = Range("l", 0, -1);
    ASSERT_EQ(all, Strings(model.begin(), model.end()));
    if (model.empty()) return;
    for (int probe = 0; probe < 8; ++probe) {
      auto i = static_cast<std::int64_t>(rng() % model.size());
      ASSERT_EQ(**kv().Index("l", i), model[static_cast<std::size_t>(i)]) << i;
      ASSERT_EQ(**kv().Index("l", i - static_cast<std::int64_t>(model.size())),
                model[static_cast<std::size_t>(i)]);
    }
    auto a = static_cast<std::int64_t>(rng() % model.size());
    auto b = a + static_cast<std::int64_t>(rng() % 300);
    Strings part = Range("l", a, b);
    auto end = std::min<std::size_t>(model.size(), static_cast<std::size_t>(b) + 1);
    ASSERT_EQ(part, Strings(model.begin() + a, model.begin() + static_cast<std::ptrdiff_t>(end)));
  };
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 10);
    const ListEnd end = rng() % 2 == 0 ? ListEnd::kLeft : ListEnd::kRight;
    const bool left = end == ListEnd::kLeft;
    if (op < 6) {
      Strings values;
      for (unsigned i = 0, n = 1 + rng() % 40; i < n; ++i) values.push_back(value());
      Push("l", values, end);
      for (auto& v : values) {
        if (left) {
          model.push_front(v);
        } else {
          model.push_back(v);
        }
      }
    } else {
      auto count = static_cast<std::uint32_t>(1 + rng() % 60);
      Strings popped = Pop("l", count, end);
      ASSERT_EQ(popped.size(), std::min<std::size_t>(count, model.size()));
      for (const auto& v : popped) {
        ASSERT_EQ(v, left ? model.front() : model.back());
        if (left) {
          model.pop_front();
        } else {
          model.pop_back();
        }
      }
    }
    check();
    if (step % 100 == 99) {
      Reopen();
      check();
    }
  }
  EXPECT_EQ(*kv().Del({"l"}), model.empty() ? 0 : 1);
  EXPECT_EQ(*kv().Exists({"l"}), 0);
  Push("l", {"again"}, ListEnd::kLeft);  // a list made where a long one was deleted
  EXPECT_EQ(Range("l", 0, -1), Strings{"again"});
}

TEST_F(KvStoreTest, ListsOfTheOneRowPerElementLayoutAreUpgradedAtOpen) {
  store_.reset();
  {
    // Write a list the way older builds did, straight into the database.
    rocksdb::DBOptions db_options;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(db_options, options_.data_dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) {
      rocksdb::ColumnFamilyOptions cf;
      if (keys::QueueOfCfName(name)) cf.merge_operator = std::make_shared<CountMergeOperator>();
      descriptors.emplace_back(name, cf);
    }
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(db_options, options_.data_dir, descriptors, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* kv_cf = nullptr;
    for (auto* h : handles) {
      if (h->GetName() == keys::kKvCf) kv_cf = h;
    }
    ASSERT_NE(kv_cf, nullptr);
    rocksdb::WriteBatch batch;
    const std::uint64_t head = keys::kListStart - 3;
    for (std::uint64_t i = 0; i < 300; ++i) {
      ASSERT_TRUE(batch.Put(kv_cf, keys::KvElementKey("old", head + i), std::to_string(i)).ok());
    }
    ASSERT_TRUE(
        batch.Put(kv_cf, keys::KvMetaKey("old"), keys::EncodeKvElementList(head, head + 300)).ok());
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  Reopen();
  Strings want;
  for (int i = 0; i < 300; ++i) want.push_back(std::to_string(i));
  EXPECT_EQ(Range("old", 0, -1), want);
  EXPECT_EQ(**kv().Index("old", 150), "150");
  EXPECT_EQ(Pop("old", 2, ListEnd::kLeft), (Strings{"0", "1"}));
  Push("old", {"tail"}, ListEnd::kRight);
  Reopen();
  EXPECT_EQ(*kv().Len("old"), 299);
  EXPECT_EQ(**kv().Index("old", -1), "tail");
  EXPECT_EQ(**kv().Index("old", 0), "2");
}

}  // namespace
}  // namespace herald::storage
