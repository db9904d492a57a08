// The HTTP API over real HTTP on loopback: every endpoint with good and bad input, against a
// broker over a real store in a temp dir.
#include <boost/json.hpp>

#include <set>
#include <thread>

#include "net/http/api_json.h"
#include "tests/net/http_fixture.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;
using testing::HttpAnswer;

std::string Str(const json::value& value) {
  return value.is_string() ? std::string(value.get_string()) : json::serialize(value);
}

const char* kEvent =
    R"({"eventType":"booking.created","eventId":"ev-1","data":{"bookingId":"b1","userId":"u1","userEmail":"u1@example.com"}})";

class HttpApiTest : public HttpFixture {
 public:
  void AddFailed(const std::string& queue, const std::string& payload) { AddJob(queue, payload); }
};

TEST_F(HttpApiTest, HealthzAndReadyzAnswerOk) {
  HttpAnswer health = Get("/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.json().at("status"), "ok");
  HttpAnswer ready = Get("/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.json().at("status"), "ready");
}

TEST_F(HttpApiTest, QueuesListCountsPolicyAndOldestWaiting) {
  AddJob("emails", "a");
  AddJob("emails", "b");
  engine::JobOptions delayed;
  delayed.delay_ms = 60000;
  AddJob("emails", "c", delayed);
  HttpAnswer answer = Get("/api/queues");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  EXPECT_EQ(answer.headers["content-type"], "application/json");
  json::value body = answer.json();
  // The engine's own queues (emails, notifications, tickets) are there from the start.
  const json::object* found = nullptr;
  for (const json::value& queue : body.at("queues").as_array()) {
    if (queue.at("name") == "emails") found = &queue.as_object();
  }
  ASSERT_NE(found, nullptr) << answer.body;
  const json::object& emails = *found;
  EXPECT_EQ(emails.at("name"), "emails");
  EXPECT_EQ(emails.at("counts").at("waiting"), 2);
  EXPECT_EQ(emails.at("counts").at("delayed"), 1);
  EXPECT_EQ(emails.at("paused"), false);
  EXPECT_EQ(emails.at("policy").at("attempts"), 5);
  EXPECT_EQ(emails.at("policy").at("backoff").at("type"), "exponential");
  EXPECT_TRUE(emails.at("oldestWaitingAgeMs").is_int64());
  EXPECT_EQ(emails.at("lastMinute").at("completed"), 0);

  HttpAnswer one = Get("/api/queues/emails");
  EXPECT_EQ(one.status, 200u);
  EXPECT_EQ(one.json().at("counts").at("waiting"), 2);
}

TEST_F(HttpApiTest, UnknownQueueIs404NamingIt) {
  HttpAnswer answer = Get("/api/queues/nope/jobs");
  EXPECT_EQ(answer.status, 404u);
  EXPECT_EQ(answer.json().at("error").at("code"), "not_found");
  EXPECT_EQ(answer.error_message(), "no queue 'nope'");
  EXPECT_EQ(Post("/api/queues/nope/pause").status, 404u);
  EXPECT_EQ(Get("/api/queues/nope").status, 404u);
}

TEST_F(HttpApiTest, UnknownEndpointIs404AndWrongMethodIs405WithAllow) {
  HttpAnswer missing = Get("/api/nothing");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.error_message(), "no such endpoint: /api/nothing");
  HttpAnswer wrong = Send("PUT", "/api/queues");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.headers["allow"], "GET");
  EXPECT_EQ(wrong.json().at("error").at("code"), "method_not_allowed");
  HttpAnswer job = Send("PATCH", "/api/jobs/x");
  EXPECT_EQ(job.status, 405u);
  EXPECT_EQ(job.headers["allow"], "GET, DELETE");
}

TEST_F(HttpApiTest, HeadAnswersHeadersOnly) {
  HttpAnswer head = http_client_->Request("HEAD", "/api/queues");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-length"], std::to_string(Get("/api/queues").body.size()));
}

