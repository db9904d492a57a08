// The HTTP side's pure parts without a socket: the router, the JSON body parser, the mock
// events, the activity figures behind /metrics.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "net/http/api_json.h"
#include "net/http/job_filter.h"
#include "net/http/json_body.h"
#include "net/http/mock_events.h"
#include "net/http/queue_activity.h"
#include "net/http/router.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;

HttpRequest RequestFor(std::vector<std::string> segments) {
  HttpRequest request;
  request.segments = std::move(segments);
  return request;
}

Route Named(std::string method, std::string pattern, std::string answer) {
  return {std::move(method), std::move(pattern), kReadOnly, [answer](HttpRequest&) {
            HttpResponse response;
            response.body = answer;
            return response;
          }};
}

TEST(RouterTest, CapturesSegmentsAndPrefersLiterals) {
  Router router;
  router.Add(Named("GET", "/api/jobs/{id}", "show"));
  router.Add(Named("POST", "/api/jobs/{id}/retry", "retry"));
  router.Add(Named("GET", "/api/jobs/stats", "stats"));
  router.Freeze();
  HttpRequest show = RequestFor({"api", "jobs", "a/b"});
  Router::Match match = router.Find("GET", &show);
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->handler(show).body, "show");
  EXPECT_EQ(show.Param("id"), "a/b");
  HttpRequest stats = RequestFor({"api", "jobs", "stats"});
  EXPECT_EQ(router.Find("GET", &stats).route->handler(stats).body, "stats");
  HttpRequest retry = RequestFor({"api", "jobs", "x", "retry"});
  EXPECT_EQ(router.Find("POST", &retry).route->handler(retry).body, "retry");
}

TEST(RouterTest, UnknownPathIs404AndOtherMethodIs405) {
  Router router;
  router.Add(Named("GET", "/api/queues", "list"));
  router.Add(Named("POST", "/api/queues", "add"));
  router.Freeze();
  HttpRequest none = RequestFor({"api", "other"});
  EXPECT_EQ(router.Find("GET", &none).status, 404u);
  HttpRequest queues = RequestFor({"api", "queues"});
  Router::Match wrong = router.Find("DELETE", &queues);
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.allow, "GET, POST");
  HttpRequest empty_capture = RequestFor({"api", ""});
  EXPECT_EQ(router.Find("GET", &empty_capture).status, 404u);
}

TEST(RouterTest, LaterRowReplacesTheSameRoute) {
  Router router;
  router.Add(Named("GET", "/x", "first"));
  router.Add(Named("GET", "/x", "second"));
  HttpRequest request = RequestFor({"x"});
  EXPECT_EQ(router.Find("GET", &request).route->handler(request).body, "second");
}

TEST(JsonBodyTest, ParsesEveryKindOfValue) {
  auto value = ParseJsonBody(
      R"( {"a":[1,-2,3.5,true,false,null,"s\u00e9"],"b":{"c":18446744073709551615}} )");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(json::serialize(*value),
            R"({"a":[1,-2,3.5E0,true,false,null,"sé"],"b":{"c":18446744073709551615}})");
  EXPECT_EQ(ParseJsonBody("\"text\"")->as_string(), "text");
  EXPECT_EQ(ParseJsonBody("42")->as_double(), 42.0);
  EXPECT_TRUE(ParseJsonBody("null")->is_null());
}

TEST(JsonBodyTest, WritesNumbersAsPeopleDo) {
  auto value = ParseJsonBody(R"({"amount":18.5,"n":-3,"big":1e300,"s":"a\"b","l":[0.1,2]})");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(WriteJson(*value), R"({"amount":18.5,"n":-3,"big":1e+300,"s":"a\"b","l":[0.1,2]})");
}

