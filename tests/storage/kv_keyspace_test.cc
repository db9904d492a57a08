#include <gtest/gtest.h>

#include <set>
#include <string>

#include "storage/kv_store.h"
#include "tests/storage/kv_store_fixture.h"

namespace herald::storage {
namespace {

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

}  // namespace
}  // namespace herald::storage