TEST_F(HttpApiTest, PagingThrough100kJobsHasNoDuplicateOrGap) {
  constexpr int kJobs = 100000;
  std::set<std::string> added;
  for (int batch = 0; batch < kJobs / 1000; ++batch) {
    std::vector<std::pair<std::string, engine::JobOptions>> jobs;
    for (int i = 0; i < 1000; ++i)
      jobs.emplace_back("{\"n\":" + std::to_string(batch * 1000 + i) + "}", engine::JobOptions{});
    auto done = broker_->AddMany("bulk", std::move(jobs));
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    for (const auto& job : *done) added.insert(job.id);
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    HttpAnswer page = Get("/api/queues/bulk/jobs?state=waiting&limit=1000&cursor=" + cursor);
    ASSERT_EQ(page.status, 200u) << page.body;
    json::value body = page.json();
    for (const json::value& job : body.at("jobs").as_array()) {
      EXPECT_TRUE(seen.insert(Str(job.at("id"))).second) << "duplicate " << job.at("id");
    }
    cursor = Str(body.at("cursor"));
    ++pages;
  } while (!cursor.empty() && pages < 200);
  EXPECT_EQ(pages, 100);
  EXPECT_EQ(seen, added);
}

TEST_F(HttpApiTest, ListFiltersByTextEventTypeAndTime) {
  AddJob("mixed", R"({"eventType":"booking.created","note":"alpha"})");
  AddJob("mixed", R"({"eventType":"payment.failed","note":"beta"})");
  AddJob("mixed", R"({"eventType":"booking.created","note":"gamma"})");
  AddJob("mixed", "plain text beta");

  auto ids = [&](const std::string& query) {
    HttpAnswer answer = Get("/api/queues/mixed/jobs?state=waiting&" + query);
    EXPECT_EQ(answer.status, 200u) << answer.body;
    std::vector<std::string> notes;
    json::value body = answer.json();
    for (const json::value& job : body.at("jobs").as_array()) {
      const json::value& data = job.at("data");
      notes.push_back(data.is_object() ? Str(data.at("note")) : Str(data));
    }
    return notes;
  };
  EXPECT_EQ(ids("type=booking.created"), (std::vector<std::string>{"alpha", "gamma"}));
  EXPECT_EQ(ids("q=beta"), (std::vector<std::string>{"beta", "plain text beta"}));
  EXPECT_EQ(ids("q=beta&type=payment.failed"), (std::vector<std::string>{"beta"}));
  EXPECT_EQ(ids("since=" + std::to_string(clock_.NowMs() + 3600000)).size(), 0u);
  EXPECT_EQ(ids("until=" + std::to_string(clock_.NowMs() + 3600000)).size(), 4u);
  // A filtered page of one goes on from where it stopped.
  HttpAnswer first = Get("/api/queues/mixed/jobs?state=waiting&type=booking.created&limit=1");
  std::string cursor = Str(first.json().at("cursor"));
  ASSERT_FALSE(cursor.empty());
  HttpAnswer second =
      Get("/api/queues/mixed/jobs?state=waiting&type=booking.created&limit=1&cursor=" + cursor);
  EXPECT_EQ(second.json().at("jobs").at(0).at("data").at("note"), "gamma");
}

TEST_F(HttpApiTest, ListRefusesBadParametersNamingThem) {
  AddJob("q1", "x");
  HttpAnswer state = Get("/api/queues/q1/jobs?state=sleeping");
  EXPECT_EQ(state.status, 400u);
  EXPECT_EQ(state.error_message(),
            "state must be one of waiting, active, delayed, completed, failed (not 'sleeping')");
  HttpAnswer limit = Get("/api/queues/q1/jobs?limit=0");
  EXPECT_EQ(limit.status, 400u);
  EXPECT_EQ(limit.error_message(), "limit must be an integer from 1 to 1000");
  HttpAnswer cursor = Get("/api/queues/q1/jobs?cursor=zz");
  EXPECT_EQ(cursor.status, 400u);
  EXPECT_EQ(Get("/api/queues/q1/jobs?since=-4").status, 400u);
}

