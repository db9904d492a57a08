#include "handlers/http_client.h"

#include <gtest/gtest.h>

#include "handlers/handler_run.h"
#include "tests/support/fake_clock.h"
#include "tests/support/http_server.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"

namespace herald::handlers {
namespace {

using std::chrono::milliseconds;

std::chrono::steady_clock::time_point In(milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

TEST(HttpPosterTest, PostsJsonAndReturnsTheStatus) {
  testing::HttpServer server;
  HttpPoster poster;
  auto response = poster.Post(server.Url("/push?x=1"), R"({"a":1})", {{"Idempotency-Key", "evt-1"}},
                              In(milliseconds(5000)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200u);
  EXPECT_TRUE(response->ok());
  EXPECT_EQ(response->body, R"({"ok":true})");
  ASSERT_EQ(server.requests().size(), 1u);
  const testing::RecordedRequest request = server.requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/push?x=1");
  EXPECT_EQ(request.body, R"({"a":1})");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(request.headers.at("idempotency-key"), "evt-1");
  EXPECT_EQ(request.headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpPosterTest, NonSuccessStatusIsAResponseNotAnError) {
  testing::HttpServer server;
  server.QueueStatuses({500, 404});
  HttpPoster poster;
  auto first = poster.Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 500u);
  EXPECT_FALSE(first->ok());
  auto second = poster.Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  EXPECT_EQ(second->status, 404u);
  auto third = poster.Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  EXPECT_EQ(third->status, 200u);
}

TEST(HttpPosterTest, SilentServerTimesOut) {
  testing::HttpServer server;
  server.StallNext();
  const auto start = std::chrono::steady_clock::now();
  auto response = HttpPoster().Post(server.Url(), "{}", {}, In(milliseconds(300)));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsTimedOut()) << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST(HttpPosterTest, RefusedConnectionIsIOError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/";
  auto response = HttpPoster().Post(url, "{}", {}, In(milliseconds(5000)));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsIOError()) << response.status().ToString();
}

TEST(HttpPosterTest, HeaderValuesCannotSplitHeaders) {
  testing::HttpServer server;
  auto response = HttpPoster().Post(server.Url(), "{}", {{"Idempotency-Key", "a\r\nX-Evil: 1"}},
                                    In(milliseconds(5000)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const auto headers = server.requests()[0].headers;
  EXPECT_EQ(headers.count("x-evil"), 0u);
}

TEST(HttpPosterTest, SignsTheBodyWithTheSecretWhenOneIsSet) {
  testing::HttpServer server;
  testing::FakeClock clock(1709632800123);
  HttpPosterOptions options;
  options.signing_secret = "whsec_test";
  options.headers = {{"Authorization", "Bearer t0k"}};
  options.clock = &clock;
  HttpPoster poster(options);
  auto response = poster.Post(server.Url("/hook"), R"({"a":1})", {}, In(milliseconds(5000)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(server.requests().size(), 1u);
  const auto headers = server.requests()[0].headers;
  EXPECT_EQ(headers.at("authorization"), "Bearer t0k");
  EXPECT_EQ(headers.at("x-herald-timestamp"), "1709632800");
  // HMAC-SHA256("whsec_test", "1709632800.{\"a\":1}"), computed independently.
  EXPECT_EQ(headers.at("x-herald-signature"),
            "t=1709632800,v1=ad23f4a0c4164ff035d367e7de63c704c148f10da4f68bd84093e21a7655068a");
}

TEST(HttpPosterTest, UnsignedWithoutASecret) {
  testing::HttpServer server;
  auto response = HttpPoster().Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(server.requests()[0].headers.count("x-herald-signature"), 0u);
  EXPECT_EQ(response->retry_after_ms, -1);
}

TEST(HttpPosterTest, KeepsTheConnectionAliveBetweenRequests) {
  testing::HttpServer server;
  HttpPoster poster;
  for (int i = 0; i < 10; ++i) {
    auto response = poster.Post(server.Url("/push"), "{}", {}, In(milliseconds(5000)));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 200u);
  }
  EXPECT_EQ(server.requests().size(), 10u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpPosterTest, ReturnsTheBodyAndTheRetryAfterOfA429) {
  testing::HttpServer server;
  server.QueueResponses({{429, {{"Retry-After", "3"}}, R"({"error":"slow down"})"},
                         {503, {{"Retry-After", "Wed, 21 Oct 2099 07:28:00 GMT"}}, ""}});
  HttpPoster poster;
  auto limited = poster.Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_TRUE(limited.ok()) << limited.status().ToString();
  EXPECT_EQ(limited->status, 429u);
  EXPECT_EQ(limited->body, R"({"error":"slow down"})");
  EXPECT_EQ(limited->retry_after_ms, 3000);
  auto unavailable = poster.Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_TRUE(unavailable.ok());
  EXPECT_EQ(unavailable->status, 503u);
  // A far date is clamped to a day.
  EXPECT_EQ(unavailable->retry_after_ms, 24LL * 3600 * 1000);
}

class HttpsPosterTest : public ::testing::Test {
 protected:
  static testing::HttpServerOptions ServerOptions(const testing::TestCertificates& certs) {
    return testing::HttpServerOptions{certs.server_cert_pem, certs.server_key_pem};
  }

  testing::TempDir dir_;
  const testing::TestCertificates certs_ = testing::MakeTestCertificates();
  const std::string ca_file_ = testing::WriteFile(dir_.Sub("ca.pem"), certs_.ca_pem);
  testing::HttpServer server_{ServerOptions(certs_)};
};

TEST_F(HttpsPosterTest, PostsOverVerifiedTlsOnOneKeptConnection) {
  HttpPosterOptions options;
  options.ca_file = ca_file_;
  options.signing_secret = "whsec_tls";
  HttpPoster poster(options);
  ASSERT_EQ(server_.Url("/hook").rfind("https://127.0.0.1:", 0), 0u);
  for (int i = 0; i < 5; ++i) {
    auto response = poster.Post(server_.Url("/hook"), R"({"n":)" + std::to_string(i) + "}", {},
                                In(milliseconds(5000)));
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 200u);
  }
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[4].body, R"({"n":4})");
  EXPECT_EQ(requests[4].headers.count("x-herald-signature"), 1u);
  // One TLS handshake for the five requests.
  EXPECT_EQ(server_.connections(), 1);
}

TEST_F(HttpsPosterTest, AnUnverifiableCertificateIsAnIOErrorUnlessItsCaIsGiven) {
  const testing::TestCertificates other = testing::MakeTestCertificates("Other CA");
  HttpPosterOptions options;
  options.ca_file = testing::WriteFile(dir_.Sub("other.pem"), other.ca_pem);
  auto wrong_ca = HttpPoster(options).Post(server_.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_FALSE(wrong_ca.ok());
  EXPECT_TRUE(wrong_ca.status().IsIOError()) << wrong_ca.status().ToString();
  // The system's CA store does not know the test CA either.
  auto system_store = HttpPoster().Post(server_.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_FALSE(system_store.ok());
  EXPECT_TRUE(system_store.status().IsIOError()) << system_store.status().ToString();
  EXPECT_TRUE(server_.requests().empty());

  options.insecure = true;
  EXPECT_TRUE(HttpPoster(options).Post(server_.Url(), "{}", {}, In(milliseconds(5000))).ok());
  options.insecure = false;
  options.ca_file = ca_file_;
  EXPECT_TRUE(HttpPoster(options).Post(server_.Url(), "{}", {}, In(milliseconds(5000))).ok());
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST(ParseRetryAfterTest, ReadsSecondsAndHttpDates) {
  const std::int64_t now_ms = 1709632800000;  // Tue, 05 Mar 2024 10:00:00 GMT
  EXPECT_EQ(ParseRetryAfter("3", now_ms), 3000);
  EXPECT_EQ(ParseRetryAfter("0", now_ms), 0);
  EXPECT_EQ(ParseRetryAfter("Tue, 05 Mar 2024 10:00:05 GMT", now_ms), 5000);
  EXPECT_EQ(ParseRetryAfter("Tue, 05 Mar 2024 09:00:00 GMT", now_ms), 0);  // in the past
  EXPECT_EQ(ParseRetryAfter("99999999999", now_ms), 24LL * 3600 * 1000);
  EXPECT_EQ(ParseRetryAfter("-5", now_ms), -1);
  EXPECT_EQ(ParseRetryAfter("soon", now_ms), -1);
  EXPECT_EQ(ParseRetryAfter("", now_ms), -1);
}

TEST(WebhookFailureTest, RetryAfterOn429And503SetsTheNextAttempt) {
  HttpResponse busy;
  busy.status = 429;
  busy.retry_after_ms = 3000;
  engine::HandlerOutcome outcome = WebhookFailure("push: answered 429", busy);
  EXPECT_EQ(outcome.kind, engine::HandlerOutcome::Kind::kFailure);
  EXPECT_EQ(outcome.retry_in_ms, 3000);
  EXPECT_NE(outcome.text.find("Retry-After"), std::string::npos) << outcome.text;
  busy.status = 503;
  EXPECT_EQ(WebhookFailure("x", busy).retry_in_ms, 3000);
  busy.status = 500;  // Retry-After only counts where RFC 9110 gives it that meaning
  EXPECT_EQ(WebhookFailure("x", busy).retry_in_ms, -1);
  HttpResponse plain;
  plain.status = 429;
  EXPECT_EQ(WebhookFailure("x", plain).retry_in_ms, -1);
}

TEST(ParseHttpUrlTest, ReadsHostPortAndTarget) {
  auto target = ParseHttpUrl("http://example.com:8080/a/b?c=d");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->host, "example.com");
  EXPECT_EQ(target->port, "8080");
  EXPECT_EQ(target->host_header, "example.com:8080");
  EXPECT_EQ(target->target, "/a/b?c=d");
  auto bare = ParseHttpUrl("http://example.com");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, "80");
  EXPECT_EQ(bare->target, "/");
  auto v6 = ParseHttpUrl("http://[::1]:9000/hook");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9000");
}

TEST(ParseHttpUrlTest, TakesHttpsAndRefusesOtherSchemesAndGarbage) {
  auto https = ParseHttpUrl("https://example.com/hook");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->port, "443");
  auto ftp = ParseHttpUrl("ftp://example.com/");
  ASSERT_FALSE(ftp.ok());
  EXPECT_TRUE(ftp.status().IsInvalidArgument());
  EXPECT_NE(ftp.status().message().find("'ftp'"), std::string::npos);
  EXPECT_FALSE(ParseHttpUrl("not a url").ok());
  EXPECT_FALSE(ParseHttpUrl("http:///path").ok());
}

}  // namespace
}  // namespace herald::handlers
