// The queue and job routes of the API (api_routes.h). They call the broker as the RESP job
// commands do; a queue that does not exist is 404 (the RESP commands answer empty instead).
#include <boost/json.hpp>

#include <algorithm>
#include <limits>

#include "net/http/api_json.h"
#include "net/http/api_routes.h"
#include "net/http/job_filter.h"
#include "net/http/json_body.h"
#include "net/http/request_fields.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;
using engine::Job;
using engine::JobState;

// Jobs looked at per list request, at most: a filter that matches rarely answers with what it
// found so far and a cursor to go on from, so that one request never walks 10^6 jobs.
constexpr std::uint64_t kScanBudget = 20000;
constexpr std::int64_t kMaxLimit = 1000;
constexpr std::int64_t kMaxTimeMs = std::int64_t{1} << 53;  // what a JSON number holds exactly

HttpResponse NoQueue(std::string_view queue) {
  return ErrorResponse(404, "not_found", "no queue '" + std::string(queue) + "'");
}

json::object CountsJson(const engine::QueueCounts& counts) {
  json::object out;
  out["waiting"] = counts.waiting;
  out["active"] = counts.active;
  out["delayed"] = counts.delayed;
  out["completed"] = counts.completed;
  out["failed"] = counts.failed;
  return out;
}

// One queue for GET /api/queues: counts, paused, policy, the last minute, the oldest waiting.
Result<json::object> QueueJson(ApiContext* api, const std::string& name) {
  engine::Broker& broker = api->state->broker();
  HERALD_ASSIGN_OR_RETURN(engine::QueueCounts counts, broker.Counts(name));
  HERALD_ASSIGN_OR_RETURN(engine::QueuePolicy policy, broker.Policy(name));
  std::int64_t now = api->state->NowMs();
  json::object out;
  out["name"] = name;
  out["counts"] = CountsJson(counts);
  out["paused"] = counts.paused;
  out["policy"] = PolicyJson(policy);
  MinuteActivity minute = api->activity->LastMinute(name, now);
  json::object last_minute;
  last_minute["added"] = minute.added;
  last_minute["completed"] = minute.completed;
  last_minute["failed"] = minute.failed;
  out["lastMinute"] = std::move(last_minute);
  out["oldestWaitingAgeMs"] = nullptr;
  if (counts.waiting > 0) {
    auto head = broker.List(name, JobState::kWaiting, "", 1);
    if (head.ok() && !head->jobs.empty()) {
      out["oldestWaitingAgeMs"] = std::max<std::int64_t>(0, now - head->jobs.front().created_ms);
    }
  }
  return out;
}

HttpResponse ListQueues(ApiContext* api) {
  json::array queues;
  for (const std::string& name : api->state->broker().Queues()) {
    auto queue = QueueJson(api, name);
    if (!queue.ok()) return StatusResponse(queue.status());
    queues.push_back(std::move(*queue));
  }
  json::object out;
  out["queues"] = std::move(queues);
  return JsonResponse(out);
}

HttpResponse ShowQueue(ApiContext* api, HttpRequest& request) {
  std::string name(request.Param("q"));
  if (!KnownQueue(api->state->broker(), name)) return NoQueue(name);
  auto queue = QueueJson(api, name);
  if (!queue.ok()) return StatusResponse(queue.status());
  return JsonResponse(*queue);
}