TEST_F(HttpApiTest, ShowJobTruncatesLargePayloadsUnlessFull) {
  std::string big = "{\"blob\":\"" + std::string(100 << 10, 'x') + "\"}";
  std::string id = AddJob("big", big);
  HttpAnswer cut = Get("/api/jobs/" + id);
  ASSERT_EQ(cut.status, 200u);
  json::value job = cut.json();
  EXPECT_EQ(job.at("truncated"), true);
  EXPECT_EQ(job.at("payloadBytes"), static_cast<std::int64_t>(big.size()));
  EXPECT_EQ(job.at("data").as_string().size(), kPayloadShownBytes);
  HttpAnswer full = Get("/api/jobs/" + id + "?full=1");
  json::value whole = full.json();
  EXPECT_EQ(whole.at("truncated"), false);
  EXPECT_EQ(whole.at("data").at("blob").as_string().size(), 100u << 10);
  EXPECT_EQ(Get("/api/jobs/no-such-job").status, 404u);
  EXPECT_EQ(Get("/api/jobs/no-such-job").error_message(), "no job 'no-such-job'");
}

TEST_F(HttpApiTest, ShowJobSaysWhyItIsNotRunning) {
  std::string waiting = AddJob("held", "w");
  // Nobody takes this queue's jobs: no handler here, no GETJOB waiting.
  EXPECT_EQ(Get("/api/jobs/" + waiting).json().at("blockedBy").at("reason"), "no_worker");
  // Once a worker holds one of its jobs, the queue is served: the next job just waits its turn.
  engine::TakeRequest take;
  take.queues = {"held"};
  ASSERT_EQ(broker_->Take(take)->size(), 1u);
  std::string next = AddJob("held", "n");
  EXPECT_TRUE(Get("/api/jobs/" + next).json().at("blockedBy").is_null());
  waiting = next;
  ASSERT_EQ(Post("/api/queues/held/pause").status, 200u);
  json::value paused = Get("/api/jobs/" + waiting).json();
  EXPECT_EQ(paused.at("blockedBy").at("reason"), "paused");
  engine::JobOptions later;
  later.delay_ms = 60000;
  std::string delayed = AddJob("held", "d", later);
  json::value job = Get("/api/jobs/" + delayed).json();
  EXPECT_EQ(job.at("state"), "delayed");
  EXPECT_EQ(job.at("blockedBy").at("reason"), "delayed");
  EXPECT_EQ(job.at("blockedBy").at("until"), job.at("delayUntil"));
}

TEST_F(HttpApiTest, RetryPromoteAndDeleteJobs) {
  std::string id = AddJob("work", "payload");
  engine::TakeRequest take;
  take.queues = {"work"};
  auto taken = broker_->Take(take);
  ASSERT_TRUE(taken.ok() && taken->size() == 1);
  ASSERT_TRUE(broker_->Fail(id, "smtp said no", engine::FailMode::kPermanent).ok());
  EXPECT_EQ(Get("/api/jobs/" + id).json().at("failedReason"), "smtp said no");

  json::value failed = Get("/api/jobs/" + id).json();
  ASSERT_EQ(failed.at("history").as_array().size(), 1u) << failed;
  EXPECT_EQ(failed.at("history").at(0).at("outcome"), "failed");
  EXPECT_EQ(failed.at("history").at(0).at("error"), "smtp said no");
  EXPECT_TRUE(failed.at("history").at(0).at("endedAt").is_int64());
  HttpAnswer retried = Post("/api/jobs/" + id + "/retry");
  ASSERT_EQ(retried.status, 200u) << retried.body;
  EXPECT_EQ(retried.json().at("state"), "waiting");
  HttpAnswer again = Post("/api/jobs/" + id + "/retry");
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(Post("/api/jobs/nope/retry").status, 404u);

  engine::JobOptions later;
  later.delay_ms = 3600000;
  std::string delayed = AddJob("work", "later", later);
  HttpAnswer promoted = Post("/api/jobs/" + delayed + "/promote");
  ASSERT_EQ(promoted.status, 200u) << promoted.body;
  EXPECT_EQ(promoted.json().at("state"), "waiting");
  EXPECT_EQ(Post("/api/jobs/" + delayed + "/promote").status, 409u);

  HttpAnswer deleted = Send("DELETE", "/api/jobs/" + id);
  EXPECT_EQ(deleted.status, 200u);
  EXPECT_EQ(deleted.json().at("deleted"), true);
  EXPECT_EQ(Get("/api/jobs/" + id).status, 404u);
  EXPECT_EQ(Send("DELETE", "/api/jobs/" + id).status, 404u);
}

