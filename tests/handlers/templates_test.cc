#include "handlers/templates.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.h"

namespace herald::handlers {
namespace {

const std::vector<std::string> kBuiltInTypes = {"booking.created",   "booking.confirmed",
                                                "booking.cancelled", "booking.reminder",
                                                "payment.received",  "payment.failed"};

TEST(TemplateSetTest, EveryTemplateRendersForEveryEventTypeWithSampleData) {
  TemplateSet set = TemplateSet::BuiltIn();
  EXPECT_EQ(set.EventTypes(),
            (std::vector<std::string>{"booking.cancelled", "booking.confirmed", "booking.created",
                                      "booking.reminder", "payment.failed", "payment.received"}));
  for (const std::string& type : kBuiltInTypes) {
    const Event sample = TemplateSet::SampleEvent(type);
    int rendered = 0;
    int name_booking = 0;
    for (std::size_t k = 0; k < kTemplateKindCount; ++k) {
      const auto kind = static_cast<TemplateKind>(k);
      if (!set.Has(type, kind)) continue;
      auto text = set.Render(type, kind, sample);
      ASSERT_TRUE(text.ok()) << type << "." << TemplateKindName(kind) << ": "
                             << text.status().ToString();
      EXPECT_FALSE(text->empty()) << type << "." << TemplateKindName(kind);
      EXPECT_EQ(text->find("{{"), std::string::npos) << *text;
      if (text->find("BK-1001") != std::string::npos) ++name_booking;
      ++rendered;
    }
    EXPECT_GE(rendered, 2) << type;
    // The message says which booking it is about (titles may be generic).
    EXPECT_GE(name_booking, rendered - 1) << type;
  }
}

TEST(TemplateSetTest, EachEventTypeHasTheTemplatesOfItsHandler) {
  TemplateSet set = TemplateSet::BuiltIn();
  for (const char* type : {"booking.created", "booking.confirmed", "booking.cancelled"}) {
    EXPECT_TRUE(set.Has(type, TemplateKind::kEmailSubject)) << type;
    EXPECT_TRUE(set.Has(type, TemplateKind::kEmailBody)) << type;
  }
  for (const char* type : {"booking.reminder", "payment.received"}) {
    EXPECT_TRUE(set.Has(type, TemplateKind::kPushTitle)) << type;
    EXPECT_TRUE(set.Has(type, TemplateKind::kPushBody)) << type;
    EXPECT_TRUE(set.Has(type, TemplateKind::kInAppText)) << type;
  }
  EXPECT_TRUE(set.Has("payment.failed", TemplateKind::kTicketSubject));
  EXPECT_TRUE(set.Has("payment.failed", TemplateKind::kTicketBody));
  EXPECT_FALSE(set.Has("payment.failed", TemplateKind::kEmailSubject));
  EXPECT_FALSE(set.Has("user.registered", TemplateKind::kEmailSubject));
}

TEST(TemplateSetTest, BookingCreatedSubjectNamesTheBooking) {
  Event event = TemplateSet::SampleEvent("booking.created");
  event.data["bookingId"] = JsonField{JsonField::Kind::kString, "B-42"};
  auto subject =
      TemplateSet::BuiltIn().Render("booking.created", TemplateKind::kEmailSubject, event);
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(*subject, "Booking B-42 received");
}

TEST(TemplateSetTest, OptionalFieldsDisappearWhenAbsent) {
  Event event;
  event.type = "booking.reminder";
  event.id = "e1";
  event.data["bookingId"] = JsonField{JsonField::Kind::kString, "B-1"};
  event.data["userId"] = JsonField{JsonField::Kind::kString, "u"};
  auto body = TemplateSet::BuiltIn().Render("booking.reminder", TemplateKind::kPushBody, event);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "Your booking B-1 starts soon.");
}

TEST(TemplateSetTest, RenderDoesNotHtmlEscape) {
  TemplateOverrides overrides;
  overrides["booking.created"]["email_subject"] = "{{bookingId}} for {{eventId}}";
  auto set = TemplateSet::Create(overrides, "");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Event event = TemplateSet::SampleEvent("booking.created");
  event.data["bookingId"] = JsonField{JsonField::Kind::kString, "<A&B> \"x\""};
  auto subject = set->Render("booking.created", TemplateKind::kEmailSubject, event);
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(*subject, "<A&B> \"x\" for evt-sample-0001");
}

TEST(TemplateSetTest, NestedObjectsReadAsDottedNames) {
  TemplateOverrides overrides;
  overrides["booking.created"]["email_subject"] = "Plate {{vehicle.plate}}";
  auto set = TemplateSet::Create(overrides, "");
  ASSERT_TRUE(set.ok());
  Event event = TemplateSet::SampleEvent("booking.created");
  event.data["vehicle"] = JsonField{JsonField::Kind::kObject, R"({"plate":"AB-123"})"};
  EXPECT_EQ(*set->Render("booking.created", TemplateKind::kEmailSubject, event), "Plate AB-123");
}

TEST(TemplateSetTest, ConfigAddsTemplatesForNewEventTypes) {
  TemplateOverrides overrides;
  overrides["user.registered"]["email_subject"] = "Welcome {{userId}}";
  overrides["user.registered"]["email_body"] = "Hi";
  auto set = TemplateSet::Create(overrides, "");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->Has("user.registered", TemplateKind::kEmailSubject));
  Event event = TemplateSet::SampleEvent("user.registered");
  EXPECT_EQ(*set->Render("user.registered", TemplateKind::kEmailSubject, event), "Welcome user-42");
  // Built-ins stay.
  EXPECT_TRUE(set->Has("booking.created", TemplateKind::kEmailSubject));
}

