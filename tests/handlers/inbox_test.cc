#include "handlers/inbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "handlers/record_keys.h"
#include "tests/handlers/handler_fixture.h"

namespace herald::handlers {
namespace {

using namespace std::string_literals;

class InboxTest : public HandlerFixture {
 protected:
  Inbox inbox() const { return Inbox(records_.get()); }

  static InboxEntry Entry(const std::string& user, const std::string& event_id,
                          std::int64_t created_ms, const std::string& title = "Reminder") {
    InboxEntry entry;
    entry.user = user;
    entry.event_id = event_id;
    entry.event_type = "booking.reminder";
    entry.title = title;
    entry.text = "Your booking BK-7 starts tomorrow";
    entry.created_ms = created_ms;
    return entry;
  }

  // Adds an entry that must be new.
  void AddNew(const InboxEntry& entry) {
    auto added = inbox().Add(entry);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_TRUE(added->created) << entry.event_id;
  }

  std::vector<InboxEntry> RecentOf(const std::string& user, std::uint32_t count = 100) const {
    auto recent = inbox().Recent(user, count);
    EXPECT_TRUE(recent.ok()) << recent.status().ToString();
    return recent.ok() ? *recent : std::vector<InboxEntry>{};
  }

  static std::vector<std::string> EventIds(const std::vector<InboxEntry>& entries) {
    std::vector<std::string> ids;
    for (const InboxEntry& entry : entries) ids.push_back(entry.event_id);
    return ids;
  }

  void ExpectSame(const InboxEntry& got, const InboxEntry& want) {
    EXPECT_EQ(got.user, want.user);
    EXPECT_EQ(got.event_id, want.event_id);
    EXPECT_EQ(got.event_type, want.event_type);
    EXPECT_EQ(got.title, want.title);
    EXPECT_EQ(got.text, want.text);
    EXPECT_EQ(got.created_ms, want.created_ms);
  }

  void Reopen() {
    records_.reset();
    store_.reset();
    storage::StoreOptions options;
    options.data_dir = dir_.Sub("db");
    options.logger = logger_;
    auto store = storage::Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    records_ = std::make_unique<engine::StoreRecords>(store_.get());
  }
};

TEST_F(InboxTest, AnAddedEntryIsNewAndReadBackWithEveryField) {
  const InboxEntry entry = Entry("user-1", "evt-1", clock_.NowMs());
  auto added = inbox().Add(entry);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_TRUE(added->created);
  ExpectSame(added->entry, entry);
  std::vector<InboxEntry> recent = RecentOf("user-1");
  ASSERT_EQ(recent.size(), 1u);
  ExpectSame(recent[0], entry);
}

TEST_F(InboxTest, TextWithQuotesNewlinesAndUnicodeIsKeptExactly) {
  InboxEntry entry = Entry("user-1", "evt-1", 1000, "Caf\xc3\xa9 \"Le Bon\" \xf0\x9f\x8d\xb0");
  entry.text = "line one\nline\ttwo \\ back\r\nand a NUL \0 too\n "s;
  AddNew(entry);
  std::vector<InboxEntry> recent = RecentOf("user-1");
  ASSERT_EQ(recent.size(), 1u);
  ExpectSame(recent[0], entry);
}

TEST_F(InboxTest, AnEmptyInboxHasNoEntries) { EXPECT_TRUE(RecentOf("nobody").empty()); }

TEST_F(InboxTest, RecentIsNewestFirstWhateverTheOrderOfAdding) {
  AddNew(Entry("user-1", "evt-b", 2000));
  AddNew(Entry("user-1", "evt-c", 3000));
  AddNew(Entry("user-1", "evt-a", 1000));
  AddNew(Entry("user-1", "evt-d", 2500));
  EXPECT_EQ(EventIds(RecentOf("user-1")),
            (std::vector<std::string>{"evt-c", "evt-d", "evt-b", "evt-a"}));
}

TEST_F(InboxTest, NewestFirstHoldsAcrossByteBoundariesOfTheTime) {
  // Big-endian times: 255 ms < 256 ms < 65536 ms, though their low bytes say otherwise.
  AddNew(Entry("user-1", "evt-256", 256));
  AddNew(Entry("user-1", "evt-65536", 65536));
  AddNew(Entry("user-1", "evt-255", 255));
  EXPECT_EQ(EventIds(RecentOf("user-1")),
            (std::vector<std::string>{"evt-65536", "evt-256", "evt-255"}));
}

TEST_F(InboxTest, RecentReturnsAtMostCountOfTheNewest) {
  for (int i = 1; i <= 5; ++i) AddNew(Entry("user-1", "evt-" + std::to_string(i), 1000 * i));
  EXPECT_EQ(EventIds(RecentOf("user-1", 2)), (std::vector<std::string>{"evt-5", "evt-4"}));
  EXPECT_EQ(EventIds(RecentOf("user-1", 1)), (std::vector<std::string>{"evt-5"}));
  EXPECT_EQ(RecentOf("user-1", 5).size(), 5u);
  EXPECT_EQ(RecentOf("user-1", std::numeric_limits<std::uint32_t>::max()).size(), 5u);
}

TEST_F(InboxTest, ACountOfZeroReturnsNothing) {
  AddNew(Entry("user-1", "evt-1", 1000));
  EXPECT_TRUE(RecentOf("user-1", 0).empty());
}

TEST_F(InboxTest, EntriesOfTheSameMillisecondAreAllKept) {
  AddNew(Entry("user-1", "evt-1", 1000));
  AddNew(Entry("user-1", "evt-2", 1000));
  AddNew(Entry("user-1", "evt-3", 1000));
  std::vector<std::string> ids = EventIds(RecentOf("user-1"));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"evt-1", "evt-2", "evt-3"}));
}

