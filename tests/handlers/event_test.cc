#include "handlers/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <set>
#include <string>

namespace herald::handlers {
namespace {

using namespace std::string_literals;

// An envelope with every field; `data` is JSON text, or nothing at all when empty.
std::string Envelope(const std::string& type, const std::string& id, const std::string& data) {
  boost::json::object event;
  event["eventType"] = type;
  event["eventId"] = id;
  event["timestamp"] = "2024-03-05T10:00:00.000Z";
  std::string json = boost::json::serialize(event);
  if (!data.empty()) json.insert(json.size() - 1, ",\"data\":" + data);
  return json;
}

Event Parsed(const std::string& json) {
  Result<Event> event = ParseEvent(json);
  EXPECT_TRUE(event.ok()) << json << ": " << event.status().ToString();
  return event.ok() ? *event : Event{};
}

// The message of a parse that must fail with InvalidArgument.
std::string ParseError(const std::string& json) {
  Result<Event> event = ParseEvent(json);
  EXPECT_FALSE(event.ok()) << json;
  if (event.ok()) return "<parsed>";
  EXPECT_TRUE(event.status().IsInvalidArgument()) << event.status().ToString();
  return event.status().message();
}

// ---- ParseEvent ----------------------------------------------------------------------------

TEST(ParseEventTest, AnEnvelopeGivesItsTypeIdTimestampAndData) {
  Event event = Parsed(Envelope("booking.created", "evt-1",
                                R"({"bookingId":"BK-1","userId":"u-1","userEmail":"a@example.com",)"
                                R"("guests":2,"vip":true,"rooms":["101","102"]})"));
  EXPECT_EQ(event.type, "booking.created");
  EXPECT_EQ(event.id, "evt-1");
  EXPECT_EQ(event.timestamp, "2024-03-05T10:00:00.000Z");
  EXPECT_EQ(event.data.size(), 6u);
  EXPECT_EQ(event.Field("bookingId"), "BK-1");
  EXPECT_EQ(event.Field("userId"), "u-1");
  EXPECT_EQ(event.Field("userEmail"), "a@example.com");
  EXPECT_EQ(event.Field("guests"), "2");
  EXPECT_EQ(event.Field("vip"), "true");
  EXPECT_EQ(event.Field("rooms"), R"(["101","102"])");
}

TEST(ParseEventTest, AnAbsentOrNullDataFieldReadsAsEmpty) {
  Event event = Parsed(Envelope("payment.failed", "evt-1", R"({"reason":null})"));
  EXPECT_EQ(event.Field("reason"), "");
  EXPECT_EQ(event.Field("missing"), "");
}

TEST(ParseEventTest, DataIsOptionalAndNullDataIsNone) {
  EXPECT_TRUE(Parsed(Envelope("booking.reminder", "evt-1", "")).data.empty());
  EXPECT_TRUE(Parsed(Envelope("booking.reminder", "evt-1", "null")).data.empty());
  EXPECT_TRUE(Parsed(Envelope("booking.reminder", "evt-1", "{}")).data.empty());
}

TEST(ParseEventTest, TimestampIsOptional) {
  Event event = Parsed(R"({"eventType":"booking.created","eventId":"evt-1"})");
  EXPECT_EQ(event.timestamp, "");
  EXPECT_EQ(event.id, "evt-1");
}

TEST(ParseEventTest, UnknownEnvelopeFieldsAreIgnored) {
  Event event =
      Parsed(R"({"eventType":"booking.created","eventId":"evt-1","source":"booking-service",)"
             R"("version":2,"data":{"bookingId":"BK-1"}})");
  EXPECT_EQ(event.type, "booking.created");
  EXPECT_EQ(event.Field("bookingId"), "BK-1");
  EXPECT_EQ(event.Field("source"), "");
}

// The broker's router refuses unknown types when an event is emitted; a job added directly
// reaches the handler with whatever type it has, and the handler decides.
TEST(ParseEventTest, AnyEventTypeTextIsAcceptedForTheHandlerToJudge) {
  EXPECT_EQ(Parsed(Envelope("no.such.type", "evt-1", "")).type, "no.such.type");
}

TEST(ParseEventTest, AMissingEmptyOrNonStringEventTypeIsRefused) {
  for (const char* json :
       {R"({"eventId":"evt-1"})", R"({"eventType":"","eventId":"evt-1"})",
        R"({"eventType":42,"eventId":"evt-1"})", R"({"eventType":null,"eventId":"evt-1"})",
        R"({"eventType":["booking.created"],"eventId":"evt-1"})", "{}"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(ParseError(json), "event has no eventType");
  }
}

TEST(ParseEventTest, AMissingEmptyOrNonStringEventIdIsRefusedNamingTheType) {
  for (const char* json :
       {R"({"eventType":"booking.created"})", R"({"eventType":"booking.created","eventId":""})",
        R"({"eventType":"booking.created","eventId":7})",
        R"({"eventType":"booking.created","eventId":{"id":"evt-1"}})"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(ParseError(json), "event booking.created has no eventId");
  }
}

TEST(ParseEventTest, AnEventIdOfUpTo256BytesIsAccepted) {
  const std::string id(256, 'e');
  EXPECT_EQ(Parsed(Envelope("booking.created", id, "")).id, id);
}

TEST(ParseEventTest, AnEventIdLongerThan256BytesOrWithANulIsRefused) {
  EXPECT_EQ(ParseError(Envelope("booking.created", std::string(257, 'e'), "")),
            "eventId must be 1..256 bytes without NUL");
  EXPECT_EQ(ParseError(R"({"eventType":"booking.created","eventId":"evt\u00001"})"),
            "eventId must be 1..256 bytes without NUL");
}

TEST(ParseEventTest, DataThatIsNotAnObjectIsRefusedNamingTheEvent) {
  for (const char* data : {"[1,2]", "\"text\"", "42", "true"}) {
    SCOPED_TRACE(data);
    EXPECT_EQ(ParseError(Envelope("payment.failed", "evt-9", data)),
              "event payment.failed evt-9: data must be an object");
  }
}

TEST(ParseEventTest, InvalidJsonIsRefusedSayingSo) {
  for (const std::string& json : {""s, "{"s, R"({"eventType":"a","eventId":"b",})"s,
                                  R"({"eventType":"a","eventId":"b"} trailing)"s,
                                  R"({"eventType":"a","eventId":"b","data":{"x":tru}})"s,
                                  R"({"eventType":"a","eventId":"b","data":{"x":1})"s}) {
    SCOPED_TRACE(json);
    const std::string error = ParseError(json);
    EXPECT_EQ(error.rfind("invalid JSON: ", 0), 0u) << error;
  }
}

TEST(ParseEventTest, AnEnvelopeThatIsNotAnObjectIsRefused) {
  EXPECT_EQ(ParseError(R"([{"eventType":"a","eventId":"b"}])"), "expected a JSON object");
  EXPECT_EQ(ParseError("\"booking.created\""), "expected a JSON object");
  EXPECT_EQ(ParseError("not json"), "expected a JSON object");
}

// ---- RequireField --------------------------------------------------------------------------

TEST(RequireFieldTest, APresentFieldIsItsText) {
  Event event = Parsed(Envelope("payment.failed", "evt-9",
                                R"({"reason":"card declined",)"
                                R"("amount":49.99})"));
  Result<std::string> reason = RequireField(event, "reason");
  ASSERT_TRUE(reason.ok()) << reason.status().ToString();
  EXPECT_EQ(*reason, "card declined");
  Result<std::string> amount = RequireField(event, "amount");
  ASSERT_TRUE(amount.ok()) << amount.status().ToString();
  EXPECT_EQ(*amount, "49.99");
}

TEST(RequireFieldTest, AMissingEmptyOrNullFieldIsRefusedNamingTheEventAndTheField) {
  Event event = Parsed(Envelope("payment.failed", "evt-9", R"({"reason":"","amount":null})"));
  for (const char* name : {"reason", "amount", "paymentId"}) {
    SCOPED_TRACE(name);
    Result<std::string> value = RequireField(event, name);
    ASSERT_FALSE(value.ok());
    EXPECT_TRUE(value.status().IsInvalidArgument());
    EXPECT_EQ(value.status().message(),
              std::string("event payment.failed evt-9: missing field data.") + name);
  }
}

// ---- ids -----------------------------------------------------------------------------------

TEST(KeyIdTest, OneTo256BytesWithoutNulAreValid) {
  EXPECT_TRUE(IsValidKeyId("u"));
  EXPECT_TRUE(IsValidKeyId(std::string(256, 'u')));
  EXPECT_TRUE(IsValidKeyId("user 1 / é \x01\xff"));
  EXPECT_FALSE(IsValidKeyId(""));
  EXPECT_FALSE(IsValidKeyId(std::string(257, 'u')));
  EXPECT_FALSE(IsValidKeyId("user\0001"s));
  EXPECT_FALSE(IsValidKeyId("\0"s));
}

TEST(KeyIdTest, ABadUserIdIsRefusedSayingWhatAUserIdIs) {
  EXPECT_TRUE(CheckUserId("user-1").ok());
  for (const std::string& user : {""s, std::string(257, 'u'), "a\0b"s}) {
    Status status = CheckUserId(user);
    EXPECT_TRUE(status.IsInvalidArgument());
    EXPECT_EQ(status.message(), "user id must be 1..256 bytes without NUL");
  }
}

// ---- SafeName ------------------------------------------------------------------------------

TEST(SafeNameTest, AnIdOfLettersDigitsDashesAndUnderscoresIsKept) {
  EXPECT_EQ(SafeName("evt-1_ABC_xyz-09"), "evt-1_ABC_xyz-09");
  EXPECT_EQ(SafeName(std::string(128, 'a')), std::string(128, 'a'));
}

TEST(SafeNameTest, OtherCharactersBecomeUnderscoresAndAHashOfTheIdIsAppended) {
  // FNV-1a (32 bits) of "evt/1" is 0x26c14972.
  EXPECT_EQ(SafeName("evt/1"), "evt_1-26c14972");
  const std::string name = SafeName("a.b@c d");
  EXPECT_EQ(name.substr(0, 8), "a_b_c_d-");
  EXPECT_EQ(name.size(), 7u + 9u);
}

TEST(SafeNameTest, EachByteOfAMultiByteCharacterIsReplaced) {
  const std::string name = SafeName("caf\xc3\xa9");
  EXPECT_EQ(name.substr(0, 6), "caf__-");
  EXPECT_EQ(name.size(), 5u + 9u);
}

TEST(SafeNameTest, AnEmptyIdGetsTheHashOfNothing) { EXPECT_EQ(SafeName(""), "-811c9dc5"); }

TEST(SafeNameTest, ALongIdIsCutTo128CharactersAndHashed) {
  const std::string id(300, 'a');
  const std::string name = SafeName(id);
  ASSERT_EQ(name.size(), 128u + 9u);
  EXPECT_EQ(name.substr(0, 129), std::string(128, 'a') + "-");
  EXPECT_NE(SafeName(std::string(301, 'a')), name);
}

TEST(SafeNameTest, NamesAreSafeForFilesAndMessageIds) {
  for (const std::string& id : {"../../etc/passwd"s, "a\0b"s, "evt\r\n1"s, "<evt>@x"s, "."s}) {
    const std::string name = SafeName(id);
    for (char c : name) {
      const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
      EXPECT_TRUE(safe) << "in " << name;
    }
  }
}

TEST(SafeNameTest, IdsThatDifferOnlyInReplacedCharactersGetDifferentNames) {
  std::set<std::string> names;
  for (const char* id : {"evt/1", "evt.1", "evt:1", "evt 1", "evt\\1", "evt_1"}) {
    names.insert(SafeName(id));
  }
  EXPECT_EQ(names.size(), 6u);
}

// An id that already reads like a changed id's name ("evt_1-" and the hash of "evt/1") took
// that name as it was, so two events wrote the same outbox file and Message-ID.
TEST(SafeNameTest, AnIdShapedLikeAHashedNameDoesNotTakeThatName) {
  const std::string lookalike = SafeName("evt/1");
  ASSERT_EQ(lookalike, "evt_1-26c14972");
  const std::string name = SafeName(lookalike);
  EXPECT_NE(name, lookalike);
  EXPECT_EQ(name.substr(0, lookalike.size() + 1), lookalike + "-");
  EXPECT_EQ(name.size(), lookalike.size() + 9u);
  EXPECT_NE(SafeName("-811c9dc5"), SafeName(""));
}

TEST(SafeNameTest, AnIdEndingInOtherThanEightLowerCaseHexDigitsIsStillKept) {
  for (const char* id : {"evt-1234567", "evt-123456789", "evt-DEADBEEF", "evt_deadbeef",
                         "123e4567-e89b-12d3-a456-426614174000"}) {
    EXPECT_EQ(SafeName(id), id);
  }
}

}  // namespace
}  // namespace herald::handlers
