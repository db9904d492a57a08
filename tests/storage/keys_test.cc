// Golden bytes: these pin the on-disk format. A change here is a format change (bump
// keys::kFormatVersion and write a migration), never a test to "fix".
#include "storage/keys.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace herald::storage::keys {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(KeysTest, WaitingKeyIsPrefixPriorityBe32SeqBe64) {
  EXPECT_EQ(WaitingKey(5, 0x0102), "w|" + Bytes({0, 0, 0, 5}) + Bytes({0, 0, 0, 0, 0, 0, 1, 2}));
}

TEST(KeysTest, DelayedKeyIsPrefixDueBe64SeqBe64) {
  EXPECT_EQ(DelayedKey(0x0a0b, 3),
            "d|" + Bytes({0, 0, 0, 0, 0, 0, 0x0a, 0x0b}) + Bytes({0, 0, 0, 0, 0, 0, 0, 3}));
}

TEST(KeysTest, ActiveFailedCompletedKeys) {
  EXPECT_EQ(ActiveKey(0xff), "a|" + Bytes({0, 0, 0, 0, 0, 0, 0, 0xff}));
  EXPECT_EQ(FailedKey(1, 2),
            "f|" + Bytes({0, 0, 0, 0, 0, 0, 0, 1}) + Bytes({0, 0, 0, 0, 0, 0, 0, 2}));
  EXPECT_EQ(CompletedKey(1, 2),
            "c|" + Bytes({0, 0, 0, 0, 0, 0, 0, 1}) + Bytes({0, 0, 0, 0, 0, 0, 0, 2}));
}

TEST(KeysTest, NegativeTimesClampToZero) { EXPECT_EQ(DelayedKey(-100, 1), DelayedKey(0, 1)); }

TEST(KeysTest, ByteOrderIsPriorityThenSequenceOrder) {
  EXPECT_LT(WaitingKey(0, 999999), WaitingKey(1, 0));
  EXPECT_LT(WaitingKey(1, 255), WaitingKey(1, 256));
  EXPECT_LT(WaitingKey(1, 0xffffffffULL), WaitingKey(1, 0x100000000ULL));
  EXPECT_LT(DelayedKey(1000, 9), DelayedKey(1001, 1));
  EXPECT_LT(CompletedKey(255, 1), CompletedKey(256, 0));
}

TEST(KeysTest, TimeIndexBoundSeparatesOlderFromNewer) {
  std::string bound = TimeIndexBound(JobState::kCompleted, 1000);
  EXPECT_LT(CompletedKey(999, std::numeric_limits<std::uint64_t>::max()), bound);
  EXPECT_LE(bound, CompletedKey(1000, 0));
}

TEST(KeysTest, IndexKeyOfFollowsTheState) {
  Job job;
  job.priority = 2;
  job.seq = 9;
  job.due_ms = 50;
  job.finished_ms = 60;
  job.state = JobState::kWaiting;
  EXPECT_EQ(IndexKeyOf(job), WaitingKey(2, 9));
  job.state = JobState::kDelayed;
  EXPECT_EQ(IndexKeyOf(job), DelayedKey(50, 9));
  job.state = JobState::kActive;  // keeps its waiting key (a lease)
  EXPECT_EQ(IndexKeyOf(job), WaitingKey(2, 9));
  job.state = JobState::kFailed;
  EXPECT_EQ(IndexKeyOf(job), FailedKey(60, 9));
  job.state = JobState::kCompleted;
  EXPECT_EQ(IndexKeyOf(job), CompletedKey(60, 9));
}

TEST(KeysTest, LeaseRoundTripsAndIsNeverAPlainId) {
  std::string value = EncodeLease("job-7", 3, 1'700'000'000'123, "mailer@10.0.0.7:5000");
  EXPECT_EQ(value[0], '\0');
  std::optional<Lease> lease = DecodeLease(value);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->id, "job-7");
  EXPECT_EQ(lease->attempts_made, 3u);
  EXPECT_EQ(lease->processed_ms, 1'700'000'000'123);
  EXPECT_EQ(lease->worker, "mailer@10.0.0.7:5000");

  EXPECT_FALSE(DecodeLease("job-7").has_value());
  EXPECT_FALSE(DecodeLease("12345").has_value());
  EXPECT_FALSE(DecodeLease("").has_value());
  // Malformed leases are not leases: no id, a wrong version, a cut-off number.
  EXPECT_FALSE(DecodeLease(EncodeLease("", 1, 1, "w")).has_value());
  std::string wrong_version = value;
  wrong_version[1] = 9;
  EXPECT_FALSE(DecodeLease(wrong_version).has_value());
  EXPECT_FALSE(DecodeLease(std::string("\0\1\x80", 3)).has_value());
  EXPECT_FALSE(DecodeLease(std::string("\0\2\1\2\x05"
                                       "ab",
                                       7))
                   .has_value());  // worker cut off
}