TEST_F(HttpApiTest, PauseResumeAndClean) {
  AddJob("q2", "a");
  HttpAnswer paused = Post("/api/queues/q2/pause");
  EXPECT_EQ(paused.status, 200u);
  EXPECT_EQ(paused.json().at("paused"), true);
  engine::TakeRequest take;
  take.queues = {"q2"};
  EXPECT_TRUE(broker_->Take(take)->empty());
  EXPECT_EQ(Get("/api/queues/q2").json().at("paused"), true);
  EXPECT_EQ(Post("/api/queues/q2/resume").json().at("paused"), false);
  EXPECT_EQ(broker_->Take(take)->size(), 1u);

  AddJob("q3", "x");
  AddJob("q3", "y");
  // Older than 0 ms: added before this millisecond.
  for (std::int64_t added = clock_.NowMs(); clock_.NowMs() == added;) std::this_thread::yield();
  HttpAnswer cleaned = Post("/api/queues/q3/clean", R"({"state":"waiting","older_than_ms":0})");
  ASSERT_EQ(cleaned.status, 200u) << cleaned.body;
  EXPECT_EQ(cleaned.json().at("removed"), 2);
  EXPECT_EQ(Post("/api/queues/q3/clean", "{}").error_message(), "state is required");
  EXPECT_EQ(Post("/api/queues/q3/clean", R"({"state":"active"})").status, 400u);
  EXPECT_EQ(
      Post("/api/queues/q3/clean", R"({"state":"failed","older_than_ms":"x"})").error_message(),
      "older_than_ms must be an integer from 0 to 9007199254740992");
}

TEST_F(HttpApiTest, AddJobAsAddjobDoes) {
  HttpAnswer added = Post("/api/queues/fresh/jobs",
                          R"({"data":{"to":"a@example.com"},"jobId":"j-1","attempts":3})");
  ASSERT_EQ(added.status, 201u) << added.body;
  EXPECT_EQ(added.json().at("id"), "j-1");
  EXPECT_EQ(added.json().at("state"), "waiting");
  auto job = broker_->Show("j-1");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->payload, R"({"to":"a@example.com"})");
  EXPECT_EQ(job->max_attempts, 3u);
  HttpAnswer same = Post("/api/queues/fresh/jobs", R"({"data":1,"jobId":"j-1"})");
  EXPECT_EQ(same.status, 200u);
  EXPECT_EQ(same.json().at("created"), false);
  // A job's name, as BullMQ's add(name, data) gives it, is kept and shown.
  HttpAnswer named =
      Post("/api/queues/fresh/jobs", R"({"data":{"a":1},"name":"booking-event","jobId":"j-2"})");
  ASSERT_EQ(named.status, 201u) << named.body;
  EXPECT_EQ(broker_->Show("j-2")->name, "booking-event");
  EXPECT_EQ(Get("/api/jobs/j-2").json().at("name"), "booking-event");
  EXPECT_EQ(Get("/api/jobs/j-2").json().at("eventType"), "");  // its data carries none
  ASSERT_EQ(Post("/api/queues/fresh/jobs",
                 R"({"data":{"eventType":"booking.created"},"name":"booking-event","jobId":"j-3"})")
                .status,
            201u);
  EXPECT_EQ(Get("/api/jobs/j-3").json().at("eventType"), "booking.created");
  EXPECT_EQ(Get("/api/jobs/j-3").json().at("name"), "booking-event");
  EXPECT_EQ(Post("/api/queues/fresh/jobs", R"({"data":1,"name":7})").status, 400u);

  HttpAnswer raw = Post("/api/queues/fresh/jobs", R"({"payload":"raw bytes","delay":5000})");
  EXPECT_EQ(raw.json().at("state"), "delayed");
  EXPECT_EQ(Post("/api/queues/fresh/jobs", R"({"data":1,"delay":-1})").error_message(),
            "delay must be an integer from 0 to 9007199254740992");
  EXPECT_EQ(Post("/api/queues/fresh/jobs", "{}").status, 400u);
  EXPECT_EQ(
      Post("/api/queues/fresh/jobs", R"({"data":1,"backoff":{"type":"linear"}})").error_message(),
      "backoff.type must be fixed or exponential");
  EXPECT_EQ(Post("/api/queues/bad%20name/jobs", R"({"data":1})").status, 400u);
}

