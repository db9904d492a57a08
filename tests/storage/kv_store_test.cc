#include "storage/kv_store.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <rocksdb/db.h>

#include <deque>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

using Strings = std::vector<std::string>;

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = FsyncMode::kNo;
    options_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto opened = Store::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  KvStore& kv() { return store_->kv(); }
  // Database `n` (SELECT n).
  KvStore& Db(int n) {
    auto db = store_->kv(n);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return *db.value();
  }

  Strings Range(const std::string& key, std::int64_t start, std::int64_t stop) {
    auto r = kv().Range(key, start, stop);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Strings{};
  }
  std::int64_t Push(const std::string& key, Strings values, ListEnd end) {
    auto r = kv().Push(key, values, end);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }
  Strings Pop(const std::string& key, std::uint32_t count, ListEnd end) {
    auto r = kv().Pop(key, count, end);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Strings{};
  }
  std::uint64_t Count() { return *kv().Count(); }

  // The column families of the database, read with the store closed (then opened again).
  std::set<std::string> ColumnFamilies() {
    store_.reset();
    std::vector<std::string> names;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options_.data_dir, &names).ok());
    Reopen();
    return std::set<std::string>(names.begin(), names.end());
  }

  // The rows of the kv column family as the database holds them, read with the store closed
  // (range deletes hide what they cover).
  std::vector<std::string> RawKvRows() {
    store_.reset();
    rocksdb::DBOptions db_options;
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(db_options, options_.data_dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status opened =
        rocksdb::DB::OpenForReadOnly(db_options, options_.data_dir, descriptors, &handles, &raw);
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    std::vector<std::string> rows;
    if (!opened.ok()) return rows;
    std::unique_ptr<rocksdb::DB> db(raw);
    for (auto* h : handles) {
      if (h->GetName() != keys::kKvCf) continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) rows.push_back(it->key().ToString());
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    }
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    return rows;
  }

  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

// ---- Strings ----------------------------------------------------------------------------------

TEST_F(KvStoreTest, SetThenGetAndOverwrite) {
  EXPECT_FALSE(kv().Get("k")->has_value());
  ASSERT_TRUE(kv().Set("k", "v1").ok());
  EXPECT_EQ(**kv().Get("k"), "v1");
  ASSERT_TRUE(kv().Set("k", std::string("bin\0ary", 7)).ok());
  EXPECT_EQ(**kv().Get("k"), std::string("bin\0ary", 7));
  ASSERT_TRUE(kv().Set("empty", "").ok());
  EXPECT_EQ(**kv().Get("empty"), "");
  EXPECT_EQ(Count(), 2u);
}

TEST_F(KvStoreTest, IncrByCountsFromZeroAndPersists) {
  EXPECT_EQ(*kv().IncrBy("n", 1), 1);
  EXPECT_EQ(*kv().IncrBy("n", 41), 42);
  EXPECT_EQ(*kv().IncrBy("n", -50), -8);
  Reopen();
  EXPECT_EQ(**kv().Get("n"), "-8");
}

TEST_F(KvStoreTest, IncrByRejectsWhatRedisRejects) {
  for (const char* bad : {"abc", " 1", "1 ", "01", "+1", "-0", "1.5", "", "99999999999999999999"}) {
    ASSERT_TRUE(kv().Set("s", bad).ok());
    auto r = kv().IncrBy("s", 1);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsInvalidArgument());
    EXPECT_EQ(r.status().message(), "value is not an integer or out of range") << bad;
  }
  ASSERT_TRUE(kv().Set("s", "-9223372036854775808").ok());
  EXPECT_EQ(*kv().IncrBy("s", 0), std::numeric_limits<std::int64_t>::min());
}

TEST_F(KvStoreTest, IncrByOverflowIsRefused) {
  ASSERT_TRUE(kv().Set("big", "9223372036854775807").ok());
  auto r = kv().IncrBy("big", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "increment or decrement would overflow");
  ASSERT_TRUE(kv().Set("small", "-9223372036854775808").ok());
  r = kv().IncrBy("small", -1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "increment or decrement would overflow");
  EXPECT_EQ(**kv().Get("big"), "9223372036854775807");
}

