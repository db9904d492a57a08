#include "handlers/push_handler.h"

#include <gtest/gtest.h>

#include "handlers/delivery_log.h"
#include "handlers/flat_json.h"
#include "handlers/inbox.h"
#include "handlers/preferences.h"
#include "tests/handlers/handler_fixture.h"
#include "tests/support/http_server.h"

namespace herald::handlers {
namespace {

class PushHandlerTest : public HandlerFixture {
 protected:
  std::unique_ptr<PushHandler> WebhookHandler() {
    PushHandlerOptions options;
    options.webhook.url = http_.Url("/push");
    options.webhook.timeout_ms = 2000;
    return std::make_unique<PushHandler>(options, Deps());
  }
  std::string Reminder(const std::string& id, const std::string& user = "user-1") {
    return EventJson("booking.reminder", id,
                     {{"bookingId", "BK-7"}, {"userId", user}, {"startTime", "09:00"}});
  }
  std::vector<InboxEntry> InboxOf(const std::string& user) {
    auto entries = Inbox(records_.get()).Recent(user, 100);
    EXPECT_TRUE(entries.ok());
    return entries.ok() ? *entries : std::vector<InboxEntry>{};
  }

  testing::HttpServer http_;
};

TEST_F(PushHandlerTest, PostsTheJsonPayloadToTheWebhookAndKeepsAnInAppCopy) {
  auto outcome = WebhookHandler()->Run(Job(EventJson(
      "payment.received", "evt-1",
      {{"paymentId", "PAY-1"}, {"bookingId", "BK-7"}, {"userId", "user-1"}, {"amount", 50}})));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); push: sent (HTTP 200)");
  ASSERT_EQ(http_.requests().size(), 1u);
  const testing::RecordedRequest request = http_.requests()[0];
  EXPECT_EQ(request.target, "/push");
  EXPECT_EQ(request.headers.at("idempotency-key"), "evt-1");
  auto payload = ParseFlatObject(request.body);
  ASSERT_TRUE(payload.ok()) << request.body;
  EXPECT_EQ(FieldText(*payload, "channel"), "push");
  EXPECT_EQ(FieldText(*payload, "eventId"), "evt-1");
  EXPECT_EQ(FieldText(*payload, "eventType"), "payment.received");
  EXPECT_EQ(FieldText(*payload, "userId"), "user-1");
  EXPECT_EQ(FieldText(*payload, "title"), "Payment received");
  EXPECT_EQ(FieldText(*payload, "body"), "We received your payment of 50 for booking BK-7.");
  auto data = ParseFlatObject(FieldText(*payload, "data"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(data->at("amount").kind, JsonField::Kind::kNumber);

  auto inbox = InboxOf("user-1");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].title, "Payment received");
  EXPECT_EQ(inbox[0].text, "Payment PAY-1 of 50 received for booking BK-7.");
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_TRUE(*log.AlreadySent("evt-1", "push"));
  EXPECT_TRUE(*log.AlreadySent("evt-1", "inapp"));
}

TEST_F(PushHandlerTest, ServerErrorFailsTheAttemptAndTheRetryOnlyRePushes) {
  http_.QueueStatuses({500});
  auto handler = WebhookHandler();
  auto first = handler->Run(Job(Reminder("evt-2"), 1));
  EXPECT_OUTCOME(first, kFailure);
  EXPECT_NE(first.text.find("answered 500"), std::string::npos) << first.text;
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_EQ((**log.Find("evt-2", "push")).status, DeliveryStatus::kFailed);

  auto second = handler->Run(Job(Reminder("evt-2"), 2));
  EXPECT_OUTCOME(second, kSuccess);
  EXPECT_EQ(second.text, "inapp: duplicate; push: sent (HTTP 200)");
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(InboxOf("user-1").size(), 1u);
  auto record = **log.Find("evt-2", "push");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.attempts, 2u);
}

