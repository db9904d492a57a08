#include "handlers/push_handler.h"

#include <gtest/gtest.h>

#include "handlers/delivery_log.h"
#include "handlers/flat_json.h"
#include "handlers/inbox.h"
#include "handlers/preferences.h"
#include "tests/handlers/fake_fcm.h"
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
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); push: skipped (user user-1 turned off push)");
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

// Push through Firebase Cloud Messaging to the user's devices.
class FcmPushTest : public HandlerFixture {
 protected:
  std::unique_ptr<PushHandler> Handler() {
    FcmConfig config;
    config.service_account = fcm_.ServiceAccountJson();
    config.send_url = fcm_.send_url();
    config.ca_file = fcm_.ca_file();
    auto client = FcmClientOf(config, &clock_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::make_unique<PushHandler>(PushHandlerOptions{}, Deps(),
                                         client.ok() ? std::move(client).value() : nullptr);
  }
  void AddDevice(const std::string& user, const std::string& token) {
    ASSERT_TRUE(Devices(records_.get()).Add(user, token, "android", clock_.NowMs()).ok());
  }
  std::vector<std::string> TokensOf(const std::string& user) {
    auto devices = Devices(records_.get()).List(user);
    EXPECT_TRUE(devices.ok()) << devices.status().ToString();
    std::vector<std::string> tokens;
    if (!devices.ok()) return tokens;
    for (const Device& device : *devices) tokens.push_back(device.token);
    return tokens;
  }
  std::string Reminder(const std::string& id, const std::string& user = "user-1") {
    return EventJson("booking.reminder", id,
                     {{"bookingId", "BK-7"}, {"userId", user}, {"startTime", "09:00"}});
  }

  testing::FakeFcm fcm_;
};

TEST_F(FcmPushTest, SendsTheRenderedNotificationToEveryDeviceOfTheUser) {
  AddDevice("user-1", "phone-token");
  AddDevice("user-1", "tablet-token");
  AddDevice("user-2", "other-token");
  auto outcome = Handler()->Run(Job(Reminder("evt-1")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); fcm: sent (2 devices)");
  EXPECT_TRUE(fcm_.problems().empty());
  const auto messages = fcm_.messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("token").as_string(), "phone-token");
  EXPECT_EQ(messages[1].at("token").as_string(), "tablet-token");
  EXPECT_EQ(messages[0].at("notification").at("title").as_string(), "Upcoming booking BK-7");
  EXPECT_EQ(messages[0].at("notification").at("body").as_string(),
            "Your booking BK-7 starts at 09:00.");
  const auto& data = messages[0].at("data").as_object();
  EXPECT_EQ(data.at("eventId").as_string(), "evt-1");
  EXPECT_EQ(data.at("eventType").as_string(), "booking.reminder");
  EXPECT_EQ(data.at("userId").as_string(), "user-1");
  EXPECT_EQ(data.at("startTime").as_string(), "09:00");
  DeliveryLog log(records_.get(), &clock_);
  auto record = **log.Find("evt-1", "fcm");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.detail, "2 devices");
}

TEST_F(FcmPushTest, AnUnregisteredTokenIsRemovedAndTheOthersStillGetThePush) {
  AddDevice("user-1", "dead-token");
  AddDevice("user-1", "live-token");
  fcm_.Script("dead-token", testing::FakeFcm::Unregistered());
  auto outcome = Handler()->Run(Job(Reminder("evt-2")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); fcm: sent (1 device, removed 1 dead)");
  EXPECT_EQ(TokensOf("user-1"), std::vector<std::string>{"live-token"});
}

TEST_F(FcmPushTest, WhenEveryTokenIsDeadTheJobCompletesAsSkippedWithTheReason) {
  AddDevice("user-1", "dead-token");
  fcm_.Script("dead-token", testing::FakeFcm::Unregistered());
  ASSERT_TRUE(Preferences(records_.get()).Set("user-1", "inapp", false).ok());
  auto outcome = Handler()->Run(Job(Reminder("evt-3")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text,
            "skipped: user user-1 turned off inapp; fcm: device tokens unregistered: removed 1");
  EXPECT_TRUE(TokensOf("user-1").empty());
  auto record = **DeliveryLog(records_.get(), &clock_).Find("evt-3", "fcm");
  EXPECT_EQ(record.status, DeliveryStatus::kSkipped);
  EXPECT_EQ(record.detail, "device tokens unregistered: removed 1");
}

TEST_F(FcmPushTest, AUserWithoutDevicesIsSkipped) {
  auto outcome = Handler()->Run(Job(Reminder("evt-4")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); fcm: skipped (user user-1 has no device tokens)");
  EXPECT_EQ(fcm_.token_requests(), 0);
}

TEST_F(FcmPushTest, PushTurnedOffSkipsFcmToo) {
  AddDevice("user-1", "phone-token");
  ASSERT_TRUE(Preferences(records_.get()).Set("user-1", "push", false).ok());
  auto outcome = Handler()->Run(Job(Reminder("evt-5")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, "inapp: sent (inbox); fcm: skipped (user user-1 turned off push)");
  EXPECT_TRUE(fcm_.messages().empty());
}

TEST_F(FcmPushTest, AnOutageFailsTheAttemptAndTheRetrySendsOnlyToTheDevicesThatMissedIt) {
  AddDevice("user-1", "a-token");
  AddDevice("user-1", "b-token");
  fcm_.Script("b-token", {503, {{"Retry-After", "4"}}, R"({"error":{"status":"UNAVAILABLE"}})"});
  auto handler = Handler();
  auto first = handler->Run(Job(Reminder("evt-6"), 1));
  EXPECT_OUTCOME(first, kFailure);
  EXPECT_EQ(first.retry_in_ms, 4000);
  EXPECT_NE(first.text.find("503 UNAVAILABLE"), std::string::npos) << first.text;
  EXPECT_EQ((**DeliveryLog(records_.get(), &clock_).Find("evt-6", "fcm")).status,
            DeliveryStatus::kFailed);

  auto second = handler->Run(Job(Reminder("evt-6"), 2));
  EXPECT_OUTCOME(second, kSuccess);
  EXPECT_EQ(second.text, "inapp: duplicate; fcm: sent (2 devices)");
  EXPECT_EQ(fcm_.devices_sent_to(), (std::vector<std::string>{"a-token", "b-token", "b-token"}));
  auto third = handler->Run(Job(Reminder("evt-6"), 3));
  EXPECT_EQ(third.text, "duplicate: already sent");
  EXPECT_EQ(fcm_.devices_sent_to().size(), 3u);
}

TEST_F(FcmPushTest, ARefusedMessageIsPermanent) {
  AddDevice("user-1", "a-token");
  fcm_.Script("a-token", {400, {}, R"({"error":{"status":"INVALID_ARGUMENT","message":"bad"}})"});
  auto outcome = Handler()->Run(Job(Reminder("evt-7")));
  EXPECT_OUTCOME(outcome, kPermanent);
  EXPECT_NE(outcome.text.find("400 INVALID_ARGUMENT: bad"), std::string::npos) << outcome.text;
  EXPECT_EQ(TokensOf("user-1"), std::vector<std::string>{"a-token"});
}

}  // namespace
}  // namespace herald::handlers
