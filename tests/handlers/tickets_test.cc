#include "handlers/tickets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "handlers/flat_json.h"
#include "handlers/record_keys.h"
#include "tests/handlers/handler_fixture.h"

namespace herald::handlers {
namespace {

using namespace std::string_literals;

class TicketStoreTest : public HandlerFixture {
 protected:
  TicketStore tickets() { return TicketStore(records_.get(), &clock_); }

  static Ticket Draft(const std::string& event_id, const std::string& booking_id = "BK-7") {
    Ticket draft;
    draft.event_id = event_id;
    draft.event_type = "payment.failed";
    draft.booking_id = booking_id;
    draft.payment_id = "PAY-9";
    draft.user_id = "user-1";
    draft.amount = "49.99";
    draft.reason = "card declined";
    draft.subject = "Payment PAY-9 failed for booking " + booking_id;
    draft.description = "The payment of 49.99 failed: card declined.";
    return draft;
  }

  // Creates a ticket that must be new.
  Ticket CreateNew(const Ticket& draft) {
    auto created = tickets().Create(draft);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return {};
    EXPECT_TRUE(created->created) << draft.event_id;
    return created->ticket;
  }

  std::vector<Ticket> Recent(std::uint32_t count = 100) {
    auto recent = tickets().Recent(count);
    EXPECT_TRUE(recent.ok()) << recent.status().ToString();
    return recent.ok() ? *recent : std::vector<Ticket>{};
  }

  static std::vector<std::string> EventIds(const std::vector<Ticket>& list) {
    std::vector<std::string> ids;
    for (const Ticket& ticket : list) ids.push_back(ticket.event_id);
    return ids;
  }

