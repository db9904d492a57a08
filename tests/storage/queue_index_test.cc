#include "storage/queue_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::storage {
namespace {

std::vector<IndexHead::Entry> Entries(std::initializer_list<const char*> keys) {
  std::vector<IndexHead::Entry> out;
  for (const char* k : keys) out.push_back({k, std::string("id-") + k});
  return out;
}

TEST(IndexHeadTest, ScanMovesLowerBoundPastTheLastEntry) {
  IndexHead head("w|");
  EXPECT_EQ(head.lower(), "w|");
  head.AppendScanned(Entries({"w|a", "w|b"}));
  EXPECT_EQ(head.lower(), std::string("w|b\0", 4));
  EXPECT_EQ(head.ScanStart(), "w|a");
  EXPECT_EQ(head.PopFront().key, "w|a");
  EXPECT_EQ(head.PopFront().key, "w|b");
  EXPECT_FALSE(head.HasAhead());
  EXPECT_EQ(head.ScanStart(), head.lower());
}

TEST(IndexHeadTest, InsertAboveLowerBoundIsLeftForTheNextScan) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|b"}));
  head.Insert("w|c", "c");
  EXPECT_EQ(head.AheadSize(), 1u);
}

TEST(IndexHeadTest, InsertBelowLowerBoundGoesAheadInOrder) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|b", "w|d"}));
  head.PopFront();  // b claimed
  head.Insert("w|a", "a");
  head.Insert("w|c", "c");
  ASSERT_EQ(head.AheadSize(), 3u);
  EXPECT_EQ(head.PopFront().key, "w|a");
  EXPECT_EQ(head.PopFront().key, "w|c");
  EXPECT_EQ(head.PopFront().key, "w|d");
}

TEST(IndexHeadTest, EraseRemovesAnAheadEntry) {
  IndexHead head("d|");
  head.AppendScanned(Entries({"d|1", "d|2", "d|3"}));
  head.Erase("d|2");
  head.Erase("d|9");  // not there: nothing happens
  EXPECT_EQ(head.PopFront().key, "d|1");
  EXPECT_EQ(head.PopFront().key, "d|3");
}

TEST(IndexHeadTest, OverflowForgetsTheLargestAndLowersTheBound) {
  IndexHead head("w|");
  std::vector<IndexHead::Entry> many;
  for (std::size_t i = 0; i < IndexHead::kMaxAhead + 10; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "w|%06zu", i);
    many.push_back({key, key});
  }
  head.AppendScanned(many);
  EXPECT_EQ(head.AheadSize(), IndexHead::kMaxAhead);
  // The first forgotten entry is where the next scan starts.
  EXPECT_EQ(head.lower(), many[IndexHead::kMaxAhead].key);
}

}  // namespace
}  // namespace herald::storage
