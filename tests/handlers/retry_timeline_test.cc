// The product brief's retry timeline end to end inside one process: the engine's broker and
// worker pool run the real handlers against real SMTP/HTTP peers on loopback; a fake clock
// drives the backoff so the test checks the exact waits (2 s, 4 s for emails; 1 s for
// notifications) without sleeping through them.
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <thread>

#include "engine/broker.h"
#include "handlers/delivery_log.h"
#include "handlers/registry.h"
#include "tests/handlers/handler_fixture.h"
#include "tests/support/http_server.h"
#include "tests/support/smtp_server.h"
#include "tests/support/test_certs.h"

namespace herald::handlers {
namespace {

using namespace std::chrono_literals;
using storage::JobState;

// The receiver's side of the signature check, written from the header's definition.
std::string HmacSha256Hex(const std::string& key, const std::string& message) {
  unsigned char digest[32];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &size);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

class RetryTimelineTest : public HandlerFixture {
 protected:
  void TearDown() override {
    if (broker_) broker_->Shutdown();
  }

  void Start(const HandlersConfig& config) {
    engine::EngineConfig engine_config;
    engine_config.scheduler_thread = false;  // the test moves time and calls Tick()
    engine_config.workers = 2;
    auto broker = engine::Broker::Create(store_.get(), engine_config, &clock_, logger_);
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    auto handlers = BuildHandlers(config, &broker_->records(), &clock_, logger_);
    ASSERT_TRUE(handlers.ok()) << handlers.status().ToString();
    for (auto& [queue, handler] : *handlers) {
      ASSERT_TRUE(broker_->RegisterHandler(queue, std::move(handler)).ok());
    }
    ASSERT_TRUE(broker_->Start().ok());
  }

  // Polls until the job is in `state` (workers run on their own threads).
  storage::Job WaitForState(const std::string& id, JobState state) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto job = broker_->Show(id);
      if (job.ok() && job->state == state) return *job;
      std::this_thread::sleep_for(2ms);
    }
    auto job = broker_->Show(id);
    ADD_FAILURE() << "job " << id << " never reached state " << storage::JobStateName(state)
                  << "; it is "
                  << (job.ok() ? std::string(storage::JobStateName(job->state)) : "missing");
    return job.ok() ? *job : storage::Job{};
  }

  // Moves the fake clock to just before the job's due time (still delayed), then to it.
  void WaitOutBackoff(const std::string& id, std::int64_t expected_delay_ms) {
    storage::Job job = WaitForState(id, JobState::kDelayed);
    EXPECT_EQ(job.due_ms - clock_.NowMs(), expected_delay_ms) << job.last_error;
    clock_.Advance(expected_delay_ms - 1);
    broker_->Tick();
    EXPECT_EQ(broker_->Show(id)->state, JobState::kDelayed);
    clock_.Advance(1);
    broker_->Tick();
  }

  // A booking.reminder (the notifications queue, the push handler) with id `id`.
  bool EmitReminder(const std::string& id) {
    return broker_
        ->Emit(EventJson("booking.reminder", id, {{"bookingId", "BK-7"}, {"userId", "user-1"}}))
        .ok();
  }

  std::unique_ptr<engine::Broker> broker_;
};

TEST_F(RetryTimelineTest, EmailFailsTwiceWith451ThenArrivesAfterTwoAndFourSeconds) {
  testing::SmtpServer smtp;
  smtp.FailNext(testing::SmtpStage::kMailFrom, "451 4.7.1 Try again later", 2);
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.smtp.host = "127.0.0.1";
  config.smtp.port = smtp.port();
  config.smtp.timeout = std::chrono::milliseconds(2000);
  Start(config);

  auto added = broker_->Emit(BookingEvent("booking.created", "evt-timeline", "user-1"));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->queue, "emails");
  WaitOutBackoff("evt-timeline", 2000);
  WaitOutBackoff("evt-timeline", 4000);
  storage::Job job = WaitForState("evt-timeline", JobState::kCompleted);
  EXPECT_EQ(job.attempts_made, 3u);
  EXPECT_EQ(job.return_value.rfind("sent: email to jane@example.com", 0), 0u) << job.return_value;

  ASSERT_TRUE(smtp.WaitForMails(1, 5s));
  EXPECT_EQ(smtp.mails().size(), 1u);
  EXPECT_NE(smtp.mails()[0].data.find("Subject: Booking BK-7 received"), std::string::npos);
  auto record = **DeliveryLog(records_.get(), &clock_).Find("evt-timeline", "email");
  EXPECT_EQ(record.status, DeliveryStatus::kSent);
  EXPECT_EQ(record.attempts, 3u);
}