TEST(JsonBodyTest, ErrorsGiveTheByteOffset) {
  EXPECT_EQ(ParseJsonBody(R"({"a": tru})").status().message(), "invalid JSON at byte 6");
  EXPECT_EQ(ParseJsonBody("{} x").status().message(), "invalid JSON at byte 3");
  EXPECT_EQ(ParseJsonBody("   ").status().message(), "empty body: a JSON value is expected");
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_NE(ParseJsonBody(deep).status().message().find("nested deeper than 64"),
            std::string::npos);
}

// Every proper prefix of a document is refused, whatever byte it stops at.
TEST(JsonBodyTest, EveryTruncationIsAnError) {
  const std::string document = R"({"eventType":"booking.created","data":{"n":[1,2,{"x":"y"}]}})";
  ASSERT_TRUE(ParseJsonBody(document).ok());
  for (std::size_t cut = 1; cut < document.size(); ++cut) {
    auto value = ParseJsonBody(document.substr(0, cut));
    EXPECT_FALSE(value.ok()) << "prefix of " << cut << " bytes was accepted";
    if (!value.ok()) {
      EXPECT_TRUE(value.status().IsInvalidArgument());
    }
  }
}

TEST(MockEventsTest, SixEndpointsWithTheirTypes) {
  EXPECT_EQ(MockEventNames().size(), 6u);
  EXPECT_EQ(MockEventType("booking-reminder"), "booking.reminder");
  EXPECT_EQ(MockEventType("payment-failed"), "payment.failed");
  EXPECT_EQ(MockEventType("booking.created"), std::nullopt);
}

TEST(MockEventsTest, DefaultsCarryEveryRequiredField) {
  const std::map<std::string, std::vector<std::string>> required = {
      {"booking-created", {"bookingId", "userId", "userEmail"}},
      {"booking-confirmed", {"bookingId", "userId", "userEmail"}},
      {"booking-cancelled", {"bookingId", "userId", "userEmail"}},
      {"booking-reminder", {"bookingId", "userId"}},
      {"payment-received", {"paymentId", "bookingId", "userId", "amount"}},
      {"payment-failed", {"paymentId", "bookingId", "userId", "amount", "reason"}}};
  for (const auto& [name, fields] : required) {
    auto event = MakeMockEvent(name, nullptr, "evt_1", 1700000000000);
    ASSERT_TRUE(event.ok()) << name;
    EXPECT_EQ(event->at("eventId"), "evt_1");
    EXPECT_EQ(event->at("timestamp"), "2023-11-14T22:13:20.000Z");
    for (const std::string& field : fields) {
      EXPECT_TRUE(event->at("data").as_object().contains(field)) << name << " " << field;
    }
  }
}

TEST(MockEventsTest, BodyOverridesDefaults) {
  json::value body = json::parse(
      R"({"eventId":"mine","userId":"u-2","data":{"amount":99,"extra":"x"},"timestamp":"t"})");
  auto event = MakeMockEvent("payment-received", body, "evt_1", 0);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->at("eventId"), "mine");
  EXPECT_EQ(event->at("eventType"), "payment.received");
  EXPECT_EQ(event->at("timestamp"), "t");
  EXPECT_EQ(event->at("data").at("userId"), "u-2");
  EXPECT_EQ(event->at("data").at("amount"), 99);
  EXPECT_EQ(event->at("data").at("extra"), "x");
  EXPECT_EQ(MakeMockEvent("payment-received", json::parse("[]"), "e", 0).status().message(),
            "the body must be a JSON object (or empty)");
  EXPECT_EQ(
      MakeMockEvent("payment-received", json::parse(R"({"eventId":3})"), "e", 0).status().message(),
      "eventId must be a string");
}