TEST_F(KvStoreTest, MSetDelExistsType) {
  ASSERT_TRUE(kv().MSet({{"a", "1"}, {"b", "2"}, {"a", "3"}}).ok());
  EXPECT_EQ(**kv().Get("a"), "3");
  EXPECT_EQ(Count(), 2u);
  Push("l", {"x"}, ListEnd::kRight);
  EXPECT_EQ(*kv().Type("a"), KvType::kString);
  EXPECT_EQ(*kv().Type("l"), KvType::kList);
  EXPECT_EQ(*kv().Type("none"), KvType::kNone);
  EXPECT_EQ(*kv().Exists({"a", "a", "l", "none"}), 3);  // Redis counts repeats
  EXPECT_EQ(*kv().Del({"a", "a", "l", "none"}), 2);
  EXPECT_EQ(*kv().Exists({"a", "l"}), 0);
  EXPECT_EQ(Count(), 1u);
}

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

// ---- Write groups -----------------------------------------------------------------------------

TEST_F(KvStoreTest, GroupWritesAreSeenAtOnceAndKeptAfterCommit) {
  KvWriteGroup group(&kv());
  ASSERT_TRUE(kv().Push("l", {"a", "b"}, ListEnd::kRight, &group).ok());
  ASSERT_EQ(*kv().Push("l", {"c"}, ListEnd::kLeft, &group), 3);
  ASSERT_TRUE(kv().Set("s", "1", &group).ok());
  ASSERT_EQ(*kv().IncrBy("s", 41, &group), 42);
  ASSERT_TRUE(kv().MSet({{"m1", "x"}, {"m2", "y"}}, &group).ok());
  ASSERT_EQ(*kv().Del({"m2"}, &group), 1);
  // Reads of every kind see the writes before the group commits.
  EXPECT_EQ(**kv().Get("s"), "42");
  EXPECT_EQ(*kv().Len("l"), 3);
  EXPECT_EQ(**kv().Index("l", 0), "c");
  EXPECT_EQ(*kv().Type("l"), KvType::kList);
  EXPECT_EQ(*kv().Exists({"m1", "m2"}), 1);
  EXPECT_EQ(Range("l", 0, -1), (Strings{"c", "a", "b"}));
  EXPECT_EQ(kv().Keys("*")->size(), 3u);
  EXPECT_EQ(Pop("l", 1, ListEnd::kRight), Strings{"b"});  // a write without the group, in between
  ASSERT_EQ(*kv().Pop("l", 1, ListEnd::kLeft, &group), Strings{"c"});
  ASSERT_TRUE(group.Commit().ok());
  EXPECT_TRUE(group.Commit().ok());  // nothing left: still OK
  Reopen();
  EXPECT_EQ(**kv().Get("s"), "42");
  EXPECT_EQ(Range("l", 0, -1), Strings{"a"});
  EXPECT_EQ(**kv().Get("m1"), "x");
  EXPECT_FALSE(kv().Get("m2")->has_value());
  EXPECT_EQ(Count(), 3u);
}

TEST_F(KvStoreTest, GroupWritesReachTheDatabaseWhenTheGroupEnds) {
  {
    KvWriteGroup group(&kv());
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(kv().Push("l", {std::to_string(i)}, ListEnd::kRight, &group).ok());
    }
  }  // destroyed without Commit(): still written
  Reopen();
  EXPECT_EQ(*kv().Len("l"), 100);
}

