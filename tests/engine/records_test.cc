// StoreRecords over an embedded store in a temporary directory: each kind is its own table (kAdmin
// the store's meta records, apart from the store's own meta keys); Get, Put and Delete;
// Scan by prefix in key order or reverse, with its limit; ScanAfter page by page with its
// limit clamped; records survive a reopen; a write whose WAL sync fails returns that error.
#include "engine/records.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::engine {
namespace {

using RecordList = std::vector<std::pair<std::string, std::string>>;

constexpr RecordKind kAllKinds[] = {RecordKind::kPrefs, RecordKind::kInbox, RecordKind::kSent,
                                    RecordKind::kTickets, RecordKind::kAdmin};

// `prefix` then `n` as 8 big-endian bytes: keys that sort in the order of n.
std::string TimeKey(const std::string& prefix, std::uint64_t n) {
  std::string key = prefix;
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(n >> shift));
  return key;
}

std::vector<std::string> KeysOf(const RecordList& records) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : records) keys.push_back(key);
  return keys;
}

class RecordsTest : public ::testing::Test {
 protected:
  RecordsTest() {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = storage::FsyncMode::kNo;
    options_.logger = std::make_shared<spdlog::logger>(
        "records_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  void SetUp() override { Open(); }
  void TearDown() override {
    records_.reset();
    store_.reset();
  }

  // Opens the store on options_ (closing the one open first), and records_ over it.
  void Open() {
    records_.reset();
    store_.reset();
    auto opened = storage::Store::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    records_ = std::make_unique<StoreRecords>(store_.get());
  }

  void Put(RecordKind kind, const std::string& key, const std::string& value) {
    Status put = records_->Put(kind, key, value);
    ASSERT_TRUE(put.ok()) << put.ToString();
  }
  // The record's value; nullopt when there is none (or the read failed, which fails the test).
  std::optional<std::string> Get(RecordKind kind, const std::string& key) {
    auto got = records_->Get(kind, key);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::nullopt;
  }
  RecordList Scan(RecordKind kind, const std::string& prefix, std::uint32_t limit,
                  storage::ScanOrder order) {
    auto scanned = records_->Scan(kind, prefix, limit, order);
    EXPECT_TRUE(scanned.ok()) << scanned.status().ToString();
    return scanned.ok() ? *scanned : RecordList{};
  }
  RecordList ScanAfter(RecordKind kind, const std::string& after, std::uint32_t limit) {
    auto scanned = records_->ScanAfter(kind, after, limit);
    EXPECT_TRUE(scanned.ok()) << scanned.status().ToString();
    return scanned.ok() ? *scanned : RecordList{};
  }

  herald::testing::TempDir dir_;
  storage::StoreOptions options_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<StoreRecords> records_;  // over store_
};

TEST_F(RecordsTest, GetOfAKeyNeverPutIsNoRecord) {
  for (RecordKind kind : kAllKinds) EXPECT_EQ(Get(kind, "user-1"), std::nullopt);
}

TEST_F(RecordsTest, GetReturnsTheValueLastPut) {
  Put(RecordKind::kPrefs, "user-1|email", "on");
  EXPECT_EQ(Get(RecordKind::kPrefs, "user-1|email"), "on");
  Put(RecordKind::kPrefs, "user-1|email", "off");
  EXPECT_EQ(Get(RecordKind::kPrefs, "user-1|email"), "off");
}

TEST_F(RecordsTest, AnEmptyValueIsARecordNotAMissingOne) {
  Put(RecordKind::kInbox, "user-1", "");
  std::optional<std::string> got = Get(RecordKind::kInbox, "user-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "");
}

TEST_F(RecordsTest, KeysAndValuesAreBytes) {
  const std::string key("k\0\xff\x01", 4);
  const std::string value("\0v\0\xfe", 4);
  Put(RecordKind::kSent, key, value);
  EXPECT_EQ(Get(RecordKind::kSent, key), value);
  EXPECT_EQ(Get(RecordKind::kSent, "k"), std::nullopt);
  RecordList all = ScanAfter(RecordKind::kSent, "", 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].first, key);
  EXPECT_EQ(all[0].second, value);
}

TEST_F(RecordsTest, DeleteRemovesOnlyThatRecord) {
  Put(RecordKind::kTickets, "1", "printer on fire");
  Put(RecordKind::kTickets, "2", "payment failed");
  Status deleted = records_->Delete(RecordKind::kTickets, "1");
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(Get(RecordKind::kTickets, "1"), std::nullopt);
  EXPECT_EQ(Get(RecordKind::kTickets, "2"), "payment failed");
}

TEST_F(RecordsTest, DeleteOfAKeyNeverPutSucceeds) {
  Status deleted = records_->Delete(RecordKind::kPrefs, "nobody");
  EXPECT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(Get(RecordKind::kPrefs, "nobody"), std::nullopt);
}

TEST_F(RecordsTest, EachKindIsATableOfItsOwn) {
  for (RecordKind kind : kAllKinds) {
    Put(kind, "user-1", "value of kind " + std::to_string(static_cast<int>(kind)));
  }
  for (RecordKind kind : kAllKinds) {
    const std::string expected = "value of kind " + std::to_string(static_cast<int>(kind));
    EXPECT_EQ(Get(kind, "user-1"), expected);
    RecordList all = ScanAfter(kind, "", 100);
    ASSERT_EQ(all.size(), 1u) << static_cast<int>(kind);
    EXPECT_EQ(all[0], (std::pair<std::string, std::string>("user-1", expected)));
  }
  ASSERT_TRUE(records_->Delete(RecordKind::kInbox, "user-1").ok());
  EXPECT_EQ(Get(RecordKind::kInbox, "user-1"), std::nullopt);
  EXPECT_EQ(Get(RecordKind::kSent, "user-1"), "value of kind 2");
}

TEST_F(RecordsTest, EachKindIsTheStoresRecordTableOfTheSameName) {
  Put(RecordKind::kPrefs, "k", "prefs");
  Put(RecordKind::kInbox, "k", "inbox");
  Put(RecordKind::kSent, "k", "sent");
  Put(RecordKind::kTickets, "k", "tickets");
  Put(RecordKind::kAdmin, "k", "admin");
  auto in_store = [&](storage::RecordTable table) -> std::optional<std::string> {
    auto got = store_->GetRecord(table, "k");
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::nullopt;
  };
  EXPECT_EQ(in_store(storage::RecordTable::kPrefs), "prefs");
  EXPECT_EQ(in_store(storage::RecordTable::kInbox), "inbox");
  EXPECT_EQ(in_store(storage::RecordTable::kSent), "sent");
  EXPECT_EQ(in_store(storage::RecordTable::kTickets), "tickets");
  EXPECT_EQ(in_store(storage::RecordTable::kMeta), "admin");
}

TEST_F(RecordsTest, AdminRecordsDoNotListTheStoresOwnMetaKeys) {
  // The store keeps its format version, queue registry and sequence limits in its meta
  // column family, under which the admin records live too.
  ASSERT_TRUE(store_->EnsureQueue("emails").ok());
  EXPECT_TRUE(ScanAfter(RecordKind::kAdmin, "", 10000).empty());
  EXPECT_TRUE(Scan(RecordKind::kAdmin, "", 0, storage::ScanOrder::kOldestFirst).empty());
  EXPECT_TRUE(Scan(RecordKind::kAdmin, "", 0, storage::ScanOrder::kNewestFirst).empty());

  Put(RecordKind::kAdmin, "audit|1", "a");
  Put(RecordKind::kAdmin, "history|1", "h");
  EXPECT_EQ(KeysOf(ScanAfter(RecordKind::kAdmin, "", 10000)),
            (std::vector<std::string>{"audit|1", "history|1"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kAdmin, "", 0, storage::ScanOrder::kNewestFirst)),
            (std::vector<std::string>{"history|1", "audit|1"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kAdmin, "audit|", 0, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"audit|1"}));
}

TEST_F(RecordsTest, ScanReturnsTheKeysWithThePrefixInKeyOrderOrReverse) {
  Put(RecordKind::kInbox, "user-1|b", "2");
  Put(RecordKind::kInbox, "user-2|a", "other user");
  Put(RecordKind::kInbox, "user-1|a", "1");
  Put(RecordKind::kInbox, "user-1|c", "3");
  Put(RecordKind::kInbox, "user-1", "the prefix itself");
  Put(RecordKind::kInbox, "user-", "shorter than the prefix");

  EXPECT_EQ(Scan(RecordKind::kInbox, "user-1|", 0, storage::ScanOrder::kOldestFirst),
            (RecordList{{"user-1|a", "1"}, {"user-1|b", "2"}, {"user-1|c", "3"}}));
  EXPECT_EQ(Scan(RecordKind::kInbox, "user-1|", 0, storage::ScanOrder::kNewestFirst),
            (RecordList{{"user-1|c", "3"}, {"user-1|b", "2"}, {"user-1|a", "1"}}));
  // A key equal to the prefix starts with it.
  EXPECT_EQ(KeysOf(Scan(RecordKind::kInbox, "user-1", 0, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"user-1", "user-1|a", "user-1|b", "user-1|c"}));
  EXPECT_TRUE(Scan(RecordKind::kInbox, "user-3", 0, storage::ScanOrder::kNewestFirst).empty());
}

TEST_F(RecordsTest, ScanStopsAtItsLimitFromEitherEnd) {
  for (char c = 'a'; c <= 'j'; ++c) Put(RecordKind::kSent, std::string("u|") + c, "v");
  EXPECT_EQ(KeysOf(Scan(RecordKind::kSent, "u|", 3, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"u|a", "u|b", "u|c"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kSent, "u|", 3, storage::ScanOrder::kNewestFirst)),
            (std::vector<std::string>{"u|j", "u|i", "u|h"}));
  EXPECT_EQ(Scan(RecordKind::kSent, "u|", 1, storage::ScanOrder::kNewestFirst).size(), 1u);
  EXPECT_EQ(Scan(RecordKind::kSent, "u|", 100, storage::ScanOrder::kOldestFirst).size(), 10u);
}

TEST_F(RecordsTest, AScanWithLimitZeroReturnsEveryMatch) {
  for (int i = 0; i < 50; ++i) Put(RecordKind::kTickets, TimeKey("t|", i), std::to_string(i));
  EXPECT_EQ(Scan(RecordKind::kTickets, "t|", 0, storage::ScanOrder::kOldestFirst).size(), 50u);
  EXPECT_EQ(Scan(RecordKind::kTickets, "t|", 0, storage::ScanOrder::kNewestFirst).size(), 50u);
}

TEST_F(RecordsTest, BigEndianTimesInKeysScanInTimeOrder) {
  for (std::uint64_t t : {65536u, 1u, 256u, 255u, 0u}) {
    Put(RecordKind::kInbox, TimeKey("user-1|", t), std::to_string(t));
  }
  RecordList oldest = Scan(RecordKind::kInbox, "user-1|", 0, storage::ScanOrder::kOldestFirst);
  RecordList newest = Scan(RecordKind::kInbox, "user-1|", 2, storage::ScanOrder::kNewestFirst);
  std::vector<std::string> oldest_values;
  for (const auto& [key, value] : oldest) oldest_values.push_back(value);
  EXPECT_EQ(oldest_values, (std::vector<std::string>{"0", "1", "255", "256", "65536"}));
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].second, "65536");
  EXPECT_EQ(newest[1].second, "256");
}

