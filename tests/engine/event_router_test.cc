#include "engine/event_router.h"

#include <gtest/gtest.h>

namespace herald::engine {
namespace {

class EventRouterTest : public ::testing::Test {
 protected:
  EventRouter router_{DefaultEventContracts()};

  std::string ErrorOf(const std::string& json) {
    auto routed = router_.Route(json);
    EXPECT_FALSE(routed.ok()) << json;
    return routed.ok() ? "" : routed.status().message();
  }
};

TEST_F(EventRouterTest, RoutesEachBuiltInTypeToItsQueue) {
  struct Case {
    const char* type;
    const char* queue;
    const char* data;
  } cases[] = {
      {"booking.created", "emails", R"({"bookingId":"b1","userId":"u1","userEmail":"a@b.c"})"},
      {"booking.confirmed", "emails", R"({"bookingId":"b1","userId":"u1","userEmail":"a@b.c"})"},
      {"booking.cancelled", "emails", R"({"bookingId":"b1","userId":"u1","userEmail":"a@b.c"})"},
      {"booking.reminder", "notifications", R"({"bookingId":"b1","userId":"u1"})"},
      {"payment.received", "notifications",
       R"({"paymentId":"p1","bookingId":"b1","userId":"u1","amount":12.5})"},
      {"payment.failed", "tickets",
       R"({"paymentId":"p1","bookingId":"b1","userId":"u1","amount":12.5,"reason":"declined"})"},
  };
  for (const Case& c : cases) {
    std::string json = std::string(R"({"eventType":")") + c.type +
                       R"(","eventId":"evt-1","timestamp":"2026-01-01T00:00:00Z","data":)" +
                       c.data + "}";
    auto routed = router_.Route(json);
    ASSERT_TRUE(routed.ok()) << c.type << ": " << routed.status().ToString();
    EXPECT_EQ(routed->queue, c.queue);
    EXPECT_EQ(routed->event_type, c.type);
    EXPECT_EQ(routed->event_id, "evt-1");
  }
}

TEST_F(EventRouterTest, UnknownTypeIsNamed) {
  EXPECT_EQ(ErrorOf(R"({"eventType":"x","eventId":"e","data":{}})"), "unknown event type 'x'");
}

TEST_F(EventRouterTest, MissingDataFieldIsNamed) {
  EXPECT_EQ(ErrorOf(R"({"eventType":"booking.created","eventId":"e",)"
                    R"("data":{"bookingId":"b","userId":"u"}})"),
            "event booking.created: missing field data.userEmail");
}

TEST_F(EventRouterTest, NullDataFieldCountsAsMissing) {
  EXPECT_EQ(ErrorOf(R"({"eventType":"booking.reminder","eventId":"e",)"
                    R"("data":{"bookingId":null,"userId":"u"}})"),
            "event booking.reminder: missing field data.bookingId");
}

TEST_F(EventRouterTest, InvalidJsonGivesTheByteOffset) {
  std::string error = ErrorOf(R"({"eventType": "booking.created", oops})");
  EXPECT_EQ(error.rfind("invalid JSON at byte ", 0), 0u) << error;
  EXPECT_TRUE(router_.Route("").status().message().find("invalid JSON") != std::string::npos);
  EXPECT_TRUE(router_.Route("{").status().message().find("invalid JSON") != std::string::npos);
}

TEST_F(EventRouterTest, BrokenJsonInsideAnUnreadFieldIsRefused) {
  std::string error = ErrorOf(R"({"eventType":"booking.reminder","eventId":"e","extra":[1,2,tru],)"
                              R"("data":{"bookingId":"b","userId":"u"}})");
  EXPECT_EQ(error.rfind("invalid JSON", 0), 0u) << error;
}

TEST_F(EventRouterTest, TrailingContentIsRefused) {
  std::string error = ErrorOf(
      R"({"eventType":"booking.reminder","eventId":"e","data":{"bookingId":"b","userId":"u"}} x)");
  EXPECT_EQ(error.rfind("invalid JSON", 0), 0u) << error;
}

TEST_F(EventRouterTest, EnvelopeShapeErrorsAreNamed) {
  EXPECT_EQ(ErrorOf("[1,2]"), "event must be a JSON object");
  EXPECT_EQ(ErrorOf(R"({"eventId":"e","data":{}})"), "missing field eventType");
  EXPECT_EQ(ErrorOf(R"({"eventType":5,"eventId":"e","data":{}})"), "eventType must be a string");
  EXPECT_EQ(ErrorOf(R"({"eventType":"booking.reminder","data":{"bookingId":"b","userId":"u"}})"),
            "event booking.reminder: missing field eventId");
  EXPECT_EQ(ErrorOf(R"({"eventType":"booking.reminder","eventId":"e"})"),
            "event booking.reminder: missing field data");
  EXPECT_EQ(ErrorOf(R"({"eventType":"booking.reminder","eventId":"e","data":[]})"),
            "data must be a JSON object");
}

TEST_F(EventRouterTest, ConfigContractsExtendAndOverrideBuiltIns) {
  auto contracts = DefaultEventContracts();
  contracts.push_back({"user.signup", "emails", {"userEmail"}});
  contracts.push_back({"booking.reminder", "emails", {"bookingId"}});
  EventRouter router(contracts);
  auto signup =
      router.Route(R"({"eventType":"user.signup","eventId":"s1","data":{"userEmail":"x"}})");
  ASSERT_TRUE(signup.ok()) << signup.status().ToString();
  EXPECT_EQ(signup->queue, "emails");
  auto reminder =
      router.Route(R"({"eventType":"booking.reminder","eventId":"r1","data":{"bookingId":"b"}})");
  ASSERT_TRUE(reminder.ok()) << reminder.status().ToString();
  EXPECT_EQ(reminder->queue, "emails");
}

TEST_F(EventRouterTest, OversizedEventIsRefused) {
  std::string big = R"({"eventType":"booking.reminder","eventId":"e","data":{"bookingId":")" +
                    std::string(2 << 20, 'x') + R"(","userId":"u"}})";
  auto routed = router_.Route(big);
  ASSERT_FALSE(routed.ok());
  EXPECT_NE(routed.status().message().find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace herald::engine