TEST_F(RetryTimelineTest, EmailRefusedWith550FailsWithoutRetries) {
  testing::SmtpServer smtp;
  smtp.FailNext(testing::SmtpStage::kRcptTo, "550 5.1.1 Mailbox unavailable");
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.smtp.host = "127.0.0.1";
  config.smtp.port = smtp.port();
  Start(config);
  ASSERT_TRUE(broker_->Emit(BookingEvent("booking.created", "evt-550")).ok());
  storage::Job job = WaitForState("evt-550", JobState::kFailed);
  EXPECT_EQ(job.attempts_made, 1u);
  EXPECT_NE(job.last_error.find("550 5.1.1"), std::string::npos) << job.last_error;
}

TEST_F(RetryTimelineTest, PushWebhook500IsRetriedAfterOneSecond) {
  testing::HttpServer webhook;
  webhook.QueueStatuses({500});
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.push.url = webhook.Url("/push");
  Start(config);
  ASSERT_TRUE(EmitReminder("evt-push"));
  WaitOutBackoff("evt-push", 1000);
  storage::Job job = WaitForState("evt-push", JobState::kCompleted);
  EXPECT_EQ(job.attempts_made, 2u);
  EXPECT_EQ(webhook.requests().size(), 2u);
}

TEST_F(RetryTimelineTest, EmailThroughStartTlsAndAuthFromTheConfig) {
  const testing::TestCertificates certs = testing::MakeTestCertificates();
  testing::SmtpServerOptions options;
  options.tls = testing::SmtpServerTls::kStartTls;
  options.cert_pem = certs.server_cert_pem;
  options.key_pem = certs.server_key_pem;
  options.user = "AKIAEXAMPLE";
  options.password = "smtp-secret";
  testing::SmtpServer smtp(options);
  HandlersConfig config;
  config.data_dir = dir_.path();
  const std::string toml =
      "[handlers.smtp]\nhost = \"127.0.0.1\"\nport = " + std::to_string(smtp.port()) +
      "\ntls = \"starttls\"\nusername = \"AKIAEXAMPLE\"\n"
      "password_file = \"" +
      testing::WriteFile(dir_.Sub("smtp-password"), "smtp-secret\n") + "\"\nca_file = \"" +
      testing::WriteFile(dir_.Sub("ca.pem"), certs.ca_pem) + "\"\n";
  ASSERT_TRUE(LoadHandlersConfigText(toml, "herald.toml", &config).ok());
  Start(config);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        broker_->Emit(BookingEvent("booking.created", "evt-tls-" + std::to_string(i))).ok());
  }
  for (int i = 0; i < 5; ++i) WaitForState("evt-tls-" + std::to_string(i), JobState::kCompleted);
  ASSERT_TRUE(smtp.WaitForMails(5, 5s));
  for (const testing::ReceivedMail& mail : smtp.mails()) {
    EXPECT_TRUE(mail.tls);
    EXPECT_EQ(mail.auth_user, "AKIAEXAMPLE");
    EXPECT_EQ(mail.rcpt_to, std::vector<std::string>{"jane@example.com"});
  }
  // Two workers: at most two sessions for the five messages.
  EXPECT_LE(smtp.connections(), 2);
}

TEST_F(RetryTimelineTest, HttpsPushWebhookIsSignedAndA429RetryAfterSetsTheNextAttempt) {
  const testing::TestCertificates certs = testing::MakeTestCertificates();
  testing::HttpServerOptions options;
  options.cert_pem = certs.server_cert_pem;
  options.key_pem = certs.server_key_pem;
  testing::HttpServer webhook(options);
  webhook.QueueResponses({{429, {{"Retry-After", "3"}}, R"({"error":"rate limited"})"}});
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.push.url = webhook.Url("/push");
  config.push.ca_file = testing::WriteFile(dir_.Sub("ca.pem"), certs.ca_pem);
  config.push.secret = "whsec_push";
  config.push.headers = {{"Authorization", "Bearer push-token"}};
  Start(config);
  ASSERT_TRUE(EmitReminder("evt-429"));
  // The notifications queue backs off 1 s; the provider asked for 3 s.
  WaitOutBackoff("evt-429", 3000);
  storage::Job job = WaitForState("evt-429", JobState::kCompleted);
  EXPECT_EQ(job.attempts_made, 2u);
  const std::vector<testing::RecordedRequest> requests = webhook.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const testing::RecordedRequest& request : requests) {
    EXPECT_EQ(request.headers.at("authorization"), "Bearer push-token");
    const std::string timestamp = request.headers.at("x-herald-timestamp");
    EXPECT_EQ(
        request.headers.at("x-herald-signature"),
        "t=" + timestamp + ",v1=" + HmacSha256Hex("whsec_push", timestamp + "." + request.body));
  }
  // The second attempt was signed 3 s later on the fake clock.
  EXPECT_EQ(std::stoll(requests[1].headers.at("x-herald-timestamp")) -
                std::stoll(requests[0].headers.at("x-herald-timestamp")),
            3);
}