TEST(TemplateSetTest, FilesInTemplatesDirOverrideBuiltInsAndConfigWinsOverFiles) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("booking.created"));
  std::ofstream(dir.Sub("booking.created/email_subject.mustache")) << "File {{bookingId}}";
  std::ofstream(dir.Sub("booking.created/email_body.mustache")) << "Body from file";
  std::ofstream(dir.Sub("booking.created/README.txt")) << "ignored";
  TemplateOverrides overrides;
  overrides["booking.created"]["email_body"] = "Body from config";
  auto set = TemplateSet::Create(overrides, dir.path());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Event event = TemplateSet::SampleEvent("booking.created");
  EXPECT_EQ(*set->Render("booking.created", TemplateKind::kEmailSubject, event), "File BK-1001");
  EXPECT_EQ(*set->Render("booking.created", TemplateKind::kEmailBody, event), "Body from config");
}

TEST(TemplateSetTest, MissingTemplatesDirIsNotFound) {
  auto set = TemplateSet::Create({}, "/nonexistent/herald/templates");
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(set.status().IsNotFound());
}

TEST(TemplateSetTest, SyntaxErrorIsRefusedAtCreateNamingTheTemplate) {
  TemplateOverrides overrides;
  overrides["booking.created"]["email_subject"] = "Booking {{#bookingId}} unclosed";
  auto set = TemplateSet::Create(overrides, "");
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(set.status().IsInvalidArgument());
  EXPECT_NE(set.status().message().find("booking.created.email_subject"), std::string::npos)
      << set.status().message();
}

TEST(TemplateSetTest, UnknownKindIsRefused) {
  TemplateOverrides overrides;
  overrides["booking.created"]["email_subjet"] = "typo";
  auto set = TemplateSet::Create(overrides, "");
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("email_subjet"), std::string::npos);
}

TEST(TemplateSetTest, RenderOfMissingTemplateIsNotFound) {
  auto text = TemplateSet::BuiltIn().Render("payment.failed", TemplateKind::kEmailSubject,
                                            TemplateSet::SampleEvent("payment.failed"));
  ASSERT_FALSE(text.ok());
  EXPECT_TRUE(text.status().IsNotFound());
  EXPECT_NE(text.status().message().find("payment.failed"), std::string::npos);
}

TEST(TemplateKindTest, NamesRoundTrip) {
  for (std::size_t k = 0; k < kTemplateKindCount; ++k) {
    const auto kind = static_cast<TemplateKind>(k);
    auto parsed = ParseTemplateKind(TemplateKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
}

}  // namespace
}  // namespace herald::handlers
