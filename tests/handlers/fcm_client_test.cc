#include "handlers/fcm_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/handlers/fake_fcm.h"
#include "tests/support/fake_clock.h"

namespace herald::handlers {
namespace {

using std::chrono::milliseconds;
using testing::FakeFcm;

std::chrono::steady_clock::time_point In(milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

class FcmClientTest : public ::testing::Test {
 protected:
  FcmOptions Options() {
    FcmOptions options;
    auto account = ParseServiceAccount(fcm_.ServiceAccountJson());
    EXPECT_TRUE(account.ok()) << account.status().ToString();
    options.account = account.ok() ? *account : ServiceAccount{};
    options.send_url = fcm_.send_url();
    options.ca_file = fcm_.ca_file();
    options.clock = &clock_;
    return options;
  }

  std::unique_ptr<FcmClient> Client() {
    auto client = FcmClient::Create(Options());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  static FcmMessage Message() {
    return FcmMessage{"Booking reminder",
                      "Your booking BK-7 starts at 09:00.",
                      {{"eventId", "evt-1"}, {"bookingId", "BK-7"}}};
  }

  testing::FakeClock clock_{1'764'000'000'000};
  FakeFcm fcm_;
};

TEST_F(FcmClientTest, SignsTheAssertionAndSendsTheNotification) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->project_id(), "herald-demo");
  FcmResult result = client->Send("device-token-1", Message(), In(milliseconds(5000)));
  ASSERT_EQ(result.kind, FcmResult::Kind::kSent) << result.detail;
  EXPECT_EQ(result.status, 200u);
  EXPECT_EQ(result.detail, "projects/herald-demo/messages/1");
  EXPECT_TRUE(fcm_.problems().empty()) << fcm_.problems()[0];
  EXPECT_EQ(fcm_.token_requests(), 1);
  // The claims the token endpoint verified against the public half of the key.
  const boost::json::object claims = fcm_.last_claims();
  EXPECT_EQ(claims.at("iat").as_int64(), 1'764'000'000);
  EXPECT_EQ(claims.at("exp").as_int64(), 1'764'003'600);

  ASSERT_EQ(fcm_.messages().size(), 1u);
  const boost::json::object message = fcm_.messages()[0];
  EXPECT_EQ(message.at("token").as_string(), "device-token-1");
  EXPECT_EQ(message.at("notification").at("title").as_string(), "Booking reminder");
  EXPECT_EQ(message.at("notification").at("body").as_string(),
            "Your booking BK-7 starts at 09:00.");
  EXPECT_EQ(message.at("data").at("bookingId").as_string(), "BK-7");
  const auto requests = fcm_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].headers.at("authorization"), "Bearer ya29.fake-1");
  EXPECT_EQ(requests[1].headers.at("content-type"), "application/json");
}

TEST_F(FcmClientTest, TheAccessTokenIsReusedUntilAMinuteBeforeItExpires) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(client->Send("d" + std::to_string(i), Message(), In(milliseconds(5000))).kind,
              FcmResult::Kind::kSent);
  }
  EXPECT_EQ(fcm_.token_requests(), 1);
  clock_.Advance((3600 - 61) * 1000);
  ASSERT_EQ(client->Send("d", Message(), In(milliseconds(5000))).kind, FcmResult::Kind::kSent);
  EXPECT_EQ(fcm_.token_requests(), 1);
  clock_.Advance(1000);
  ASSERT_EQ(client->Send("d", Message(), In(milliseconds(5000))).kind, FcmResult::Kind::kSent);
  EXPECT_EQ(fcm_.token_requests(), 2);
  EXPECT_EQ(fcm_.requests().back().headers.at("authorization"), "Bearer ya29.fake-2");
}

TEST_F(FcmClientTest, ConcurrentSendersShareOneTokenRequest) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> sent{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      sent += client->Send("d" + std::to_string(t), Message(), In(milliseconds(5000))).kind ==
              FcmResult::Kind::kSent;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(sent.load(), 4);
  EXPECT_EQ(fcm_.token_requests(), 1);
}

TEST_F(FcmClientTest, AnswersAreClassifiedByFcmsErrorCodes) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  fcm_.Script("dead", FakeFcm::Unregistered());
  fcm_.Script("bad", {400,
                      {},
                      R"({"error":{"code":400,"message":"Invalid JSON payload received.",)"
                      R"("status":"INVALID_ARGUMENT"}})"});
  fcm_.Script("busy",
              {503, {{"Retry-After", "7"}}, R"({"error":{"code":503,"status":"UNAVAILABLE"}})"});
  fcm_.Script("quota", {429,
                        {},
                        R"({"error":{"code":429,"status":"RESOURCE_EXHAUSTED",)"
                        R"("details":[{"errorCode":"QUOTA_EXCEEDED"}]}})"});

  FcmResult dead = client->Send("dead", Message(), In(milliseconds(5000)));
  EXPECT_EQ(dead.kind, FcmResult::Kind::kUnregistered);
  EXPECT_EQ(dead.status, 404u);
  EXPECT_EQ(dead.detail,
            "fcm answered 404 NOT_FOUND (UNREGISTERED): Requested entity was not found.");
  FcmResult bad = client->Send("bad", Message(), In(milliseconds(5000)));
  EXPECT_EQ(bad.kind, FcmResult::Kind::kPermanent);
  EXPECT_NE(bad.detail.find("INVALID_ARGUMENT"), std::string::npos) << bad.detail;
  FcmResult busy = client->Send("busy", Message(), In(milliseconds(5000)));
  EXPECT_EQ(busy.kind, FcmResult::Kind::kTransient);
  EXPECT_EQ(busy.retry_after_ms, 7000);
  FcmResult quota = client->Send("quota", Message(), In(milliseconds(5000)));
  EXPECT_EQ(quota.kind, FcmResult::Kind::kTransient);
  EXPECT_NE(quota.detail.find("QUOTA_EXCEEDED"), std::string::npos) << quota.detail;
  EXPECT_EQ(fcm_.token_requests(), 1);
}