TEST_F(KvStoreTest, LongPopsAndDeletesAfterPendingPushesSeeThem) {
  // More than 64 elements take the range-delete path, which writes the pending batch first.
  KvWriteGroup group(&kv());
  Strings values;
  for (int i = 0; i < 200; ++i) values.push_back(std::to_string(i));
  ASSERT_TRUE(kv().Push("l", values, ListEnd::kRight, &group).ok());
  auto popped = kv().Pop("l", 150, ListEnd::kLeft, &group);
  ASSERT_TRUE(popped.ok()) << popped.status().ToString();
  ASSERT_EQ(popped->size(), 150u);
  EXPECT_EQ(popped->front(), "0");
  EXPECT_EQ(popped->back(), "149");
  ASSERT_TRUE(kv().Push("big", values, ListEnd::kLeft, &group).ok());
  ASSERT_TRUE(kv().Set("big", "now a string", &group).ok());
  ASSERT_TRUE(kv().Push("big2", values, ListEnd::kLeft, &group).ok());
  ASSERT_EQ(*kv().Del({"big2", "l"}, &group), 2);
  ASSERT_TRUE(group.Commit().ok());
  Reopen();
  EXPECT_EQ(**kv().Get("big"), "now a string");
  EXPECT_EQ(*kv().Exists({"big2", "l"}), 0);
  EXPECT_TRUE(kv().Keys("*")->size() == 1u);
  EXPECT_EQ(Count(), 1u);
}

TEST_F(KvStoreTest, AFailedOperationInAGroupWritesNothing) {
  KvWriteGroup group(&kv());
  ASSERT_TRUE(kv().Set("s", "text", &group).ok());
  EXPECT_TRUE(kv().Push("s", {"x"}, ListEnd::kRight, &group).status().IsWrongType());
  EXPECT_TRUE(kv().IncrBy("s", 1, &group).status().IsInvalidArgument());
  ASSERT_TRUE(group.Commit().ok());
  Reopen();
  EXPECT_EQ(**kv().Get("s"), "text");
  EXPECT_EQ(Count(), 1u);
}

// Threads with and without groups pushing to one list and counting one counter: no push and
// no increment is lost or duplicated, in memory and after a reopen, in every fsync mode.
class KvStoreModeTest : public KvStoreTest, public ::testing::WithParamInterface<FsyncMode> {};