TEST_F(HttpApiTest, PostEventsRoutesOneOrMany) {
  HttpAnswer one = Post("/events", kEvent);
  ASSERT_EQ(one.status, 202u) << one.body;
  EXPECT_EQ(one.json().at("ids").at(0), "ev-1");
  EXPECT_EQ(one.json().at("queued").at(0).at("queue"), "emails");
  EXPECT_EQ(broker_->Counts("emails")->waiting, 1u);

  HttpAnswer many = Post(
      "/events",
      R"([{"eventType":"booking.reminder","eventId":"ev-2","data":{"bookingId":"b","userId":"u"}},
          {"eventType":"payment.received","eventId":"ev-3","data":{"paymentId":"p","bookingId":"b","userId":"u","amount":5}}])");
  ASSERT_EQ(many.status, 202u) << many.body;
  EXPECT_EQ(many.json().at("ids").as_array().size(), 2u);
  EXPECT_EQ(broker_->Counts("notifications")->waiting, 2u);
}

TEST_F(HttpApiTest, PostEventsRefusesBadEventsNamingTheProblem) {
  HttpAnswer unknown =
      Post("/events", R"({"eventType":"booking.exploded","eventId":"x","data":{}})");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.error_message(), "unknown event type 'booking.exploded'");

  HttpAnswer bad = Post("/events", R"({"eventType": booking})");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.error_message().rfind("invalid JSON at byte ", 0), 0u) << bad.body;

  HttpAnswer missing =
      Post("/events", R"({"eventType":"booking.created","eventId":"y","data":{"bookingId":"b"}})");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_NE(missing.error_message().find("missing field data.userId"), std::string::npos)
      << missing.body;

  // A bad event in an array: its index, and nothing of the array queued.
  HttpAnswer array = Post("/events", std::string("[") + kEvent + R"(,{"eventType":"nope"}])");
  EXPECT_EQ(array.status, 400u);
  EXPECT_EQ(array.json().at("error").at("index"), 1);
  EXPECT_EQ(array.error_message(), "event 1: unknown event type 'nope'");
  EXPECT_FALSE(broker_->Show("ev-1").ok());
  EXPECT_EQ(Post("/events", "[]").status, 400u);
  EXPECT_EQ(Post("/events", "").error_message(), "empty body: a JSON value is expected");
}