// GET /api/queues/{q}/jobs?state=&limit=&cursor=&q=&type=&since=&until=
HttpResponse ListJobs(ApiContext* api, HttpRequest& request) {
  engine::Broker& broker = api->state->broker();
  std::string queue(request.Param("q"));
  if (!KnownQueue(broker, queue)) return NoQueue(queue);
  auto state = StateNamed(request.Query("state").value_or("waiting"));
  if (!state.ok()) return StatusResponse(state.status());
  auto limit = IntQuery(request, "limit", 50, 1, kMaxLimit);
  if (!limit.ok()) return StatusResponse(limit.status());
  auto filter = FilterFromQuery(request);
  if (!filter.ok()) return StatusResponse(filter.status());
  std::string cursor(request.Query("cursor").value_or(""));

  json::array jobs;
  std::uint64_t scanned = 0;
  auto wanted = static_cast<std::uint64_t>(*limit);
  // Pages never larger than what is still wanted, so that a page's cursor is where the next
  // request goes on, without a job skipped or repeated.
  do {
    auto batch = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(wanted - jobs.size(), kScanBudget - scanned));
    if (!filter->empty()) batch = std::max<std::uint32_t>(batch, 1);
    auto page = broker.List(queue, *state, cursor, batch);
    if (!page.ok()) return StatusResponse(page.status());
    scanned += page->jobs.size();
    for (const Job& job : page->jobs) {
      if (filter->Matches(job)) jobs.push_back(JobJson(job, kPayloadListedBytes));
    }
    cursor = page->next_cursor;
  } while (!cursor.empty() && jobs.size() < wanted && scanned < kScanBudget);

  auto counts = broker.Counts(queue);
  if (!counts.ok()) return StatusResponse(counts.status());
  json::object out;
  out["queue"] = queue;
  out["state"] = engine::JobStateName(*state);
  out["jobs"] = std::move(jobs);
  out["cursor"] = cursor;  // "" = no more
  out["scanned"] = scanned;
  out["counts"] = CountsJson(*counts);
  return JsonResponse(out);
}

// POST /api/queues/{q}/jobs {data | payload, name, delay, attempts, backoff {type, delay},
// priority, jobId}: ADDJOB.
HttpResponse AddJob(ApiContext* api, HttpRequest& request) {
  auto body = BodyObject(request);
  if (!body.ok()) return StatusResponse(body.status());
  std::string payload;
  auto text = StringField(*body, "payload");
  if (!text.ok()) return StatusResponse(text.status());
  if (*text) {
    payload = std::move(**text);
  } else if (const json::value* data = body->if_contains("data")) {
    payload = WriteJson(*data);
  } else {
    return ErrorResponse(400, "bad_request",
                         "the body needs data (any JSON) or payload (a string)");
  }
  engine::JobOptions options;
  auto delay = IntField(*body, "delay", 0, kMaxTimeMs);
  auto attempts = IntField(*body, "attempts", 1, 1000000);
  auto priority = IntField(*body, "priority", 0, 1000000);
  auto id = StringField(*body, "jobId");
  auto name = StringField(*body, "name");
  for (const Status* status :
       {&delay.status(), &attempts.status(), &priority.status(), &id.status(), &name.status()}) {
    if (!status->ok()) return StatusResponse(*status);
  }
  if (*name) options.name = std::move(**name);
  options.delay_ms = delay->value_or(0);
  if (*attempts) options.attempts = static_cast<std::uint32_t>(**attempts);
  options.priority = static_cast<std::uint32_t>(priority->value_or(0));
  if (*id) options.id = std::move(**id);
  if (const json::value* backoff = body->if_contains("backoff"); backoff && !backoff->is_null()) {
    if (!backoff->is_object()) {
      return ErrorResponse(400, "bad_request", "backoff must be {type, delay}");
    }
    auto type = StringField(backoff->get_object(), "type");
    auto backoff_delay = IntField(backoff->get_object(), "delay", 0, kMaxTimeMs);
    if (!type.ok()) return StatusResponse(type.status());
    if (!backoff_delay.ok()) return StatusResponse(backoff_delay.status());
    if (*type) {
      auto parsed = engine::ParseBackoffType(**type);
      if (!parsed.ok()) {
        return ErrorResponse(400, "bad_request", "backoff.type must be fixed or exponential");
      }
      options.backoff_type = *parsed;
    }
    if (*backoff_delay) options.backoff_ms = **backoff_delay;
  }
  auto added = api->state->broker().Add(request.Param("q"), std::move(payload), options);
  if (!added.ok()) return StatusResponse(added.status());
  json::object out;
  out["id"] = added->id;
  out["queue"] = added->queue;
  out["created"] = added->created;
  out["state"] = engine::JobStateName(added->state);
  return JsonResponse(out, added->created ? 201 : 200);
}

HttpResponse PauseOrResume(ApiContext* api, HttpRequest& request, bool pause) {
  engine::Broker& broker = api->state->broker();
  std::string queue(request.Param("q"));
  if (!KnownQueue(broker, queue)) return NoQueue(queue);
  Status status = pause ? broker.Pause(queue) : broker.Resume(queue);
  if (!status.ok()) return StatusResponse(status);
  RecordAudit(api, request, pause ? "pause" : "resume", queue, 0);
  json::object out;
  out["queue"] = queue;
  out["paused"] = pause;
  return JsonResponse(out);
}

