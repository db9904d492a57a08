#include "handlers/handler_run.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::handlers {
namespace {

constexpr TemplateKind kEmail[] = {TemplateKind::kEmailSubject, TemplateKind::kEmailBody};
constexpr TemplateKind kPushOrInApp[] = {TemplateKind::kPushBody, TemplateKind::kInAppText};

const TemplateNeed kEmailNeed{.handler = "email handler",
                              .missing = "no email templates",
                              .kinds = kEmail,
                              .of = TemplateNeed::Of::kAll};

std::string Envelope(std::string_view type, std::string_view data) {
  return R"({"eventType":")" + std::string(type) +
         R"(","eventId":"evt-1","timestamp":"2026-01-01T10:00:00Z","data":)" + std::string(data) +
         "}";
}

TEST(HandlerRunTest, OpensAnEventWithItsUser) {
  auto run = OpenHandlerRun(
      Envelope("booking.created", R"({"bookingId":"b-1","userId":"u-1","userEmail":"a@b.c"})"),
      TemplateSet::BuiltIn(), kEmailNeed);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->event.type, "booking.created");
  EXPECT_EQ(run->event.id, "evt-1");
  EXPECT_EQ(run->user, "u-1");
  EXPECT_EQ(run->event.Field("bookingId"), "b-1");
}

TEST(HandlerRunTest, BadJsonIsRefusedWithTheParseError) {
  auto run = OpenHandlerRun("{not json", TemplateSet::BuiltIn(), kEmailNeed);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(run.status().message().find("invalid JSON"), std::string::npos)
      << run.status().message();
}

TEST(HandlerRunTest, TypeWithoutTheHandlersTemplatesNamesHandlerAndType) {
  // payment.failed has ticket templates but no email ones.
  auto run = OpenHandlerRun(Envelope("payment.failed", R"({"userId":"u-1"})"),
                            TemplateSet::BuiltIn(), kEmailNeed);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().message(),
            "email handler: unknown event type 'payment.failed' (no email templates)");
}

TEST(HandlerRunTest, AnyOfNeedsOnlyOneOfTheKinds) {
  const TemplateNeed need{.handler = "push handler",
                          .missing = "no push or in-app templates",
                          .kinds = kPushOrInApp,
                          .of = TemplateNeed::Of::kAny};
  // A type with an in-app text only.
  auto templates = TemplateSet::Create({{"room.ready", {{"inapp_text", "Room ready"}}}}, "");
  ASSERT_TRUE(templates.ok()) << templates.status().message();
  ASSERT_FALSE(templates->Has("room.ready", TemplateKind::kPushBody));
  auto run = OpenHandlerRun(Envelope("room.ready", R"({"userId":"u-1"})"), *templates, need);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->user, "u-1");

  auto none = OpenHandlerRun(Envelope("no.such.type", R"({"userId":"u-1"})"), *templates, need);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "push handler: unknown event type 'no.such.type' (no push or in-app templates)");
}

TEST(HandlerRunTest, MissingOrUnusableUserIsRefused) {
  auto missing = OpenHandlerRun(Envelope("booking.created", R"({"bookingId":"b-1"})"),
                                TemplateSet::BuiltIn(), kEmailNeed);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing field data.userId"), std::string::npos)
      << missing.status().message();

  auto too_long = OpenHandlerRun(
      Envelope("booking.created", R"({"userId":")" + std::string(300, 'u') + R"("})"),
      TemplateSet::BuiltIn(), kEmailNeed);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().message(), "invalid data.userId");
}

}  // namespace
}  // namespace herald::handlers
