#include "handlers/delivery_log.h"

#include <gtest/gtest.h>

#include "handlers/inbox.h"
#include "handlers/queries.h"
#include "handlers/record_keys.h"
#include "tests/handlers/handler_fixture.h"

namespace herald::handlers {
namespace {

class DeliveryLogTest : public HandlerFixture {
 protected:
  DeliveryRecord Make(const std::string& user, const std::string& event_id,
                      const std::string& channel, DeliveryStatus status,
                      std::uint32_t attempts = 1) {
    DeliveryRecord record;
    record.user = user;
    record.channel = channel;
    record.event_id = event_id;
    record.event_type = "booking.created";
    record.status = status;
    record.detail = "detail";
    record.attempts = attempts;
    return record;
  }
};

TEST_F(DeliveryLogTest, FindReturnsWhatWasRecorded) {
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_FALSE(log.Find("evt-1", "email")->has_value());
  auto stored = log.Record(Make("user-1", "evt-1", "email", DeliveryStatus::kSent));
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  auto found = log.Find("evt-1", "email");
  ASSERT_TRUE(found.ok() && found->has_value());
  const DeliveryRecord& record = **found;
  EXPECT_EQ(record.user, "user-1");
  EXPECT_EQ(record.event_type, "booking.created");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.attempts, 1u);
  EXPECT_EQ(record.created_ms, clock_.NowMs());
  EXPECT_EQ(record.sent_ms, clock_.NowMs());
  EXPECT_TRUE(*log.AlreadySent("evt-1", "email"));
  EXPECT_FALSE(*log.AlreadySent("evt-1", "push"));
  EXPECT_FALSE(*log.AlreadySent("evt-2", "email"));
}

TEST_F(DeliveryLogTest, LaterAttemptsUpdateTheRecordAndKeepItsCreatedTime) {
  DeliveryLog log(records_.get(), &clock_);
  const std::int64_t first = clock_.NowMs();
  ASSERT_TRUE(log.Record(Make("user-1", "evt-1", "email", DeliveryStatus::kFailed, 1)).ok());
  EXPECT_FALSE(*log.AlreadySent("evt-1", "email"));
  clock_.Advance(2000);
  ASSERT_TRUE(log.Record(Make("user-1", "evt-1", "email", DeliveryStatus::kFailed, 2)).ok());
  clock_.Advance(4000);
  ASSERT_TRUE(log.Record(Make("user-1", "evt-1", "email", DeliveryStatus::kSent, 3)).ok());
  DeliveryRecord record = **log.Find("evt-1", "email");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.attempts, 3u);
  EXPECT_EQ(record.created_ms, first);
  EXPECT_EQ(record.updated_ms, first + 6000);
  EXPECT_EQ(record.sent_ms, first + 6000);
  // Still one entry in the user's log.
  EXPECT_EQ(log.RecentForUser("user-1", 10)->size(), 1u);
}

TEST_F(DeliveryLogTest, RecentForUserIsNewestFirstAndBoundedByCount) {
  DeliveryLog log(records_.get(), &clock_);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        log.Record(Make("user-1", "evt-" + std::to_string(i), "email", DeliveryStatus::kSent))
            .ok());
    clock_.Advance(1000);
  }
  ASSERT_TRUE(log.Record(Make("user-2", "evt-x", "push", DeliveryStatus::kSkipped)).ok());
  ASSERT_TRUE(log.Record(Make("user-10", "evt-y", "push", DeliveryStatus::kSkipped)).ok());
  auto recent = log.RecentForUser("user-1", 3);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].event_id, "evt-5");
  EXPECT_EQ((*recent)[1].event_id, "evt-4");
  EXPECT_EQ((*recent)[2].event_id, "evt-3");
  EXPECT_EQ(log.RecentForUser("user-1", 100)->size(), 5u);
  EXPECT_EQ(log.RecentForUser("user-2", 100)->size(), 1u);
  EXPECT_TRUE(log.RecentForUser("user-1", 0)->empty());
  EXPECT_TRUE(log.RecentForUser("nobody", 10)->empty());
}