TEST_F(HttpApiTest, MockEventsAreOffUnlessEnabled) {
  HttpAnswer off = Post("/mock-events/booking-created", "{}");
  EXPECT_EQ(off.status, 404u);
  EXPECT_NE(off.error_message().find("--mock-events"), std::string::npos);
  api_.mock_events = true;
  HttpAnswer on = Post("/mock-events/booking-created", "{}");
  ASSERT_EQ(on.status, 202u) << on.body;
  json::value body = on.json();
  EXPECT_EQ(body.at("message"), "Event queued");
  EXPECT_EQ(body.at("queue"), "emails");
  std::string id = Str(body.at("eventId"));
  auto job = broker_->Show(id);
  ASSERT_TRUE(job.ok());
  json::value payload = json::parse(job->payload);
  EXPECT_EQ(payload.at("eventType"), "booking.created");
  EXPECT_EQ(payload.at("data").at("userEmail"), "alex.martin@example.com");

  HttpAnswer overridden =
      Post("/mock-events/payment-failed", R"({"userId":"u-9","data":{"reason":"expired card"}})");
  ASSERT_EQ(overridden.status, 202u) << overridden.body;
  EXPECT_EQ(overridden.json().at("queue"), "tickets");
  json::value event = overridden.json().at("event");
  EXPECT_EQ(event.at("data").at("userId"), "u-9");
  EXPECT_EQ(event.at("data").at("reason"), "expired card");
  EXPECT_NE(Str(overridden.json().at("eventId")), id);

  EXPECT_EQ(Post("/mock-events/booking-exploded", "{}").status, 404u);
  EXPECT_EQ(Post("/mock-events/booking-created", "[1]").status, 400u);
  EXPECT_EQ(Post("/mock-events/booking-created", "{").status, 400u);
}