// Peers that hang up: the SMTP server closes the connection when the client sends DATA, the
// push webhook reads the request and closes without an answer. Each is a failed attempt with
// the cause on the job, retried after the queue's backoff, and the retry is delivered once.
TEST_F(RetryTimelineTest, PeersThatHangUpCostAnAttemptAndTheRetryDelivers) {
  testing::SmtpServer smtp;
  smtp.CloseAt(testing::SmtpStage::kData);
  testing::HttpServer webhook;
  webhook.CloseNext();
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.smtp.host = "127.0.0.1";
  config.smtp.port = smtp.port();
  config.smtp.timeout = std::chrono::milliseconds(2000);
  config.push.url = webhook.Url("/push");
  config.push.timeout_ms = 2000;
  Start(config);
  ASSERT_TRUE(broker_->Emit(BookingEvent("booking.created", "evt-smtp-close")).ok());
  ASSERT_TRUE(EmitReminder("evt-push-close"));
  storage::Job email = WaitForState("evt-smtp-close", JobState::kDelayed);
  EXPECT_EQ(email.attempts_made, 1u);
  EXPECT_NE(email.last_error.find("waiting for the reply to DATA"), std::string::npos)
      << email.last_error;
  storage::Job push = WaitForState("evt-push-close", JobState::kDelayed);
  EXPECT_EQ(push.attempts_made, 1u);
  EXPECT_NE(push.last_error.find("Empty reply from server"), std::string::npos) << push.last_error;
  // Both failed at the same fake time: notifications wait 1 s, emails 2 s.
  WaitOutBackoff("evt-push-close", 1000);
  WaitOutBackoff("evt-smtp-close", 1000);
  EXPECT_EQ(WaitForState("evt-smtp-close", JobState::kCompleted).attempts_made, 2u);
  EXPECT_EQ(WaitForState("evt-push-close", JobState::kCompleted).attempts_made, 2u);
  ASSERT_TRUE(smtp.WaitForMails(1, 5s));
  EXPECT_EQ(smtp.mails().size(), 1u);
  EXPECT_EQ(smtp.connections(), 2);
  EXPECT_EQ(webhook.requests().size(), 2u);
  EXPECT_EQ(webhook.connections(), 2);
}

// A webhook that fails with a 10 MiB body: a failed attempt like any 500, and what the job
// keeps of it is bounded (the last error at most 64 KiB, the attempt's error 1 KiB).
TEST_F(RetryTimelineTest, AWebhookFailingWithA10MiBBodyKeepsABoundedError) {
  testing::HttpServer webhook;
  testing::ScriptedResponse huge;
  huge.status = 500;
  huge.body = "{\"error\":\"" + std::string(10 << 20, 'x') + "\"}";
  webhook.QueueResponses({huge});
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.push.url = webhook.Url("/push");
  Start(config);
  ASSERT_TRUE(EmitReminder("evt-huge"));
  storage::Job job = WaitForState("evt-huge", JobState::kDelayed);
  EXPECT_EQ(job.attempts_made, 1u);
  EXPECT_NE(job.last_error.find("500"), std::string::npos) << job.last_error.substr(0, 200);
  EXPECT_LE(job.last_error.size(), storage::kMaxLastErrorBytes);
  ASSERT_FALSE(job.history.empty());
  EXPECT_LE(job.history.back().error.size(), 1024u);
  WaitOutBackoff("evt-huge", 1000);
  EXPECT_EQ(WaitForState("evt-huge", JobState::kCompleted).attempts_made, 2u);
}

TEST_F(RetryTimelineTest, InjectedFaultsShowTheTimelineWithTheOutbox) {
  HandlersConfig config;
  config.data_dir = dir_.path();
  config.faults["emails"].fail_first = 3;
  Start(config);
  ASSERT_TRUE(broker_->Emit(BookingEvent("booking.confirmed", "evt-demo")).ok());
  WaitOutBackoff("evt-demo", 2000);
  WaitOutBackoff("evt-demo", 4000);
  WaitOutBackoff("evt-demo", 8000);
  storage::Job job = WaitForState("evt-demo", JobState::kCompleted);
  EXPECT_EQ(job.attempts_made, 4u);
  EXPECT_FALSE(testing::ReadFile(dir_.Sub("outbox/evt-demo.eml")).empty());
}

}  // namespace
}  // namespace herald::handlers