TEST(QueueActivityTest, CountsTotalsMinutesAndLatencies) {
  QueueActivity activity;
  auto event = [](engine::JobEventType type, std::int64_t at, std::int64_t created,
                  std::int64_t processed, std::uint32_t attempts) {
    engine::JobEvent e;
    e.type = type;
    e.queue = "emails";
    e.id = "j";
    e.at_ms = at;
    e.created_ms = created;
    e.processed_ms = processed;
    e.attempts_made = attempts;
    return e;
  };
  const std::int64_t t = 1700000000000;
  activity.Record(event(engine::JobEventType::kAdded, t, t, 0, 0));
  activity.Record(event(engine::JobEventType::kActive, t + 40, t, t + 40, 1));
  activity.Record(event(engine::JobEventType::kCompleted, t + 240, t, t + 40, 1));
  activity.Record(event(engine::JobEventType::kFailed, t + 300, t, t + 250, 2));
  auto totals = activity.Totals();
  ASSERT_EQ(totals.count("emails"), 1u);
  EXPECT_EQ(totals["emails"].added, 1u);
  EXPECT_EQ(totals["emails"].completed, 1u);
  EXPECT_EQ(totals["emails"].failed, 1u);
  EXPECT_EQ(totals["emails"].wait.count(), 1u);
  EXPECT_EQ(totals["emails"].wait.sum_ms(), 40);
  EXPECT_EQ(totals["emails"].processing.sum_ms(), 250);
  MinuteActivity minute = activity.LastMinute("emails", t + 1000);
  EXPECT_EQ(minute.completed, 1u);
  EXPECT_EQ(minute.failed, 1u);
  EXPECT_EQ(activity.LastMinute("emails", t + 10 * 60000).completed, 0u);
  EXPECT_EQ(activity.Minutes("emails", 0).size(), 1u);
}

TEST(QueueActivityTest, HistogramQuantilesFallInTheirBuckets) {
  LatencyHistogram histogram;
  for (int i = 0; i < 98; ++i) histogram.Add(3);
  histogram.Add(700);
  histogram.Add(700);
  EXPECT_GT(histogram.Quantile(0.5), 2.0);
  EXPECT_LE(histogram.Quantile(0.5), 5.0);
  EXPECT_GT(histogram.Quantile(0.995), 500.0);
  EXPECT_LE(histogram.Quantile(0.995), 1000.0);
  EXPECT_EQ(LatencyHistogram().Quantile(0.99), 0.0);
}

TEST(ApiJsonTest, EventTypeOfReadsCompactAndOtherEvents) {
  EXPECT_EQ(EventTypeOf(R"({"eventType":"booking.created","data":{}})"), "booking.created");
  EXPECT_EQ(EventTypeOf(R"({ "eventType" : "payment.failed" })"), "payment.failed");
  EXPECT_EQ(EventTypeOf(R"({"data":{},"eventType":"booking.reminder"})"), "booking.reminder");
  EXPECT_EQ(EventTypeOf(R"({"eventType":"a\"b"})"), "a\"b");
  EXPECT_EQ(EventTypeOf(R"({"eventType":3})"), "");
  EXPECT_EQ(EventTypeOf("plain text"), "");
  EXPECT_EQ(EventTypeOf(""), "");
}

TEST(ErrorFingerprintTest, VaryingPartsAreOnePattern) {
  EXPECT_EQ(ErrorPattern("connect 10.0.0.7:25 timed out after 3001 ms"),
            "connect # timed out after # ms");
  EXPECT_EQ(ErrorPattern("smtp 550: mailbox a.b@example.com unknown"),
            "smtp #: mailbox <email> unknown");
  EXPECT_EQ(ErrorPattern("job 5f2c9a1e-77b0-4c3e failed for user 'u-1' at step 3."),
            "job <id> failed for user '*' at step #.");
  EXPECT_EQ(ErrorPattern("booking bk_12de9ac2 not found"), "booking <id> not found");
  EXPECT_EQ(ErrorFingerprint("timeout after 31 ms"), ErrorFingerprint("timeout after 2 ms"));
  EXPECT_NE(ErrorFingerprint("timeout after 31 ms"), ErrorFingerprint("refused after 2 ms"));
  EXPECT_EQ(ErrorFingerprint("x").size(), 16u);
}

}  // namespace
}  // namespace herald::net::http