TEST_F(DeliveryLogTest, BadIdsAreInvalidArgument) {
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_TRUE(
      log.Record(Make("", "evt", "email", DeliveryStatus::kSent)).status().IsInvalidArgument());
  EXPECT_TRUE(log.Record(Make("u", std::string("e\0v", 3), "email", DeliveryStatus::kSent))
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(log.RecentForUser("", 10).status().IsInvalidArgument());
}

TEST_F(DeliveryLogTest, SentQueryGivesFieldsForTheSentCommand) {
  DeliveryLog log(records_.get(), &clock_);
  ASSERT_TRUE(log.Record(Make("user-1", "evt-1", "email", DeliveryStatus::kSent, 2)).ok());
  NotificationQueries queries(records_.get());
  auto sent = queries.Sent("user-1");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->size(), 1u);
  Fields fields = DeliveryFields((*sent)[0]);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>{"eventId", "evt-1"}));
  EXPECT_EQ(fields[3], (std::pair<std::string, std::string>{"status", "sent"}));
  EXPECT_EQ(fields[5], (std::pair<std::string, std::string>{"attempts", "2"}));
  EXPECT_EQ(fields[6],
            (std::pair<std::string, std::string>{"createdAt", "2024-03-05T10:00:00.000Z"}));
  EXPECT_TRUE(
      queries.Sent("user-1", NotificationQueries::kMaxCount + 1).status().IsInvalidArgument());
}

TEST_F(DeliveryLogTest, InboxAddIsIdempotentPerEventAndNewestFirst) {
  Inbox inbox(records_.get());
  for (int i = 1; i <= 3; ++i) {
    InboxEntry entry;
    entry.user = "user-1";
    entry.event_id = "evt-" + std::to_string(i);
    entry.event_type = "booking.reminder";
    entry.title = "T" + std::to_string(i);
    entry.text = "text";
    entry.created_ms = 1000 * i;
    auto added = inbox.Add(entry);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    EXPECT_TRUE(added->created);
  }
  InboxEntry again;
  again.user = "user-1";
  again.event_id = "evt-2";
  again.title = "other";
  again.created_ms = 9999;
  auto added = inbox.Add(again);
  ASSERT_TRUE(added.ok());
  EXPECT_FALSE(added->created);
  EXPECT_EQ(added->entry.title, "T2");
  auto recent = NotificationQueries(records_.get()).Inbox("user-1", 10);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 3u);
  EXPECT_EQ((*recent)[0].title, "T3");
  EXPECT_EQ((*recent)[2].title, "T1");
  EXPECT_EQ(InboxFields((*recent)[0])[2], (std::pair<std::string, std::string>{"title", "T3"}));
}

// Golden bytes: these layouts are on disk.
TEST(RecordKeysTest, LayoutsArePinned) {
  using namespace std::string_literals;
  EXPECT_EQ(keys::PrefKey("u1", "email"), "u1\0email"s);
  EXPECT_EQ(keys::InboxMessageKey("u1", 0x0102030405060708, "e1"),
            "mu1\0\x01\x02\x03\x04\x05\x06\x07\x08"
            "e1"s);
  EXPECT_EQ(keys::InboxEventKey("e1", "u1"), "ee1\0u1"s);
  EXPECT_EQ(keys::SentEventKey("e1", "push"), "ee1\0push"s);
  EXPECT_EQ(keys::SentUserKey("u1", 256, "e1", "push"), "uu1\0\0\0\0\0\0\0\x01\0e1\0push"s);
  EXPECT_EQ(keys::TicketKey(1, "TKT-1"), "t\0\0\0\0\0\0\0\x01TKT-1"s);
  EXPECT_EQ(keys::TicketEventKey("e1"), "ee1");
  EXPECT_EQ(keys::Versioned("x"), "\x01x");
  auto parsed = keys::ParseSentUserKey(keys::SentUserKey("u1", 5, "e1", "push"),
                                       keys::SentUserPrefix("u1").size());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->event_id, "e1");
  EXPECT_EQ(parsed->channel, "push");
  EXPECT_EQ(keys::ReadBe64("\x01\x02\x03\x04\x05\x06\x07\x08"), 0x0102030405060708);
}

}  // namespace
}  // namespace herald::handlers