  static void ExpectSame(const Ticket& got, const Ticket& want) {
    EXPECT_EQ(TicketToJson(got), TicketToJson(want));
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

// ---- MakeId ------------------------------------------------------------------------------

TEST(TicketIdTest, AnIdIsTheUtcDateAndTwelveHexDigitsOfTheEventIdsHash) {
  // 2024-03-05T10:00:00Z; FNV-1a (64 bits) of "evt-1", its low 48 bits.
  EXPECT_EQ(TicketStore::MakeId("evt-1", 1'709'632'800'000), "TKT-20240305-c600c414dbc4");
  EXPECT_EQ(TicketStore::MakeId("evt-2", 1'709'632'800'000), "TKT-20240305-c900c414e0dd");
}

TEST(TicketIdTest, TheIdOfAnEventIsTheSameAllDayLong) {
  const std::int64_t midnight = 1'709'596'800'000;  // 2024-03-05T00:00:00Z
  EXPECT_EQ(TicketStore::MakeId("evt-1", midnight),
            TicketStore::MakeId("evt-1", midnight + 86'400'000 - 1));
}

TEST(TicketIdTest, TheDateChangesAtUtcMidnight) {
  const std::int64_t midnight = 1'709'596'800'000;  // 2024-03-05T00:00:00Z
  EXPECT_EQ(TicketStore::MakeId("evt-1", midnight - 1), "TKT-20240304-c600c414dbc4");
  EXPECT_EQ(TicketStore::MakeId("evt-1", midnight), "TKT-20240305-c600c414dbc4");
  EXPECT_EQ(TicketStore::MakeId("evt-1", 0), "TKT-19700101-c600c414dbc4");
  EXPECT_EQ(TicketStore::MakeId("evt-1", 951'782'400'000), "TKT-20000229-c600c414dbc4");
}

TEST(TicketIdTest, DifferentEventsGetDifferentIds) {
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(TicketStore::MakeId("evt-" + std::to_string(i), 1'709'632'800'000));
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  for (const std::string& id : ids) EXPECT_EQ(id.size(), 4u + 8u + 1u + 12u) << id;
}

// ---- TicketToJson ------------------------------------------------------------------------

TEST(TicketJsonTest, EveryFieldIsUnderItsJsonName) {
  Ticket ticket;
  ticket.id = "TKT-20240305-c600c414dbc4";
  ticket.event_id = "evt-1";
  ticket.event_type = "payment.failed";
  ticket.booking_id = "BK-7";
  ticket.payment_id = "PAY-9";
  ticket.user_id = "user-1";
  ticket.amount = "49.99";
  ticket.reason = "card \"declined\"\n";
  ticket.subject = "Payment failed";
  ticket.description = "Caf\xc3\xa9";
  ticket.created_ms = 1'709'632'800'000;
  Result<FlatObject> json = ParseFlatObject(TicketToJson(ticket));
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->size(), 12u);
  EXPECT_EQ(FieldText(*json, "id"), ticket.id);
  EXPECT_EQ(FieldText(*json, "eventId"), "evt-1");
  EXPECT_EQ(FieldText(*json, "eventType"), "payment.failed");
  EXPECT_EQ(FieldText(*json, "bookingId"), "BK-7");
  EXPECT_EQ(FieldText(*json, "paymentId"), "PAY-9");
  EXPECT_EQ(FieldText(*json, "userId"), "user-1");
  EXPECT_EQ(json->at("amount").kind, JsonField::Kind::kString);
  EXPECT_EQ(FieldText(*json, "amount"), "49.99");
  EXPECT_EQ(FieldText(*json, "reason"), "card \"declined\"\n");
  EXPECT_EQ(FieldText(*json, "subject"), "Payment failed");
  EXPECT_EQ(FieldText(*json, "description"), "Caf\xc3\xa9");
  EXPECT_EQ(FieldText(*json, "status"), "open");
  EXPECT_EQ(json->at("createdMs").kind, JsonField::Kind::kNumber);
  EXPECT_EQ(FieldInt(*json, "createdMs"), 1'709'632'800'000);
}

// ---- Create and FindByEvent --------------------------------------------------------------

TEST_F(TicketStoreTest, CreateOpensATicketWithItsIdStatusAndTime) {
  const Ticket draft = Draft("evt-1");
  auto created = tickets().Create(draft);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->created);
  const Ticket& ticket = created->ticket;
  EXPECT_EQ(ticket.id, TicketStore::MakeId("evt-1", clock_.NowMs()));
  EXPECT_EQ(ticket.status, "open");
  EXPECT_EQ(ticket.created_ms, clock_.NowMs());
  EXPECT_EQ(ticket.event_id, "evt-1");
  EXPECT_EQ(ticket.event_type, draft.event_type);
  EXPECT_EQ(ticket.booking_id, draft.booking_id);
  EXPECT_EQ(ticket.payment_id, draft.payment_id);
  EXPECT_EQ(ticket.user_id, draft.user_id);
  EXPECT_EQ(ticket.amount, draft.amount);
  EXPECT_EQ(ticket.reason, draft.reason);
  EXPECT_EQ(ticket.subject, draft.subject);
  EXPECT_EQ(ticket.description, draft.description);
}

TEST_F(TicketStoreTest, TheDraftsIdStatusAndTimeAreReplaced) {
  Ticket draft = Draft("evt-1");
  draft.id = "TKT-mine";
  draft.status = "closed";
  draft.created_ms = 5;
  const Ticket ticket = CreateNew(draft);
  EXPECT_EQ(ticket.id, TicketStore::MakeId("evt-1", clock_.NowMs()));
  EXPECT_EQ(ticket.status, "open");
  EXPECT_EQ(ticket.created_ms, clock_.NowMs());
}

TEST_F(TicketStoreTest, FindByEventReturnsTheStoredTicket) {
  Ticket draft = Draft("evt-1");
  draft.reason = "line one\nline \"two\" \xe2\x82\xac";
  draft.description = "Payment failed.\n\nEvent evt-1.\n";
  const Ticket ticket = CreateNew(draft);
  auto found = tickets().FindByEvent("evt-1");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  ExpectSame(**found, ticket);
}

TEST_F(TicketStoreTest, AnEventWithoutATicketIsNotFound) {
  CreateNew(Draft("evt-1"));
  for (const std::string& event_id : {"evt-2"s, "evt-"s, "evt-10"s, ""s}) {
    auto found = tickets().FindByEvent(event_id);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_FALSE(found->has_value()) << event_id;
  }
}

TEST_F(TicketStoreTest, CreatingAgainForTheSameEventReturnsTheFirstTicketUnchanged) {
  const Ticket first = CreateNew(Draft("evt-1"));
  clock_.Advance(2 * 86'400'000);  // another day: a new id, were it made again
  Ticket other = Draft("evt-1", "BK-8");
  other.reason = "insufficient funds";
  auto again = tickets().Create(other);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  ExpectSame(again->ticket, first);
  EXPECT_EQ(Recent().size(), 1u);
}

TEST_F(TicketStoreTest, ABadEventIdIsRefusedAndNothingIsStored) {
  for (const std::string& event_id : {""s, std::string(257, 'e'), "evt\0001"s}) {
    auto created = tickets().Create(Draft(event_id));
    ASSERT_FALSE(created.ok());
    EXPECT_TRUE(created.status().IsInvalidArgument());
    EXPECT_EQ(created.status().message(), "ticket needs an event id of 1..256 bytes without NUL");
  }
  auto rows = records_->Scan(engine::RecordKind::kTickets, "", 0, engine::ScanOrder::kOldestFirst);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

TEST_F(TicketStoreTest, AnEventIdOf256BytesIsAccepted) {
  const std::string event_id(256, 'e');
  CreateNew(Draft(event_id));
  auto found = tickets().FindByEvent(event_id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->event_id, event_id);
}

// ---- Recent ------------------------------------------------------------------------------

TEST_F(TicketStoreTest, RecentIsNewestFirstByCreationTime) {
  for (const char* event_id : {"evt-c", "evt-a", "evt-b"}) {
    CreateNew(Draft(event_id));
    clock_.Advance(1000);
  }
  EXPECT_EQ(EventIds(Recent()), (std::vector<std::string>{"evt-b", "evt-a", "evt-c"}));
}

TEST_F(TicketStoreTest, RecentReturnsAtMostCountOfTheNewest) {
  for (int i = 1; i <= 5; ++i) {
    CreateNew(Draft("evt-" + std::to_string(i)));
    clock_.Advance(1000);
  }
  EXPECT_EQ(EventIds(Recent(2)), (std::vector<std::string>{"evt-5", "evt-4"}));
  EXPECT_EQ(Recent(5).size(), 5u);
  EXPECT_EQ(Recent(std::numeric_limits<std::uint32_t>::max()).size(), 5u);
}

TEST_F(TicketStoreTest, ACountOfZeroOrNoTicketsGiveNothing) {
  EXPECT_TRUE(Recent(10).empty());
  CreateNew(Draft("evt-1"));
  EXPECT_TRUE(Recent(0).empty());
}

TEST_F(TicketStoreTest, TicketsOfTheSameMillisecondAreAllKept) {
  CreateNew(Draft("evt-1"));
  CreateNew(Draft("evt-2"));
  CreateNew(Draft("evt-3"));
  std::vector<std::string> ids = EventIds(Recent());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"evt-1", "evt-2", "evt-3"}));
}

TEST_F(TicketStoreTest, RecentListsTicketsAsStored) {
  const Ticket ticket = CreateNew(Draft("evt-1"));
  std::vector<Ticket> recent = Recent();
  ASSERT_EQ(recent.size(), 1u);
  ExpectSame(recent[0], ticket);
}

TEST_F(TicketStoreTest, TicketsAndTheirIdempotenceSurviveReopeningTheStore) {
  const Ticket first = CreateNew(Draft("evt-1"));
  clock_.Advance(1000);
  CreateNew(Draft("evt-2"));
  Reopen();
  EXPECT_EQ(EventIds(Recent()), (std::vector<std::string>{"evt-2", "evt-1"}));
  auto again = tickets().Create(Draft("evt-1"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  ExpectSame(again->ticket, first);
}

// ---- damaged records ---------------------------------------------------------------------

TEST_F(TicketStoreTest, ATicketOfAnUnknownFormatVersionIsCorruptionNamingTheTicket) {
  CreateNew(Draft("evt-1"));
  ASSERT_TRUE(
      records_->Put(engine::RecordKind::kTickets, keys::TicketKey(1, "TKT-old"), "\x02{}").ok());
  auto recent = tickets().Recent(10);
  ASSERT_FALSE(recent.ok());
  EXPECT_TRUE(recent.status().IsCorruption());
  EXPECT_EQ(recent.status().message(), "ticket has an unknown format version");
}

TEST_F(TicketStoreTest, AnIndexOfAnUnknownFormatVersionIsCorruptionAndNoSecondTicketIsMade) {
  CreateNew(Draft("evt-1"));
  ASSERT_TRUE(
      records_->Put(engine::RecordKind::kTickets, keys::TicketEventKey("evt-1"), "\x02t").ok());
  auto found = tickets().FindByEvent("evt-1");
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(found.status().IsCorruption());
  EXPECT_EQ(found.status().message(), "ticket index has an unknown format version");
  auto again = tickets().Create(Draft("evt-1"));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsCorruption());
  EXPECT_EQ(Recent().size(), 1u);
}

TEST_F(TicketStoreTest, ADamagedTicketIsCorruptionWhenItsEventIsLookedUp) {
  const Ticket ticket = CreateNew(Draft("evt-1"));
  ASSERT_TRUE(records_
                  ->Put(engine::RecordKind::kTickets, keys::TicketKey(ticket.created_ms, ticket.id),
                        keys::Versioned("{\"id\":"))
                  .ok());
  auto found = tickets().FindByEvent("evt-1");
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(found.status().IsCorruption());
  EXPECT_EQ(found.status().message().rfind("ticket: invalid JSON", 0), 0u)
      << found.status().message();
}

}  // namespace
}  // namespace herald::handlers