TEST(KeysTest, LeaseBytesAreStable) {
  EXPECT_EQ(EncodeLease("j", 2, 10, "w"), std::string("\0\x02\x02\x14\x01wj", 7));
  EXPECT_EQ(EncodeLease("j", 2, 10, ""), std::string("\0\x02\x02\x14\x00j", 6));
}

// Leases of builds before the history (version 1) have no worker.
TEST(KeysTest, LeaseOfVersionOneReadsWithoutAWorker) {
  const std::string value("\0\x01\x02\x14job-7", 9);
  std::optional<Lease> lease = DecodeLease(value);  // views into `value`
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->id, "job-7");
  EXPECT_EQ(lease->attempts_made, 2u);
  EXPECT_EQ(lease->processed_ms, 10);
  EXPECT_EQ(lease->worker, "");
}

TEST(KeysTest, IndexPrefixesAndEnds) {
  EXPECT_EQ(IndexPrefix(JobState::kWaiting), "w|");
  EXPECT_EQ(IndexPrefix(JobState::kDelayed), "d|");
  EXPECT_EQ(IndexPrefix(JobState::kActive), "a|");
  EXPECT_EQ(IndexPrefix(JobState::kFailed), "f|");
  EXPECT_EQ(IndexPrefix(JobState::kCompleted), "c|");
  EXPECT_EQ(IndexEnd(JobState::kWaiting), "w}");
}

TEST(KeysTest, TimeOfIndexKeyReadsTheTime) {
  EXPECT_EQ(TimeOfIndexKey(DelayedKey(123456, 7)), 123456);
  EXPECT_EQ(TimeOfIndexKey("d|"), std::nullopt);
}

TEST(KeysTest, ColumnFamilyNames) {
  EXPECT_EQ(QueueCfName("emails"), "q.emails");
  EXPECT_EQ(QueueOfCfName("q.emails"), "emails");
  EXPECT_EQ(QueueOfCfName("q."), std::nullopt);
  EXPECT_EQ(QueueOfCfName("jobs"), std::nullopt);
}

TEST(KeysTest, KvDatabaseColumnFamilyNames) {
  EXPECT_EQ(KvCfName(0), "kv");  // database 0 where lists and strings always were
  EXPECT_EQ(KvCfName(9), "kv.9");
  EXPECT_EQ(KvCfName(15), "kv.15");
  for (int db = 0; db < kKvDatabases; ++db) EXPECT_EQ(KvDatabaseOfCfName(KvCfName(db)), db);
  for (const char* other :
       {"kv.0", "kv.07", "kv.16", "kv.99", "kv.", "kv.1x", "kv.-1", "kvx", "q.kv.1", "jobs"}) {
    EXPECT_EQ(KvDatabaseOfCfName(other), std::nullopt) << other;
  }
}

