#include "handlers/http_client.h"

#include <gtest/gtest.h>

#include "tests/support/http_server.h"
#include "tests/support/process.h"

namespace herald::handlers {
namespace {

using std::chrono::milliseconds;

std::chrono::steady_clock::time_point In(milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

TEST(HttpPosterTest, PostsJsonAndReturnsTheStatus) {
  testing::HttpServer server;
  auto response = HttpPoster::Post(server.Url("/push?x=1"), R"({"a":1})",
                                   {{"Idempotency-Key", "evt-1"}}, In(milliseconds(5000)));
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
  auto first = HttpPoster::Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 500u);
  EXPECT_FALSE(first->ok());
  auto second = HttpPoster::Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  EXPECT_EQ(second->status, 404u);
  auto third = HttpPoster::Post(server.Url(), "{}", {}, In(milliseconds(5000)));
  EXPECT_EQ(third->status, 200u);
}

TEST(HttpPosterTest, SilentServerTimesOut) {
  testing::HttpServer server;
  server.StallNext();
  const auto start = std::chrono::steady_clock::now();
  auto response = HttpPoster::Post(server.Url(), "{}", {}, In(milliseconds(300)));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsTimedOut()) << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST(HttpPosterTest, RefusedConnectionIsIOError) {
  const std::string url = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/";
  auto response = HttpPoster::Post(url, "{}", {}, In(milliseconds(5000)));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsIOError()) << response.status().ToString();
}

TEST(HttpPosterTest, HeaderValuesCannotSplitHeaders) {
  testing::HttpServer server;
  auto response = HttpPoster::Post(server.Url(), "{}", {{"Idempotency-Key", "a\r\nX-Evil: 1"}},
                                   In(milliseconds(5000)));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const auto headers = server.requests()[0].headers;
  EXPECT_EQ(headers.count("x-evil"), 0u);
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

TEST(ParseHttpUrlTest, RefusesHttpsAndGarbage) {
  auto https = ParseHttpUrl("https://example.com/");
  ASSERT_FALSE(https.ok());
  EXPECT_TRUE(https.status().IsInvalidArgument());
  EXPECT_NE(https.status().message().find("https"), std::string::npos);
  EXPECT_FALSE(ParseHttpUrl("not a url").ok());
  EXPECT_FALSE(ParseHttpUrl("http:///path").ok());
}

}  // namespace
}  // namespace herald::handlers
