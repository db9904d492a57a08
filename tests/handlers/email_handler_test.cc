#include "handlers/email_handler.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "handlers/delivery_log.h"
#include "handlers/preferences.h"
#include "handlers/queries.h"
#include "tests/handlers/handler_fixture.h"
#include "tests/support/smtp_server.h"

namespace herald::handlers {
namespace {

using testing::SmtpStage;

class EmailHandlerTest : public HandlerFixture {
 protected:
  std::unique_ptr<EmailHandler> SmtpHandler() {
    EmailHandlerOptions options;
    options.smtp.host = "127.0.0.1";
    options.smtp.port = smtp_.port();
    options.smtp.from = "Herald <noreply@herald.test>";
    options.smtp.timeout = std::chrono::milliseconds(2000);
    return std::make_unique<EmailHandler>(options, Deps());
  }
  std::unique_ptr<EmailHandler> OutboxHandler() {
    EmailHandlerOptions options;
    options.outbox_dir = dir_.Sub("outbox");
    return std::make_unique<EmailHandler>(options, Deps());
  }

  testing::SmtpServer smtp_;
};

TEST_F(EmailHandlerTest, SendsTheRenderedMessageToTheUserEmail) {
  auto handler = SmtpHandler();
  const std::string event = BookingEvent("booking.created", "evt-1", "user-1", "jane@example.com");
  auto outcome = handler->Run(Job(event));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_NE(outcome.text.find("sent: email to jane@example.com"), std::string::npos)
      << outcome.text;
  ASSERT_EQ(smtp_.mails().size(), 1u);
  const testing::ReceivedMail mail = smtp_.mails()[0];
  EXPECT_EQ(mail.mail_from, "noreply@herald.test");
  EXPECT_EQ(mail.rcpt_to, std::vector<std::string>{"jane@example.com"});
  EXPECT_NE(mail.data.find("\r\nSubject: Booking BK-7 received\r\n"), std::string::npos)
      << mail.data;
  EXPECT_NE(mail.data.find("\r\nTo: jane@example.com\r\n"), std::string::npos);
  EXPECT_NE(mail.data.find("\r\nFrom: Herald <noreply@herald.test>\r\n"), std::string::npos);
  EXPECT_NE(mail.data.find("\r\nMessage-ID: <evt-1.email@herald.test>\r\n"), std::string::npos)
      << mail.data;
  EXPECT_NE(mail.data.find("we received your booking BK-7"), std::string::npos) << mail.data;

  // The database has the notification.
  auto sent = NotificationQueries(records_.get()).Sent("user-1");
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->size(), 1u);
  EXPECT_EQ((*sent)[0].channel, "email");
  EXPECT_EQ((*sent)[0].event_id, "evt-1");
  EXPECT_EQ((*sent)[0].status, DeliveryStatus::kSent);
  EXPECT_EQ((*sent)[0].attempts, 1u);
}

// The retry timeline at handler level: the relay answers 451 twice, the third attempt gets
// through. (The broker turns the Failures into 2 s and 4 s backoff waits.)
TEST_F(EmailHandlerTest, TransientRefusalsFailAttemptsUntilTheRelayAccepts) {
  smtp_.FailNext(SmtpStage::kMailFrom, "451 4.7.1 Try again later", 2);
  auto handler = SmtpHandler();
  const std::string event = BookingEvent("booking.confirmed", "evt-2");
  auto first = handler->Run(Job(event, 1));
  EXPECT_OUTCOME(first, kFailure);
  EXPECT_NE(first.text.find("451 4.7.1 Try again later"), std::string::npos) << first.text;
  auto second = handler->Run(Job(event, 2));
  EXPECT_OUTCOME(second, kFailure);
  EXPECT_NE(second.text.find("451"), std::string::npos) << second.text;
  EXPECT_TRUE(smtp_.mails().empty());
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_EQ((*log.Find("evt-2", "email"))->status, DeliveryStatus::kFailed);
  EXPECT_EQ((*log.Find("evt-2", "email"))->attempts, 2u);

  auto third = handler->Run(Job(event, 3));
  EXPECT_OUTCOME(third, kSuccess);
  ASSERT_EQ(smtp_.mails().size(), 1u);
  EXPECT_NE(smtp_.mails()[0].data.find("Subject: Booking BK-7 confirmed"), std::string::npos);
  auto record = **log.Find("evt-2", "email");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.attempts, 3u);
}

TEST_F(EmailHandlerTest, PermanentRefusalFailsForGood) {
  smtp_.FailNext(SmtpStage::kRcptTo, "550 5.1.1 Mailbox unavailable");
  auto outcome = SmtpHandler()->Run(Job(BookingEvent("booking.cancelled", "evt-3")));
  EXPECT_OUTCOME(outcome, kPermanent);
  EXPECT_NE(outcome.text.find("550 5.1.1 Mailbox unavailable"), std::string::npos);
  EXPECT_TRUE(smtp_.mails().empty());
  EXPECT_EQ((**DeliveryLog(records_.get(), &clock_).Find("evt-3", "email")).status,
            DeliveryStatus::kFailed);
}