TEST_P(KvStoreModeTest, ConcurrentGroupsLoseNothing) {
  options_.fsync = GetParam();
  Reopen();
  constexpr int kThreads = 6;
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 8;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int b = 0; b < kBatches; ++b) {
        const bool grouped = (t + b) % 2 == 0;
        KvWriteGroup group(&kv());
        for (int i = 0; i < kPerBatch; ++i) {
          std::string v = std::to_string(t) + ":" + std::to_string(b * kPerBatch + i);
          EXPECT_TRUE(kv().Push("l", {v}, ListEnd::kRight, grouped ? &group : nullptr).ok());
          EXPECT_TRUE(kv().IncrBy("n", 1, grouped ? &group : nullptr).ok());
        }
        EXPECT_TRUE(group.Commit().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto check = [&] {
    Strings all = Range("l", 0, -1);
    ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
    // Each thread's values are in its own order.
    std::vector<int> next(kThreads, 0);
    for (const auto& v : all) {
      int t = std::stoi(v.substr(0, v.find(':')));
      int i = std::stoi(v.substr(v.find(':') + 1));
      ASSERT_EQ(i, next[t]++) << v;
    }
    EXPECT_EQ(**kv().Get("n"), std::to_string(kThreads * kBatches * kPerBatch));
  };
  check();
  Reopen();
  check();
}

TEST_P(KvStoreModeTest, ClearIsDurableInEveryMode) {
  options_.fsync = GetParam();
  Reopen();
  Push("l", {"a", "b", "c"}, ListEnd::kRight);
  ASSERT_TRUE(kv().Set("s", "x").ok());
  ASSERT_TRUE(kv().Clear().ok());
  ASSERT_TRUE(kv().Set("t", "y").ok());
  Reopen();
  EXPECT_EQ(*kv().Keys("*"), Strings{"t"});
  EXPECT_EQ(Count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Modes, KvStoreModeTest,
                         ::testing::Values(FsyncMode::kNo, FsyncMode::kEverysec,
                                           FsyncMode::kAlways),
                         [](const auto& param_info) {
                           return std::string(FsyncModeName(param_info.param));
                         });

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
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
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

// ---- Keys, Scan, Count ------------------------------------------------------------------------

TEST_F(KvStoreTest, KeysMatchesGlobPatterns) {
  for (const char* k : {"user:1", "user:2", "user:10", "order:1", "u"}) {
    ASSERT_TRUE(kv().Set(k, "x").ok());
  }
  auto keys = kv().Keys("user:*");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(std::set<std::string>(keys->begin(), keys->end()),
            (std::set<std::string>{"user:1", "user:2", "user:10"}));
  EXPECT_EQ(kv().Keys("user:?")->size(), 2u);
  EXPECT_EQ(kv().Keys("*")->size(), 5u);
  EXPECT_EQ(kv().Keys("*:1")->size(), 2u);
  EXPECT_TRUE(kv().Keys("nothing*")->empty());
}

TEST_F(KvStoreTest, LoneStarMatchesEvenTheEmptyKeyAsRedisDoes) {
  ASSERT_TRUE(kv().Set("", "empty name").ok());
  ASSERT_TRUE(kv().Set("a", "x").ok());
  EXPECT_EQ(kv().Keys("*")->size(), 2u);
  EXPECT_EQ(kv().Scan("0", "*", 10)->second.size(), 2u);
  EXPECT_EQ(kv().Keys("?*")->size(), 1u);
}

TEST_F(KvStoreTest, ScanVisitsEveryKeyOnceAcrossPages) {
  std::set<std::string> all;
  for (int i = 0; i < 57; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_TRUE(kv().Set(k, "x").ok());
    all.insert(k);
  }
  Push("list", {"x"}, ListEnd::kRight);
  all.insert("list");
  std::set<std::string> seen;
  std::string cursor = "0";
  int calls = 0;
  do {
    auto page = kv().Scan(cursor, "*", 10);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& k : page->second) EXPECT_TRUE(seen.insert(k).second) << k;
    cursor = page->first;
    ++calls;
  } while (cursor != "0");
  EXPECT_EQ(seen, all);
  EXPECT_EQ(calls, 6);
  auto filtered = kv().Scan("0", "k1*", 1000);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->first, "0");
  EXPECT_EQ(filtered->second.size(), 11u);  // k1, k10..k19
  EXPECT_TRUE(kv().Scan("12345678", "*", 10).status().IsInvalidArgument());
  EXPECT_TRUE(kv().Scan("abc", "*", 10).status().IsInvalidArgument());
}

TEST_F(KvStoreTest, CountIsRebuiltAtOpen) {
  ASSERT_TRUE(kv().Set("a", "1").ok());
  Push("b", {"x", "y"}, ListEnd::kLeft);
  EXPECT_EQ(Count(), 2u);
  Reopen();
  EXPECT_EQ(Count(), 2u);
  EXPECT_EQ(Range("b", 0, -1), (Strings{"y", "x"}));
}

// ---- Clear ------------------------------------------------------------------------------------

TEST_F(KvStoreTest, ClearRemovesEveryKeyAndNothingComesBackAfterAReopen) {
  Strings many;
  for (int i = 0; i < 1000; ++i) many.push_back(std::to_string(i));
  Push("long", many, ListEnd::kRight);  // many nodes
  Push("short", {"a", "b"}, ListEnd::kLeft);
  ASSERT_TRUE(kv().MSet({{"s1", "x"}, {"s2", "y"}, {"", "empty name"}}).ok());
  ASSERT_EQ(*kv().IncrBy("n", 5), 5);
  ASSERT_EQ(Count(), 6u);
  ASSERT_TRUE(kv().Clear().ok());
  EXPECT_EQ(Count(), 0u);
  EXPECT_TRUE(kv().Keys("*")->empty());
  EXPECT_EQ(kv().Scan("0", "*", 100)->second.size(), 0u);
  EXPECT_FALSE(kv().Get("s1")->has_value());
  EXPECT_EQ(*kv().Len("long"), 0);
  EXPECT_TRUE(Range("short", 0, -1).empty());
  EXPECT_EQ(*kv().Type("n"), KvType::kNone);
  ASSERT_TRUE(kv().Clear().ok());  // an empty keyspace clears too
  EXPECT_TRUE(RawKvRows().empty());
  Reopen();
  EXPECT_EQ(Count(), 0u);
  EXPECT_TRUE(kv().Keys("*")->empty());
  EXPECT_FALSE(kv().Get("")->has_value());
}