TEST_F(FcmClientTest, ARevokedAccessTokenIsDroppedAndTheRetryFetchesANewOne) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Send("d", Message(), In(milliseconds(5000))).kind, FcmResult::Kind::kSent);
  fcm_.RevokeAccessTokens();
  FcmResult refused = client->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(refused.kind, FcmResult::Kind::kTransient);
  EXPECT_EQ(refused.status, 401u);
  FcmResult again = client->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(again.kind, FcmResult::Kind::kSent) << again.detail;
  EXPECT_EQ(fcm_.token_requests(), 2);
}

TEST_F(FcmClientTest, TheTokenEndpointRefusingTheAccountIsPermanentItsOutageTransient) {
  auto client = Client();
  ASSERT_NE(client, nullptr);
  fcm_.RefuseTokenRequests(
      {400, {}, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"});
  FcmResult refused = client->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(refused.kind, FcmResult::Kind::kPermanent);
  EXPECT_EQ(refused.status, 400u);
  EXPECT_NE(refused.detail.find("invalid_grant: Invalid JWT Signature."), std::string::npos)
      << refused.detail;
  EXPECT_EQ(refused.detail.find("PRIVATE KEY"), std::string::npos);
  fcm_.RefuseTokenRequests({503, {{"Retry-After", "2"}}, "{}"});
  FcmResult outage = client->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(outage.kind, FcmResult::Kind::kTransient);
  EXPECT_EQ(outage.retry_after_ms, 2000);
  EXPECT_TRUE(fcm_.messages().empty());
  EXPECT_EQ(client->Send("d", Message(), In(milliseconds(5000))).kind, FcmResult::Kind::kSent);
}

TEST_F(FcmClientTest, AnAssertionSignedWithAnotherKeyIsRefused) {
  FcmOptions options = Options();
  options.account.private_key = testing::MakeRsaKeyPair().private_pem;
  auto client = FcmClient::Create(options);
  ASSERT_TRUE(client.ok());
  FcmResult result = (*client)->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(result.kind, FcmResult::Kind::kPermanent);
  EXPECT_NE(result.detail.find("Invalid JWT Signature."), std::string::npos) << result.detail;
}

TEST_F(FcmClientTest, AnUnverifiableEndpointIsTransient) {
  FcmOptions options = Options();
  options.ca_file.clear();  // the system's CA store does not know the test CA
  auto client = FcmClient::Create(options);
  ASSERT_TRUE(client.ok());
  FcmResult result = (*client)->Send("d", Message(), In(milliseconds(5000)));
  EXPECT_EQ(result.kind, FcmResult::Kind::kTransient);
  EXPECT_EQ(fcm_.token_requests(), 0);
}

TEST(ServiceAccountTest, ReadsTheKeyFileAndNamesWhatIsMissing) {
  auto account = ParseServiceAccount(
      R"({"type":"service_account","project_id":"p","private_key_id":"k","private_key":"PEM",)"
      R"("client_email":"a@p.iam.gserviceaccount.com"})");
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->project_id, "p");
  EXPECT_EQ(account->token_uri, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(ParseServiceAccount("{").status().message().rfind("service account JSON is invalid", 0),
            0u);
  EXPECT_EQ(ParseServiceAccount(R"({"private_key":"x"})").status().message(),
            "service account JSON has no client_email");
  EXPECT_EQ(ParseServiceAccount(R"({"client_email":"a@b"})").status().message(),
            "service account JSON has no private_key");
  EXPECT_EQ(ParseServiceAccount(R"({"type":"authorized_user"})").status().message(),
            "service account type is 'authorized_user', not 'service_account'");
}

TEST(ServiceAccountTest, ANonRsaKeyOrNoProjectIsRefusedAtCreate) {
  FcmOptions options;
  options.account.client_email = "a@p";
  options.account.project_id = "p";
  options.account.token_uri = "https://oauth2.googleapis.com/token";
  options.account.private_key = testing::MakeTestCertificates().server_key_pem;  // EC
  auto ec_key = FcmClient::Create(options);
  ASSERT_FALSE(ec_key.ok());
  EXPECT_EQ(ec_key.status().message(), "service account private_key is not a PEM RSA private key");
  options.account.private_key = testing::MakeRsaKeyPair().private_pem;
  options.account.project_id.clear();
  auto no_project = FcmClient::Create(options);
  ASSERT_FALSE(no_project.ok());
  EXPECT_NE(no_project.status().message().find("no FCM project"), std::string::npos);
  options.project_id = "other";
  auto client = FcmClient::Create(options);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->send_url(), "https://fcm.googleapis.com/v1/projects/other/messages:send");
}

}  // namespace
}  // namespace herald::handlers
