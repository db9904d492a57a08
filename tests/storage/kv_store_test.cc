#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/kv_store.h"
#include "tests/storage/kv_store_fixture.h"

namespace herald::storage {
namespace {

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