TEST_F(KvStoreTest, WritesAfterAClearAreKeptAndKeysReusedStartAfresh) {
  Strings many;
  for (int i = 0; i < 300; ++i) many.push_back(std::to_string(i));
  Push("l", many, ListEnd::kRight);
  ASSERT_TRUE(kv().Set("s", "old").ok());
  ASSERT_TRUE(kv().Clear().ok());
  EXPECT_EQ(Push("l", {"new"}, ListEnd::kRight), 1);  // a new list where a long one was
  ASSERT_EQ(*kv().IncrBy("s", 1), 1);                 // a new counter where a string was
  EXPECT_EQ(Range("l", 0, -1), Strings{"new"});
  EXPECT_EQ(Count(), 2u);
  Reopen();
  EXPECT_EQ(Count(), 2u);
  EXPECT_EQ(Range("l", 0, -1), Strings{"new"});
  EXPECT_EQ(**kv().Get("s"), "1");
  EXPECT_EQ(RawKvRows().size(), 3u);  // "s", "l" and the one node of "l"
}

TEST_F(KvStoreTest, ClearTakesGroupWritesMadeBeforeItAndKeepsThoseMadeAfter) {
  KvWriteGroup group(&kv());
  ASSERT_TRUE(kv().Set("before", "1", &group).ok());
  ASSERT_TRUE(kv().Push("list", {"a", "b"}, ListEnd::kRight, &group).ok());
  ASSERT_TRUE(kv().Clear().ok());  // not in the group: durable on return
  EXPECT_EQ(Count(), 0u);
  EXPECT_FALSE(kv().Get("before")->has_value());
  ASSERT_TRUE(kv().Set("after", "2", &group).ok());
  ASSERT_TRUE(kv().Push("list", {"c"}, ListEnd::kRight, &group).ok());
  ASSERT_TRUE(group.Commit().ok());
  EXPECT_EQ(*kv().Keys("*"), (Strings{"after", "list"}));
  Reopen();
  EXPECT_EQ(*kv().Keys("*"), (Strings{"after", "list"}));
  EXPECT_EQ(Range("list", 0, -1), Strings{"c"});
  EXPECT_FALSE(kv().Get("before")->has_value());
  EXPECT_EQ(Count(), 2u);
}

TEST_F(KvStoreTest, ScanCursorsHandedOutBeforeAClearStillWork) {
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(kv().Set("k" + std::to_string(10 + i), "x").ok());
  auto page = kv().Scan("0", "*", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_NE(page->first, "0");
  ASSERT_TRUE(kv().Clear().ok());
  ASSERT_TRUE(kv().Set("z", "x").ok());
  auto rest = kv().Scan(page->first, "*", 100);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->first, "0");
  EXPECT_EQ(rest->second, Strings{"z"});
}

// ---- Databases (SELECT n) ---------------------------------------------------------------------