// POST /api/queues/{q}/clean {state, older_than_ms, limit}
HttpResponse CleanQueue(ApiContext* api, HttpRequest& request) {
  engine::Broker& broker = api->state->broker();
  std::string queue(request.Param("q"));
  if (!KnownQueue(broker, queue)) return NoQueue(queue);
  auto body = BodyObject(request);
  if (!body.ok()) return StatusResponse(body.status());
  auto state_name = StringField(*body, "state");
  if (!state_name.ok()) return StatusResponse(state_name.status());
  if (!*state_name) return ErrorResponse(400, "bad_request", "state is required");
  auto state = StateNamed(**state_name);
  if (!state.ok()) return StatusResponse(state.status());
  auto age = IntField(*body, "older_than_ms", 0, kMaxTimeMs);
  if (!age.ok()) return StatusResponse(age.status());
  auto limit = IntField(*body, "limit", 1, std::numeric_limits<std::int64_t>::max());
  if (!limit.ok()) return StatusResponse(limit.status());
  auto removed = broker.Clean(queue, *state, age->value_or(0),
                              limit->has_value() ? static_cast<std::uint64_t>(**limit)
                                                 : std::numeric_limits<std::uint64_t>::max());
  if (!removed.ok()) return StatusResponse(removed.status());
  RecordAudit(api, request, "clean", queue, *removed,
              std::string(engine::JobStateName(*state)) + " older than " +
                  std::to_string(age->value_or(0)) + " ms");
  json::object out;
  out["queue"] = queue;
  out["state"] = engine::JobStateName(*state);
  out["removed"] = *removed;
  return JsonResponse(out);
}

// Why a job is not running now, or null: the queue is paused, the job is delayed (or in its
// backoff) until a time, its queue's concurrency or rate limit is reached, or nobody takes
// its queue's jobs (no local handler, no remote worker waiting, none running).
json::value BlockedBy(ApiContext* api, const Job& job) {
  json::object out;
  if (job.state == JobState::kDelayed) {
    bool backoff = job.attempts_made > 0;
    out["reason"] = backoff ? "backoff" : "delayed";
    out["until"] = job.due_ms;
    out["message"] =
        backoff ? "waiting out the backoff after a failed attempt" : "delayed until its due time";
    return out;
  }
  if (job.state != JobState::kWaiting) return nullptr;
  auto serving = api->state->broker().Serving(job.queue);
  if (!serving.ok()) return nullptr;
  if (serving->paused) {
    out["reason"] = "paused";
    out["message"] = "the queue is paused";
    return out;
  }
  if (serving->concurrency > 0 && serving->active >= serving->concurrency) {
    out["reason"] = "concurrency";
    out["limit"] = serving->concurrency;
    out["active"] = serving->active;
    out["message"] = "the queue runs as many jobs as its concurrency allows";
    return out;
  }
  if (serving->rate_limited_until_ms > 0) {
    out["reason"] = "rate_limit";
    out["until"] = serving->rate_limited_until_ms;
    out["message"] = "the queue's rate limit is reached until then";
    return out;
  }
  if (!serving->local_workers && !serving->remote_waiting && serving->active == 0) {
    out["reason"] = "no_worker";
    out["message"] =
        "no local handler runs this queue and no remote worker is waiting for its jobs";
    return out;
  }
  return nullptr;
}

HttpResponse ShowJob(ApiContext* api, HttpRequest& request) {
  auto job = api->state->broker().Show(request.Param("id"));
  if (!job.ok()) {
    if (job.status().IsNotFound()) {
      return ErrorResponse(404, "not_found", "no job '" + std::string(request.Param("id")) + "'");
    }
    return StatusResponse(job.status());
  }
  bool full = request.Query("full").value_or("0") == "1";
  json::object out =
      JobJson(*job, full ? std::numeric_limits<std::size_t>::max() : kPayloadShownBytes);
  out["blockedBy"] = BlockedBy(api, *job);
  out["history"] = HistoryJson(*job);
  return JsonResponse(out);
}