TEST_F(EmailHandlerTest, RelayTimeoutIsAFailedAttempt) {
  smtp_.StallNext(SmtpStage::kData);
  EmailHandlerOptions options;
  options.smtp.host = "127.0.0.1";
  options.smtp.port = smtp_.port();
  options.smtp.timeout = std::chrono::milliseconds(200);
  auto outcome = EmailHandler(options, Deps()).Run(Job(BookingEvent("booking.created", "e")));
  EXPECT_OUTCOME(outcome, kFailure);
  EXPECT_NE(outcome.text.find("timed out"), std::string::npos) << outcome.text;
}

TEST_F(EmailHandlerTest, UserWhoTurnedEmailOffIsSkippedAndNothingIsSent) {
  ASSERT_TRUE(Preferences(records_.get()).Set("user-1", "email", false).ok());
  auto outcome = SmtpHandler()->Run(Job(BookingEvent("booking.created", "evt-4", "user-1")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "skipped: user user-1 turned off email");
  EXPECT_EQ(smtp_.connections(), 0);
  auto record = **DeliveryLog(records_.get(), &clock_).Find("evt-4", "email");
  EXPECT_EQ(record.status, DeliveryStatus::kSkipped);
  EXPECT_EQ(record.detail, "user user-1 turned off email");
}

TEST_F(EmailHandlerTest, SameEventTwiceIsSentOnce) {
  auto handler = SmtpHandler();
  const std::string event = BookingEvent("booking.created", "evt-5");
  EXPECT_OUTCOME(handler->Run(Job(event)), kSuccess);
  auto again = handler->Run(Job(event));
  EXPECT_OUTCOME(again, kSuccess);
  EXPECT_EQ(again.text, "duplicate: already sent");
  EXPECT_EQ(smtp_.mails().size(), 1u);
  EXPECT_EQ(smtp_.connections(), 1);
}

TEST_F(EmailHandlerTest, WritesAnEmlFileToTheOutboxWithoutARelay) {
  auto outcome = OutboxHandler()->Run(
      Job(BookingEvent("booking.created", "evt-6", "user-1", "jane@example.com")));
  EXPECT_OUTCOME(outcome, kSuccess);
  const std::string path = dir_.Sub("outbox/evt-6.eml");
  ASSERT_TRUE(std::filesystem::exists(path)) << outcome.text;
  const std::string eml = testing::ReadFile(path);
  EXPECT_EQ(eml.rfind("Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n", 0), 0u) << eml;
  EXPECT_NE(eml.find("\r\nTo: jane@example.com\r\n"), std::string::npos);
  EXPECT_NE(eml.find("\r\nSubject: Booking BK-7 received\r\n"), std::string::npos);
  EXPECT_NE(eml.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(eml.find("\r\nContent-Type: text/plain; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(eml.find("\r\n\r\nHello,\r\n"), std::string::npos) << eml;
  // Only the message: no temporary files left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("outbox"))) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ((**DeliveryLog(records_.get(), &clock_).Find("evt-6", "email")).status,
            DeliveryStatus::kSent);
}

TEST_F(EmailHandlerTest, OutboxFileNamesAreSafeForAnyEventId) {
  auto outcome = OutboxHandler()->Run(Job(BookingEvent("booking.created", "../../etc/passwd")));
  EXPECT_OUTCOME(outcome, kSuccess);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.Sub("outbox"))) {
    EXPECT_EQ(entry.path().filename().string().find('/'), std::string::npos);
    EXPECT_EQ(entry.path().filename().string().rfind(".", 0), std::string::npos);
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(EmailHandlerTest, EventTypeWithoutEmailTemplatesIsPermanent) {
  auto outcome = OutboxHandler()->Run(Job(EventJson(
      "booking.reminder", "evt-7", {{"bookingId", "B"}, {"userId", "u"}, {"userEmail", "a@b.c"}})));
  EXPECT_OUTCOME(outcome, kPermanent);
  EXPECT_NE(outcome.text.find("unknown event type 'booking.reminder'"), std::string::npos)
      << outcome.text;
}

TEST_F(EmailHandlerTest, MissingOrInvalidRecipientIsPermanent) {
  auto handler = OutboxHandler();
  auto missing = handler->Run(
      Job(EventJson("booking.created", "evt-8", {{"bookingId", "B"}, {"userId", "u"}})));
  EXPECT_OUTCOME(missing, kPermanent);
  EXPECT_NE(missing.text.find("data.userEmail"), std::string::npos) << missing.text;
  auto invalid = handler->Run(Job(BookingEvent("booking.created", "evt-9", "u", "not-an-address")));
  EXPECT_OUTCOME(invalid, kPermanent);
  auto garbage = handler->Run(Job("{not json"));
  EXPECT_OUTCOME(garbage, kPermanent);
}

}  // namespace
}  // namespace herald::handlers