TEST_F(InboxTest, AddingAnEventAgainReturnsTheStoredEntryUnchanged) {
  const InboxEntry first = Entry("user-1", "evt-1", 1000, "First");
  AddNew(first);
  InboxEntry again = Entry("user-1", "evt-1", 9000, "Second");
  again.text = "other text";
  auto added = inbox().Add(again);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_FALSE(added->created);
  ExpectSame(added->entry, first);
  std::vector<InboxEntry> recent = RecentOf("user-1");
  ASSERT_EQ(recent.size(), 1u);
  ExpectSame(recent[0], first);
}

TEST_F(InboxTest, TheSameEventReachesEachUserOnce) {
  AddNew(Entry("user-1", "evt-1", 1000));
  AddNew(Entry("user-2", "evt-1", 1000));
  auto again = inbox().Add(Entry("user-2", "evt-1", 2000));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(EventIds(RecentOf("user-1")), (std::vector<std::string>{"evt-1"}));
  EXPECT_EQ(EventIds(RecentOf("user-2")), (std::vector<std::string>{"evt-1"}));
}

TEST_F(InboxTest, UsersWhoseIdsArePrefixesOfEachOtherSeeOnlyTheirOwnEntries) {
  AddNew(Entry("user", "evt-a", 1000));
  AddNew(Entry("user-1", "evt-b", 2000));
  AddNew(Entry("user-10", "evt-c", 3000));
  AddNew(Entry("use", "evt-d", 4000));
  EXPECT_EQ(EventIds(RecentOf("user")), (std::vector<std::string>{"evt-a"}));
  EXPECT_EQ(EventIds(RecentOf("user-1")), (std::vector<std::string>{"evt-b"}));
  EXPECT_EQ(EventIds(RecentOf("user-10")), (std::vector<std::string>{"evt-c"}));
  EXPECT_EQ(EventIds(RecentOf("use")), (std::vector<std::string>{"evt-d"}));
  EXPECT_TRUE(RecentOf("user-2").empty());
}

TEST_F(InboxTest, AnEntryWithABadUserOrEventIdIsRefusedAndNothingIsStored) {
  const std::string message = "inbox entry needs a user and event id of 1..256 bytes without NUL";
  for (const auto& [user, event_id] :
       std::vector<std::pair<std::string, std::string>>{{"", "evt-1"},
                                                        {"user-1", ""},
                                                        {std::string(257, 'u'), "evt-1"},
                                                        {"user-1", std::string(257, 'e')},
                                                        {"user\0001"s, "evt-1"},
                                                        {"user-1", "evt\0001"s}}) {
    auto added = inbox().Add(Entry(user, event_id, 1000));
    ASSERT_FALSE(added.ok()) << user << " " << event_id;
    EXPECT_TRUE(added.status().IsInvalidArgument());
    EXPECT_EQ(added.status().message(), message);
  }
  EXPECT_TRUE(RecentOf("user-1").empty());
  auto rows = records_->Scan(engine::RecordKind::kInbox, "", 0, engine::ScanOrder::kOldestFirst);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(InboxTest, IdsOf256BytesAreAccepted) {
  const std::string user(256, 'u');
  const std::string event_id(256, 'e');
  AddNew(Entry(user, event_id, 1000));
  EXPECT_EQ(EventIds(RecentOf(user)), (std::vector<std::string>{event_id}));
}

TEST_F(InboxTest, RecentForABadUserIdIsRefused) {
  for (const std::string& user : {""s, std::string(257, 'u'), "a\0b"s}) {
    auto recent = inbox().Recent(user, 10);
    ASSERT_FALSE(recent.ok());
    EXPECT_TRUE(recent.status().IsInvalidArgument());
    EXPECT_EQ(recent.status().message(), "user id must be 1..256 bytes without NUL");
  }
}

TEST_F(InboxTest, EntriesAndTheirIdempotenceSurviveReopeningTheStore) {
  AddNew(Entry("user-1", "evt-1", 1000, "First"));
  AddNew(Entry("user-1", "evt-2", 2000, "Second"));
  Reopen();
  EXPECT_EQ(EventIds(RecentOf("user-1")), (std::vector<std::string>{"evt-2", "evt-1"}));
  auto again = inbox().Add(Entry("user-1", "evt-1", 3000, "Third"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->entry.title, "First");
}

TEST_F(InboxTest, AnEntryOfAnUnknownFormatVersionIsCorruptionNamingTheInbox) {
  AddNew(Entry("user-1", "evt-1", 1000));
  ASSERT_TRUE(records_
                  ->Put(engine::RecordKind::kInbox, keys::InboxMessageKey("user-1", 2000, "evt-2"),
                        "\x02{}")
                  .ok());
  auto recent = inbox().Recent("user-1", 10);
  ASSERT_FALSE(recent.ok());
  EXPECT_TRUE(recent.status().IsCorruption());
  EXPECT_EQ(recent.status().message(), "inbox entry has an unknown format version");
}

TEST_F(InboxTest, ADamagedEntryIsCorruptionWhenItIsAddedAgain) {
  AddNew(Entry("user-1", "evt-1", 1000));
  ASSERT_TRUE(records_
                  ->Put(engine::RecordKind::kInbox, keys::InboxMessageKey("user-1", 1000, "evt-1"),
                        keys::Versioned("{\"user\":"))
                  .ok());
  auto added = inbox().Add(Entry("user-1", "evt-1", 2000));
  ASSERT_FALSE(added.ok());
  EXPECT_TRUE(added.status().IsCorruption());
  EXPECT_EQ(added.status().message().rfind("inbox entry: invalid JSON", 0), 0u)
      << added.status().message();
}

}  // namespace
}  // namespace herald::handlers