TEST_F(RecordsTest, APrefixEndingInFfBytesScansUpToTheNextPrefix) {
  Put(RecordKind::kInbox, "a\xff\x01", "1");
  Put(RecordKind::kInbox, "a\xff\x02", "2");
  Put(RecordKind::kInbox, "b", "not under the prefix");
  Put(RecordKind::kInbox, "a", "shorter");
  EXPECT_EQ(KeysOf(Scan(RecordKind::kInbox, "a\xff", 0, storage::ScanOrder::kNewestFirst)),
            (std::vector<std::string>{"a\xff\x02", "a\xff\x01"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kInbox, "a\xff", 0, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"a\xff\x01", "a\xff\x02"}));
}

TEST_F(RecordsTest, APrefixOfOnlyFfBytesScansToTheEndOfTheTable) {
  Put(RecordKind::kPrefs, "\xff\xff\x01", "1");
  Put(RecordKind::kPrefs, "\xff\xff\xff", "2");
  Put(RecordKind::kPrefs, "\xff", "shorter");
  Put(RecordKind::kPrefs, "z", "before");
  EXPECT_EQ(KeysOf(Scan(RecordKind::kPrefs, "\xff\xff", 0, storage::ScanOrder::kNewestFirst)),
            (std::vector<std::string>{"\xff\xff\xff", "\xff\xff\x01"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kPrefs, "\xff\xff", 0, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"\xff\xff\x01", "\xff\xff\xff"}));
}