TEST_F(KvStoreTest, DatabasesAreSeparateKeyspaces) {
  ASSERT_TRUE(kv().Set("k", "zero").ok());
  ASSERT_TRUE(Db(9).Set("k", "nine").ok());
  EXPECT_EQ(**kv().Get("k"), "zero");
  EXPECT_EQ(**Db(9).Get("k"), "nine");
  EXPECT_FALSE(Db(3).Get("k")->has_value());
  EXPECT_EQ(*Db(9).Push("l", {"a", "b"}, ListEnd::kRight), 2);
  EXPECT_EQ(Push("l", {"x"}, ListEnd::kRight), 1);
  EXPECT_EQ(*Db(9).Range("l", 0, -1), (Strings{"a", "b"}));
  EXPECT_EQ(Range("l", 0, -1), Strings{"x"});
  EXPECT_EQ(*Db(15).IncrBy("k", 5), 5);  // a string of database 0 is no integer of 15
  ASSERT_TRUE(Db(9).Set("only9", "1").ok());
  EXPECT_EQ(*kv().Type("only9"), KvType::kNone);
  EXPECT_EQ(*Db(9).Type("only9"), KvType::kString);
  EXPECT_EQ(*kv().Exists({"only9", "k"}), 1);
  EXPECT_EQ(Count(), 2u);
  EXPECT_EQ(*Db(9).Count(), 3u);
  EXPECT_EQ(*Db(3).Count(), 0u);
  EXPECT_EQ(*kv().Keys("*"), (Strings{"k", "l"}));
  EXPECT_EQ(*Db(9).Keys("*"), (Strings{"k", "l", "only9"}));
  EXPECT_TRUE(Db(3).Keys("*")->empty());
  // Deletes and pops touch their own database only.
  EXPECT_EQ(*Db(9).Del({"k"}), 1);
  EXPECT_EQ(**kv().Get("k"), "zero");
  EXPECT_EQ(*Db(9).Pop("l", 1, ListEnd::kLeft), Strings{"a"});
  EXPECT_EQ(Range("l", 0, -1), Strings{"x"});
  EXPECT_EQ(*Db(9).Index("l", 0), std::optional<std::string>("b"));
  EXPECT_EQ(*kv().Len("l"), 1);
}