TEST_F(PushHandlerTest, WebhookTimeoutIsAFailedAttempt) {
  http_.StallNext();
  PushHandlerOptions options;
  options.webhook.url = http_.Url("/push");
  options.webhook.timeout_ms = 200;
  auto outcome = PushHandler(options, Deps()).Run(Job(Reminder("evt-3")));
  EXPECT_OUTCOME(outcome, kFailure);
  EXPECT_NE(outcome.text.find("timed out"), std::string::npos) << outcome.text;
}

TEST_F(PushHandlerTest, WithoutWebhookTheInboxIsTheDelivery) {
  auto outcome = PushHandler({}, Deps()).Run(Job(Reminder("evt-4")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox)");
  auto inbox = InboxOf("user-1");
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].event_id, "evt-4");
  EXPECT_EQ(inbox[0].title, "Upcoming booking BK-7");
  EXPECT_EQ(inbox[0].text, "Reminder: booking BK-7 starts at 09:00.");
  EXPECT_EQ(inbox[0].created_ms, clock_.NowMs());
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(PushHandlerTest, InboxIsNewestFirst) {
  PushHandler handler({}, Deps());
  for (int i = 1; i <= 3; ++i) {
    EXPECT_OUTCOME(handler.Run(Job(Reminder("evt-" + std::to_string(i)))), kSuccess);
    clock_.Advance(1000);
  }
  auto inbox = InboxOf("user-1");
  ASSERT_EQ(inbox.size(), 3u);
  EXPECT_EQ(inbox[0].event_id, "evt-3");
  EXPECT_EQ(inbox[2].event_id, "evt-1");
}

TEST_F(PushHandlerTest, ChannelsTurnedOffAreSkippedAndNothingIsSent) {
  Preferences prefs(records_.get());
  ASSERT_TRUE(prefs.Set("user-1", "push", false).ok());
  ASSERT_TRUE(prefs.Set("user-1", "inapp", false).ok());
  auto outcome = WebhookHandler()->Run(Job(Reminder("evt-5")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "skipped: user user-1 turned off inapp, push");
  EXPECT_TRUE(http_.requests().empty());
  EXPECT_TRUE(InboxOf("user-1").empty());
  DeliveryLog log(records_.get(), &clock_);
  EXPECT_EQ((**log.Find("evt-5", "push")).status, DeliveryStatus::kSkipped);
  EXPECT_EQ((**log.Find("evt-5", "push")).detail, "user user-1 turned off push");
  EXPECT_EQ((**log.Find("evt-5", "inapp")).status, DeliveryStatus::kSkipped);
}

TEST_F(PushHandlerTest, PushOffStillKeepsTheInAppNotification) {
  ASSERT_TRUE(Preferences(records_.get()).Set("user-1", "push", false).ok());
  auto outcome = WebhookHandler()->Run(Job(Reminder("evt-6")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); push: skipped");
  EXPECT_TRUE(http_.requests().empty());
  EXPECT_EQ(InboxOf("user-1").size(), 1u);
}

TEST_F(PushHandlerTest, SameEventTwiceIsDeliveredOnce) {
  auto handler = WebhookHandler();
  EXPECT_OUTCOME(handler->Run(Job(Reminder("evt-7"))), kSuccess);
  auto again = handler->Run(Job(Reminder("evt-7")));
  EXPECT_OUTCOME(again, kSuccess);
  EXPECT_EQ(again.text, "duplicate: already sent");
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(InboxOf("user-1").size(), 1u);
}

TEST_F(PushHandlerTest, EventTypeWithoutPushTemplatesIsPermanent) {
  auto outcome = PushHandler({}, Deps()).Run(Job(BookingEvent("booking.created", "evt-8")));
  EXPECT_OUTCOME(outcome, kPermanent);
  EXPECT_NE(outcome.text.find("unknown event type 'booking.created'"), std::string::npos);
  auto no_user = PushHandler({}, Deps())
                     .Run(Job(EventJson("booking.reminder", "evt-9", {{"bookingId", "B"}})));
  EXPECT_OUTCOME(no_user, kPermanent);
  EXPECT_NE(no_user.text.find("data.userId"), std::string::npos);
}

}  // namespace
}  // namespace herald::handlers