TEST_F(HttpApiTest, MetricsUseBullmqNamesAndCountCompletions) {
  std::string id = AddJob("m", "x");
  engine::TakeRequest take;
  take.queues = {"m"};
  ASSERT_EQ(broker_->Take(take)->size(), 1u);
  ASSERT_TRUE(broker_->Ack(id).ok());
  // Job events reach the activity on the bus's thread, a moment later.
  std::string text;
  for (int i = 0; i < 500; ++i) {
    text = Get("/metrics").body;
    if (text.find("bullmq_job_completed_total{queue=\"m\"} 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(text.find("bullmq_job_completed_total{queue=\"m\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE bullmq_job_count gauge\n"), std::string::npos);
  EXPECT_NE(text.find("bullmq_job_count{queue=\"m\",state=\"completed\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("bullmq_job_failed_total{queue=\"m\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("herald_job_wait_seconds_count{queue=\"m\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("herald_job_processing_seconds_bucket{queue=\"m\",le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sidekiq_queue_latency_seconds{queue=\"m\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(Get("/metrics").headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
}

// Fails `n` jobs of `queue`, job i with error_of(i).
void FailJobs(HttpApiTest* test, engine::Broker* broker, const std::string& queue, int n,
              const std::function<std::string(int)>& error_of, const std::string& type) {
  for (int i = 0; i < n; ++i) {
    test->AddFailed(queue, R"({"eventType":")" + type + R"(","n":)" + std::to_string(i) + "}");
  }
  engine::TakeRequest take;
  take.queues = {queue};
  take.count = static_cast<std::uint32_t>(n);
  auto taken = broker->Take(take);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(broker
                    ->Fail((*taken)[static_cast<std::size_t>(i)].job.id, error_of(i),
                           engine::FailMode::kPermanent)
                    .ok());
  }
}

TEST_F(HttpApiTest, FailuresAreGroupedByFingerprintAndEventType) {
  FailJobs(
      this, broker_.get(), "mail", 20,
      [](int i) {
        return "connect 10.0.0." + std::to_string(i) + ":25 timed out after " +
               std::to_string(3000 + i) + " ms";
      },
      "booking.created");
  FailJobs(
      this, broker_.get(), "mail", 10,
      [](int i) { return "mailbox user" + std::to_string(i) + "@example.com is full"; },
      "booking.confirmed");
  HttpAnswer answer = Get("/api/queues/mail/failures");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  json::value body = answer.json();
  EXPECT_EQ(body.at("failed"), 30);
  const json::array& groups = body.at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u) << answer.body;
  EXPECT_EQ(groups[0].at("count"), 20);
  EXPECT_EQ(groups[0].at("eventType"), "booking.created");
  EXPECT_EQ(groups[0].at("pattern"), "connect # timed out after # ms");
  EXPECT_EQ(groups[1].at("count"), 10);
  EXPECT_EQ(groups[1].at("pattern"), "mailbox <email> is full");
  EXPECT_EQ(Get("/api/queues/nope/failures").status, 404u);

  // A group is the filter of a bulk action.
  std::string fingerprint = Str(groups[1].at("fingerprint"));
  HttpAnswer dry = Post(
      "/api/queues/mail/bulk",
      R"({"action":"retry","dry_run":true,"filter":{"fingerprint":")" + fingerprint + R"("}})");
  ASSERT_EQ(dry.status, 200u) << dry.body;
  EXPECT_EQ(dry.json().at("matched"), 10);
}

TEST_F(HttpApiTest, BulkDryRunMatchesWhatTheActionThenDoes) {
  FailJobs(
      this, broker_.get(), "mail", 25,
      [](int i) {
        return i % 5 == 0 ? "relay refused" : "timed out after " + std::to_string(i) + " s";
      },
      "booking.created");
  const std::string filter = R"("filter":{"state":"failed","q":"timed out"})";
  HttpAnswer dry =
      Post("/api/queues/mail/bulk", R"({"action":"retry","dry_run":true,)" + filter + "}");
  ASSERT_EQ(dry.status, 200u) << dry.body;
  EXPECT_EQ(dry.json().at("matched"), 20);
  EXPECT_EQ(dry.json().at("done"), 0);
  EXPECT_EQ(broker_->Counts("mail")->failed, 25u);

  HttpAnswer done = Post("/api/queues/mail/bulk", R"({"action":"retry",)" + filter + "}");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(done.json().at("matched"), dry.json().at("matched"));
  EXPECT_EQ(done.json().at("done"), 20);
  EXPECT_EQ(broker_->Counts("mail")->failed, 5u);
  EXPECT_EQ(broker_->Counts("mail")->waiting, 20u);

  HttpAnswer deleted =
      Post("/api/queues/mail/bulk", R"({"action":"delete","filter":{"state":"failed"}})");
  EXPECT_EQ(deleted.json().at("done"), 5);
  EXPECT_EQ(broker_->Counts("mail")->failed, 0u);

  EXPECT_EQ(Post("/api/queues/mail/bulk", R"({"action":"delete"})").error_message(),
            "filter.state is required to delete");
  EXPECT_EQ(Post("/api/queues/mail/bulk", R"({"action":"explode"})").error_message(),
            "action must be retry, delete or promote (not 'explode')");
  EXPECT_EQ(Post("/api/queues/mail/bulk", R"({"action":"retry","filter":{"state":"waiting"}})")
                .error_message(),
            "only failed jobs can be retried");
  EXPECT_EQ(Post("/api/queues/nope/bulk", R"({"action":"retry"})").status, 404u);
}

TEST_F(HttpApiTest, BulkPromoteWalksEveryPage) {
  engine::JobOptions later;
  later.delay_ms = 3600000;
  std::vector<std::pair<std::string, engine::JobOptions>> jobs;
  for (int i = 0; i < 1200; ++i) jobs.emplace_back("{}", later);
  ASSERT_TRUE(broker_->AddMany("slow", std::move(jobs)).ok());
  HttpAnswer done = Post("/api/queues/slow/bulk", R"({"action":"promote"})");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(done.json().at("done"), 1200);
  EXPECT_EQ(broker_->Counts("slow")->waiting, 1200u);
  EXPECT_EQ(broker_->Counts("slow")->delayed, 0u);
}

}  // namespace
}  // namespace herald::net::http