TEST_F(KvStoreTest, ScanCursorsBelongToTheirDatabase) {
  ASSERT_TRUE(kv().Set("in-zero", "x").ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Db(9).Set("k" + std::to_string(10 + i), "x").ok());
  auto page = Db(9).Scan("0", "*", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_NE(page->first, "0");
  EXPECT_TRUE(kv().Scan(page->first, "*", 10).status().IsInvalidArgument());
  std::set<std::string> seen(page->second.begin(), page->second.end());
  for (std::string cursor = page->first; cursor != "0";) {
    auto next = Db(9).Scan(cursor, "*", 10);
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    seen.insert(next->second.begin(), next->second.end());
    cursor = next->first;
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(seen.count("in-zero"), 0u);
  auto empty = Db(4).Scan("0", "*", 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->first, "0");
  EXPECT_TRUE(empty->second.empty());
}

TEST_F(KvStoreTest, ADatabaseGetsItsColumnFamilyAtItsFirstWriteAndKeepsItsKeysAcrossAReopen) {
  // Reads, and writes with nothing to do, leave a database that was never written alone.
  EXPECT_FALSE(Db(9).Get("k")->has_value());
  EXPECT_TRUE(Db(9).Pop("l", 1, ListEnd::kLeft)->empty());
  EXPECT_EQ(*Db(9).Del({"k"}), 0);
  ASSERT_TRUE(Db(9).Clear().ok());
  EXPECT_EQ(ColumnFamilies().count("kv.9"), 0u);

  Strings many;
  for (int i = 0; i < 500; ++i) many.push_back(std::to_string(i));
  EXPECT_EQ(*Db(9).Push("long", many, ListEnd::kRight), 500);
  ASSERT_TRUE(Db(9).Set("s", "nine").ok());
  EXPECT_EQ(*Db(15).IncrBy("n", 15), 15);
  ASSERT_TRUE(kv().Set("s", "zero").ok());
  std::set<std::string> cfs = ColumnFamilies();  // reopens
  EXPECT_EQ(cfs.count("kv"), 1u);
  EXPECT_EQ(cfs.count("kv.9"), 1u);
  EXPECT_EQ(cfs.count("kv.15"), 1u);
  EXPECT_EQ(cfs.count("kv.3"), 0u);
  EXPECT_EQ(*Db(9).Count(), 2u);
  EXPECT_EQ(*Db(15).Count(), 1u);
  EXPECT_EQ(Count(), 1u);
  EXPECT_EQ(*Db(9).Range("long", 0, -1), many);
  EXPECT_EQ(**Db(9).Get("s"), "nine");
  EXPECT_EQ(**Db(15).Get("n"), "15");
  EXPECT_EQ(**kv().Get("s"), "zero");
  // Database 0 stays where it always was: the "kv" column family holds its one key only.
  EXPECT_EQ(RawKvRows(), Strings{keys::KvMetaKey("s")});
}

TEST_F(KvStoreTest, ClearEmptiesItsDatabaseAndClearKvEveryDatabase) {
  Strings many;
  for (int i = 0; i < 300; ++i) many.push_back(std::to_string(i));
  ASSERT_TRUE(kv().Set("a", "0").ok());
  ASSERT_TRUE(Db(9).Set("a", "9").ok());
  EXPECT_EQ(*Db(9).Push("long", many, ListEnd::kLeft), 300);
  ASSERT_TRUE(Db(5).Set("b", "5").ok());
  ASSERT_TRUE(Db(9).Clear().ok());  // FLUSHDB in 9
  EXPECT_EQ(*Db(9).Count(), 0u);
  EXPECT_TRUE(Db(9).Keys("*")->empty());
  EXPECT_EQ(*Db(9).Len("long"), 0);
  EXPECT_EQ(**kv().Get("a"), "0");
  EXPECT_EQ(**Db(5).Get("b"), "5");
  Reopen();
  EXPECT_EQ(*Db(9).Count(), 0u);
  EXPECT_EQ(Count(), 1u);
  EXPECT_EQ(*Db(5).Count(), 1u);

  ASSERT_TRUE(Db(9).Set("c", "9").ok());
  ASSERT_TRUE(store_->ClearKv().ok());  // FLUSHALL
  for (int n = 0; n < kKvDatabases; ++n) {
    EXPECT_EQ(*Db(n).Count(), 0u) << n;
    EXPECT_TRUE(Db(n).Keys("*")->empty()) << n;
  }
  EXPECT_FALSE(Db(9).Get("c")->has_value());
  Reopen();
  for (int n = 0; n < kKvDatabases; ++n) EXPECT_TRUE(Db(n).Keys("*")->empty()) << n;
  EXPECT_EQ(Push("l", {"after"}, ListEnd::kRight), 1);  // writes after a FLUSHALL are kept
  Reopen();
  EXPECT_EQ(Range("l", 0, -1), Strings{"after"});
}

TEST_F(KvStoreTest, AGroupTakesWritesToEveryDatabaseAndCommitsThemInOne) {
  KvWriteGroup group(&kv());
  ASSERT_TRUE(kv().Set("k", "zero", &group).ok());
  ASSERT_TRUE(Db(9).Set("k", "nine", &group).ok());  // a pipeline that SELECTed 9
  ASSERT_EQ(*Db(9).Push("l", {"a", "b"}, ListEnd::kRight, &group), 2);
  ASSERT_EQ(*kv().IncrBy("n", 1, &group), 1);  // and back to 0
  EXPECT_EQ(**Db(9).Get("k"), "nine");
  EXPECT_EQ(**kv().Get("k"), "zero");
  // A group made with another database's KvStore takes them over and commits them all.
  KvWriteGroup other(&Db(9));
  group.MoveInto(&other);
  EXPECT_TRUE(group.empty());
  ASSERT_TRUE(other.Commit().ok());
  Reopen();
  EXPECT_EQ(**kv().Get("k"), "zero");
  EXPECT_EQ(**kv().Get("n"), "1");
  EXPECT_EQ(**Db(9).Get("k"), "nine");
  EXPECT_EQ(*Db(9).Range("l", 0, -1), (Strings{"a", "b"}));
  EXPECT_EQ(Count(), 2u);
  EXPECT_EQ(*Db(9).Count(), 2u);
}

TEST_F(KvStoreTest, OutOfRangeDatabasesAreRefused) {
  EXPECT_TRUE(store_->kv(-1).status().IsInvalidArgument());
  EXPECT_TRUE(store_->kv(kKvDatabases).status().IsInvalidArgument());
  EXPECT_EQ(store_->kv(kKvDatabases).status().message(), "DB index is out of range");
  EXPECT_EQ(*store_->kv(0), &kv());
}

}  // namespace
}  // namespace herald::storage