TEST(KeysTest, MetaRowsAndValues) {
  EXPECT_EQ(QueueRegistryKey("emails"), "queue|emails");
  EXPECT_EQ(MetaRecordKey("x"), "rec|x");
  EXPECT_EQ(EncodeFormatVersion(1), Bytes({1, 0, 0, 0, 1}));
  EXPECT_EQ(EncodeSeqLimit(0x10000), Bytes({1, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(*DecodeSeqLimit(EncodeSeqLimit(77)), 77u);
  EXPECT_EQ(*DecodeFormatVersion(EncodeFormatVersion(3)), 3u);
  EXPECT_EQ(*DecodeQueueRow(EncodeQueueRow(1234)), 1234);
  EXPECT_TRUE(DecodeSeqLimit(Bytes({2, 0, 0, 0, 0, 0, 0, 0, 1})).status().IsCorruption());
  EXPECT_TRUE(DecodeSeqLimit(Bytes({1, 0})).status().IsCorruption());
}

TEST(KeysTest, PauseFlag) {
  EXPECT_EQ(kPausedKey, "m|paused");
  EXPECT_EQ(EncodeFlag(true), Bytes({1, 1}));
  EXPECT_EQ(EncodeFlag(false), Bytes({1, 0}));
  EXPECT_TRUE(*DecodeFlag(EncodeFlag(true)));
  EXPECT_FALSE(DecodeFlag(Bytes({1, 2})).ok());
  EXPECT_FALSE(DecodeFlag("").ok());
}

TEST(KeysTest, KvLayout) {
  EXPECT_EQ(KvMetaKey("user:1"), "k|user:1");
  EXPECT_EQ(KvElementKey("ab", 0x8000000000000001ULL),
            "l|" + Bytes({0, 0, 0, 2}) + "ab" + Bytes({0x80, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(EncodeKvString("v"), Bytes({1, 1}) + "v");
  EXPECT_EQ(EncodeKvElementList(1, 3),
            Bytes({1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3}));
  auto old = DecodeKvMeta(EncodeKvElementList(10, 12));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->type, KvType::kList);
  EXPECT_TRUE(old->element_rows);
  EXPECT_EQ(old->head, 10u);
  EXPECT_EQ(old->tail, 12u);
  KvMeta list;
  list.type = KvType::kList;
  list.head = 10;
  list.tail = 12;
  list.head_node = 4;
  list.tail_node = 5;
  list.next_node = 6;
  EXPECT_EQ(EncodeKvList(list), EncodeKvElementList(10, 12) + Bytes({0, 0, 0, 0, 0, 0, 0, 4}) +
                                    Bytes({0, 0, 0, 0, 0, 0, 0, 5}) +
                                    Bytes({0, 0, 0, 0, 0, 0, 0, 6}));
  auto meta = DecodeKvMeta(EncodeKvList(list));
  ASSERT_TRUE(meta.ok());
  EXPECT_FALSE(meta->element_rows);
  EXPECT_EQ(meta->head, 10u);
  EXPECT_EQ(meta->tail, 12u);
  EXPECT_EQ(meta->head_node, 4u);
  EXPECT_EQ(meta->tail_node, 5u);
  EXPECT_EQ(meta->next_node, 6u);
  list.next_node = 5;  // a node id not below next_node_id
  EXPECT_TRUE(DecodeKvMeta(EncodeKvList(list)).status().IsCorruption());
  EXPECT_EQ(KvNodeKey("ab", 7), KvElementKey("ab", 7));
  auto str = DecodeKvMeta(EncodeKvString(""));
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(str->type, KvType::kString);
  EXPECT_EQ(str->value, "");
  EXPECT_TRUE(DecodeKvMeta(EncodeKvElementList(5, 4)).status().IsCorruption());
  EXPECT_TRUE(DecodeKvMeta(Bytes({1, 9})).status().IsCorruption());
  EXPECT_TRUE(DecodeKvMeta("").status().IsCorruption());
}

TEST(KeysTest, ElementKeysOfOneListDoNotInterleaveWithAnother) {
  // "a" with a big position vs "ab": the length prefix keeps each list's range contiguous.
  std::string a_end = PrefixEnd(KvElementPrefix("a"));
  EXPECT_LT(KvElementKey("a", ~std::uint64_t{0}), a_end);
  EXPECT_FALSE(KvElementKey("ab", 0) < a_end && KvElementKey("ab", 0) >= KvElementPrefix("a"));
}

TEST(KeysTest, KeyArithmetic) {
  EXPECT_EQ(Successor("ab"), std::string("ab\0", 3));
  EXPECT_EQ(PrefixEnd("w|"), "w}");
  EXPECT_EQ(PrefixEnd(Bytes({'a', 0xff})), "b");
  EXPECT_EQ(PrefixEnd(Bytes({0xff, 0xff})), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

TEST(KeysTest, VarintsRoundTripAndRejectOverlong) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128},
                          std::uint64_t{300}, std::numeric_limits<std::uint64_t>::max()}) {
    std::string out;
    PutVarint(&out, v);
    Reader r(out);
    std::uint64_t back = 0;
    ASSERT_TRUE(r.GetVarint(&back));
    EXPECT_EQ(back, v);
    EXPECT_TRUE(r.empty());
  }
  std::string overlong(11, '\x80');
  Reader r(overlong);
  std::uint64_t v = 0;
  EXPECT_FALSE(r.GetVarint(&v));
  std::string unterminated("\x80\x80", 2);
  Reader r2(unterminated);
  EXPECT_FALSE(r2.GetVarint(&v));
}

TEST(KeysTest, ZigzagRoundTrips) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, std::int64_t{-64},
        std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    std::string out;
    PutZigzag(&out, v);
    Reader r(out);
    std::int64_t back = 0;
    ASSERT_TRUE(r.GetZigzag(&back));
    EXPECT_EQ(back, v);
  }
  std::string small;
  PutZigzag(&small, -1);
  EXPECT_EQ(small.size(), 1u);
}

TEST(KeysTest, ReaderNeverReadsPastTheEnd) {
  std::string three("abc");
  Reader r(std::string_view(three).substr(0, 3));
  std::uint32_t v32 = 0;
  std::uint64_t v64 = 0;
  EXPECT_FALSE(r.GetBe32(&v32));
  EXPECT_FALSE(r.GetBe64(&v64));
  std::string_view s;
  std::string len_too_big(
      "\x05"
      "ab",
      3);
  Reader r2(len_too_big);
  EXPECT_FALSE(r2.GetLengthPrefixed(&s));
  std::string big;
  PutVarint(&big, std::uint64_t{1} << 33);
  Reader r3(big);
  EXPECT_FALSE(r3.GetVarint32(&v32));
}

TEST(KeysTest, HexRoundTrips) {
  EXPECT_EQ(ToHex(Bytes({0, 0xab, 0x10})), "00ab10");
  EXPECT_EQ(*FromHex("00AB10"), Bytes({0, 0xab, 0x10}));
  EXPECT_EQ(FromHex("abc"), std::nullopt);
  EXPECT_EQ(FromHex("zz"), std::nullopt);
  EXPECT_EQ(*FromHex(""), "");
}

}  // namespace
}  // namespace herald::storage::keys