TEST_F(RecordsTest, AnEmptyPrefixScansTheWholeTable) {
  Put(RecordKind::kTickets, "b", "2");
  Put(RecordKind::kTickets, "a", "1");
  Put(RecordKind::kTickets, "\xff", "3");
  EXPECT_EQ(KeysOf(Scan(RecordKind::kTickets, "", 0, storage::ScanOrder::kOldestFirst)),
            (std::vector<std::string>{"a", "b", "\xff"}));
  EXPECT_EQ(KeysOf(Scan(RecordKind::kTickets, "", 0, storage::ScanOrder::kNewestFirst)),
            (std::vector<std::string>{"\xff", "b", "a"}));
}

TEST_F(RecordsTest, ScanAfterPagesThroughEveryRecordOnceInKeyOrder) {
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    expected.push_back(TimeKey("", i));
    Put(RecordKind::kSent, expected.back(), std::to_string(i));
  }
  std::vector<std::string> walked;
  std::vector<std::size_t> page_sizes;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    RecordList page = ScanAfter(RecordKind::kSent, after, 10);
    page_sizes.push_back(page.size());
    if (page.empty()) break;
    for (const auto& [key, value] : page) walked.push_back(key);
    after = page.back().first;
  }
  EXPECT_EQ(walked, expected);
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5, 0}));
}