// A job action: NotFound is 404; a job in the wrong state (InvalidArgument from the broker) 409.
HttpResponse JobAction(ApiContext* api, HttpRequest& request, std::string_view action,
                       Result<Job> done) {
  if (!done.ok()) {
    const Status& status = done.status();
    std::string id(request.Param("id"));
    if (status.IsNotFound()) {
      // The broker's NotFound also means "not in the state this action needs".
      if (api->state->broker().Show(id).ok()) {
        return ErrorResponse(409, "conflict", status.message());
      }
      return ErrorResponse(404, "not_found", "no job '" + id + "'");
    }
    if (status.IsInvalidArgument()) return ErrorResponse(409, "conflict", status.message());
    return StatusResponse(status);
  }
  RecordAudit(api, request, std::string(action), std::string(request.Param("id")), 1);
  return JsonResponse(JobJson(*done, kPayloadListedBytes));
}

HttpResponse DeleteJob(ApiContext* api, HttpRequest& request) {
  engine::Broker& broker = api->state->broker();
  std::string id(request.Param("id"));
  if (!broker.Show(id).ok()) return ErrorResponse(404, "not_found", "no job '" + id + "'");
  Status status = broker.Delete(id);
  if (!status.ok()) return StatusResponse(status);
  RecordAudit(api, request, "delete", id, 1);
  json::object out;
  out["id"] = id;
  out["deleted"] = true;
  return JsonResponse(out);
}

HttpResponse ListAudit(ApiContext* api, HttpRequest& request) {
  auto limit = IntQuery(request, "limit", 100, 1, 10000);
  if (!limit.ok()) return StatusResponse(limit.status());
  auto entries = api->state->audit().Recent(static_cast<std::uint32_t>(*limit));
  if (!entries.ok()) return StatusResponse(entries.status());
  json::array list;
  for (const AuditEntry& entry : *entries) list.push_back(AuditJson(entry));
  json::object out;
  out["entries"] = std::move(list);
  return JsonResponse(out);
}

}  // namespace

bool KnownQueue(engine::Broker& broker, std::string_view queue) {
  auto queues = broker.Queues();
  return std::find(queues.begin(), queues.end(), queue) != queues.end();
}

void RecordAudit(ApiContext* api, const HttpRequest& request, std::string action,
                 std::string target, std::uint64_t matched, std::string detail) {
  api->state->audit().Record({.at_ms = 0,
                              .client = "http " + request.client,
                              .action = std::move(action),
                              .target = std::move(target),
                              .matched = matched,
                              .detail = std::move(detail)});
}

void AddQueueRoutes(Router* router, ApiContext* api) {
  router->Add({"GET", "/api/audit", kReadOnly,
               [api](HttpRequest& request) { return ListAudit(api, request); }});
  router->Add({"GET", "/api/queues", kReadOnly, [api](HttpRequest&) { return ListQueues(api); }});
  router->Add({"GET", "/api/queues/{q}", kReadOnly,
               [api](HttpRequest& request) { return ShowQueue(api, request); }});
  router->Add({"GET", "/api/queues/{q}/jobs", kReadOnly,
               [api](HttpRequest& request) { return ListJobs(api, request); }});
  router->Add({"POST", "/api/queues/{q}/jobs", kWrites,
               [api](HttpRequest& request) { return AddJob(api, request); }});
  router->Add({"POST", "/api/queues/{q}/pause", kWrites,
               [api](HttpRequest& request) { return PauseOrResume(api, request, true); }});
  router->Add({"POST", "/api/queues/{q}/resume", kWrites,
               [api](HttpRequest& request) { return PauseOrResume(api, request, false); }});
  router->Add({"POST", "/api/queues/{q}/clean", kWrites,
               [api](HttpRequest& request) { return CleanQueue(api, request); }});
  router->Add({"GET", "/api/jobs/{id}", kReadOnly,
               [api](HttpRequest& request) { return ShowJob(api, request); }});
  router->Add({"DELETE", "/api/jobs/{id}", kWrites,
               [api](HttpRequest& request) { return DeleteJob(api, request); }});
  router->Add({"POST", "/api/jobs/{id}/retry", kWrites, [api](HttpRequest& request) {
                 return JobAction(api, request, "retry",
                                  api->state->broker().Retry(request.Param("id")));
               }});
  router->Add({"POST", "/api/jobs/{id}/promote", kWrites, [api](HttpRequest& request) {
                 return JobAction(api, request, "promote",
                                  api->state->broker().Promote(request.Param("id")));
               }});
}

}  // namespace herald::net::http
