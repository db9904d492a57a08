#include "storage/queue_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::storage {
namespace {

std::vector<IndexHead::Entry> Entries(std::initializer_list<const char*> keys) {
  std::vector<IndexHead::Entry> out;
  for (const char* k : keys) out.push_back({k, std::string("id-") + k, nullptr});
  return out;
}

TEST(IndexHeadTest, ScanMovesLowerBoundPastTheLastEntry) {
  IndexHead head("w|");
  EXPECT_EQ(head.lower(), "w|");
  head.AppendScanned(Entries({"w|a", "w|b"}), false);
  EXPECT_EQ(head.lower(), std::string("w|b\0", 4));
  EXPECT_EQ(head.ScanStart(), "w|a");
  EXPECT_EQ(head.PopFront().key, "w|a");
  EXPECT_EQ(head.PopFront().key, "w|b");
  EXPECT_FALSE(head.HasAhead());
  EXPECT_EQ(head.ScanStart(), head.lower());
}

TEST(IndexHeadTest, InsertAboveLowerBoundIsLeftForTheNextScan) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|b"}), false);
  head.Insert("w|c", "c");
  EXPECT_EQ(head.AheadSize(), 1u);
}

TEST(IndexHeadTest, InsertBelowLowerBoundGoesAheadInOrder) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|b", "w|d"}), false);
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
  head.AppendScanned(Entries({"d|1", "d|2", "d|3"}), false);
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
    many.push_back({key, key, nullptr});
  }
  head.AppendScanned(many, false);
  EXPECT_EQ(head.AheadSize(), IndexHead::kMaxAhead);
  // The first forgotten entry is where the next scan starts.
  EXPECT_EQ(head.lower(), many[IndexHead::kMaxAhead].key);
}

TEST(IndexHeadTest, CompleteHeadTakesNewKeysAtTheTail) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|b"}), /*reached_end=*/true);
  EXPECT_TRUE(head.complete());
  head.Insert("w|c", "c");  // above lower(): appended, since nothing else can be there
  head.Insert("w|a", "a");  // below: in order
  ASSERT_EQ(head.AheadSize(), 3u);
  EXPECT_EQ(head.lower(), std::string("w|c\0", 4));
  EXPECT_EQ(head.PopFront().key, "w|a");
  EXPECT_EQ(head.PopFront().key, "w|b");
  EXPECT_EQ(head.PopFront().key, "w|c");
  EXPECT_TRUE(head.complete());
}

TEST(IndexHeadTest, OverflowEndsCompleteness) {
  IndexHead head("w|");
  head.AppendScanned({}, /*reached_end=*/true);
  for (std::size_t i = 0; i <= IndexHead::kMaxAhead; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "w|%06zu", i);
    head.Insert(key, key);
  }
  EXPECT_FALSE(head.complete());
  EXPECT_EQ(head.AheadSize(), IndexHead::kMaxAhead);
  head.Insert("w|999999", "late");  // now left for a scan
  EXPECT_EQ(head.AheadSize(), IndexHead::kMaxAhead);
}

TEST(IndexHeadTest, ClaimSurvivesWhenNobodyRemovesTheKey) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|a", "w|b"}), true);
  IndexHead::Entry e = head.Claim();
  EXPECT_EQ(e.key, "w|a");
  EXPECT_TRUE(head.EndClaim(e));
  EXPECT_FALSE(head.EndClaim(e));  // a claim ends once
}

TEST(IndexHeadTest, EraseVoidsAClaim) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|a", "w|b"}), true);
  IndexHead::Entry e = head.Claim();
  head.Erase("w|a");  // a Delete that wrote before the claimer held the id
  EXPECT_FALSE(head.EndClaim(e));
  EXPECT_EQ(head.Front().key, "w|b");
}

// A job's key claimed twice: the add that wrote it inserts it again after a refill found it
// and a Take claimed it. The job is taken (the key erased), fails, and comes back to the same
// key (same priority and sequence), where another Take claims it: the first two claims stay
// void, or the slow one would take the job again with the record of its first attempt.
TEST(IndexHeadTest, AVoidedClaimStaysVoidWhenItsKeyIsClaimedAgain) {
  IndexHead head("w|");
  head.AppendScanned(Entries({"w|a"}), true);
  IndexHead::Entry first = head.Claim();
  head.Insert("w|a", "w|a");  // the add's own insert, late
  IndexHead::Entry second = head.Claim();
  EXPECT_TRUE(head.EndClaim(first));  // the Take that gets the id lock first
  head.Erase("w|a");                  // its write made the job active
  head.Insert("w|a", "w|a");          // retried: waiting at the same key
  IndexHead::Entry third = head.Claim();
  EXPECT_FALSE(head.EndClaim(second));
  EXPECT_TRUE(head.EndClaim(third));
  EXPECT_FALSE(head.EndClaim(third));
}

TEST(IndexHeadTest, InsertKeepsTheRecord) {
  IndexHead head("w|");
  head.AppendScanned({}, true);
  Job seven;
  seven.id = "7";
  auto job = std::make_shared<const Job>(seven);
  EXPECT_TRUE(head.Keeps("w|z"));
  head.Insert("w|z", "7", job);
  EXPECT_EQ(head.Front().record, job);
  IndexHead partial("w|");
  partial.AppendScanned(Entries({"w|b"}), false);
  EXPECT_FALSE(partial.Keeps("w|c"));
  EXPECT_TRUE(partial.Keeps("w|a"));
}

TEST(IndexHeadTest, ResetForgetsEverything) {
  IndexHead head("d|");
  head.AppendScanned(Entries({"d|1"}), true);
  head.Reset("d|");
  EXPECT_FALSE(head.HasAhead());
  EXPECT_FALSE(head.complete());
  EXPECT_EQ(head.lower(), "d|");
}

}  // namespace
}  // namespace herald::storage