TEST_F(RecordsTest, ScanAfterStartsPastTheGivenKeyWhetherOrNotItExists) {
  Put(RecordKind::kPrefs, "a", "1");
  Put(RecordKind::kPrefs, "b", "2");
  Put(RecordKind::kPrefs, "c", "3");
  EXPECT_EQ(KeysOf(ScanAfter(RecordKind::kPrefs, "a", 10)), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(KeysOf(ScanAfter(RecordKind::kPrefs, "b0", 10)), (std::vector<std::string>{"c"}));
  EXPECT_EQ(KeysOf(ScanAfter(RecordKind::kPrefs, "0", 10)),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(ScanAfter(RecordKind::kPrefs, "c", 10).empty());
  ASSERT_TRUE(records_->Delete(RecordKind::kPrefs, "b").ok());
  EXPECT_EQ(KeysOf(ScanAfter(RecordKind::kPrefs, "b", 10)), (std::vector<std::string>{"c"}));
}

TEST_F(RecordsTest, ScanAfterClampsItsLimitToOneThroughTenThousand) {
  constexpr int kRecords = 10001;
  for (int i = 0; i < kRecords; ++i) Put(RecordKind::kTickets, TimeKey("t|", i), "");
  EXPECT_EQ(ScanAfter(RecordKind::kTickets, "", 0).size(), 1u);
  EXPECT_EQ(ScanAfter(RecordKind::kTickets, "", 1).size(), 1u);
  EXPECT_EQ(ScanAfter(RecordKind::kTickets, "", 10000).size(), 10000u);
  EXPECT_EQ(ScanAfter(RecordKind::kTickets, "", 20000).size(), 10000u);
  EXPECT_EQ(ScanAfter(RecordKind::kTickets, TimeKey("t|", 9999), 20000).size(), 1u);
}

TEST_F(RecordsTest, RecordsSurviveAReopenOfTheStore) {
  for (RecordKind kind : kAllKinds) Put(kind, "user-1", "kept");
  ASSERT_TRUE(records_->Delete(RecordKind::kSent, "user-1").ok());
  Open();
  for (RecordKind kind : kAllKinds) {
    std::optional<std::string> expected;
    if (kind != RecordKind::kSent) expected = "kept";
    EXPECT_EQ(Get(kind, "user-1"), expected) << static_cast<int>(kind);
  }
}

// `always` mode, with the store's hook before each WAL sync failing while fail_syncs_ is set.
class RecordsFailingSyncTest : public RecordsTest {
 protected:
  RecordsFailingSyncTest() {
    options_.fsync = storage::FsyncMode::kAlways;
    options_.before_wal_sync = [this]() -> Status {
      if (fail_syncs_.load()) return Status::IOError("injected sync failure");
      return Status::Ok();
    };
  }

  std::atomic<bool> fail_syncs_{false};
};

TEST_F(RecordsFailingSyncTest, APutOrDeleteWhoseWalSyncFailsReturnsTheError) {
  Put(RecordKind::kInbox, "user-1|1", "first");

  fail_syncs_ = true;
  Status put = records_->Put(RecordKind::kInbox, "user-1|2", "second");
  EXPECT_TRUE(put.IsIOError()) << put.ToString();
  EXPECT_NE(put.message().find("injected sync failure"), std::string::npos) << put.ToString();
  Status deleted = records_->Delete(RecordKind::kInbox, "user-1|1");
  EXPECT_TRUE(deleted.IsIOError()) << deleted.ToString();
  EXPECT_NE(deleted.message().find("injected sync failure"), std::string::npos)
      << deleted.ToString();

  fail_syncs_ = false;
  Put(RecordKind::kInbox, "user-1|3", "third");
  EXPECT_EQ(Get(RecordKind::kInbox, "user-1|3"), "third");
}

}  // namespace
}  // namespace herald::engine
