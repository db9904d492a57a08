// Bulk actions by filter and the failure triage (api_routes.h), on the API's BackgroundRunner,
// off the I/O threads. A bulk action, and a triage with a filter or of a queue not indexed now,
// walks every job of the state through the store page by page (bounded memory, no cap on the
// count); the triage of a whole queue comes from the FailureIndex. POST /api/backup runs on the
// backups' own runner.
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <optional>

#include "common/background_runner.h"
#include "engine/backups.h"
#include "net/http/api_json.h"
#include "net/http/api_routes.h"
#include "net/http/failure_index.h"
#include "net/http/job_filter.h"
#include "net/http/request_fields.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;
using engine::Job;
using engine::JobState;

constexpr std::uint32_t kPage = 500;

enum class BulkAction { kRetry, kDelete, kPromote };

// Runs `work` on the runner; 503 at once when it is full.
void OffThread(ApiContext* api, Respond respond, std::function<HttpResponse()> work) {
  Status posted =
      api->runner->Post([respond, work = std::move(work)]() mutable { respond(work()); });
  if (!posted.ok()) respond(StatusResponse(posted));
}

struct BulkRequest {
  std::string queue;
  std::string filter_text;  // the filter as given, for the audit log
  BulkAction action = BulkAction::kRetry;
  std::string action_name;
  JobState state = JobState::kFailed;
  JobFilter filter;
  bool dry_run = false;
};

Result<BulkRequest> ParseBulk(const HttpRequest& request) {
  BulkRequest bulk;
  bulk.queue = std::string(request.Param("q"));
  HERALD_ASSIGN_OR_RETURN(json::object body, BodyObject(request));
  HERALD_ASSIGN_OR_RETURN(auto action, StringField(body, "action"));
  if (!action) return Status::InvalidArgument("action is required (retry, delete or promote)");
  bulk.action_name = *action;
  if (*action == "retry") {
    bulk.action = BulkAction::kRetry;
    bulk.state = JobState::kFailed;
  } else if (*action == "promote") {
    bulk.action = BulkAction::kPromote;
    bulk.state = JobState::kDelayed;
  } else if (*action == "delete") {
    bulk.action = BulkAction::kDelete;
  } else {
    return Status::InvalidArgument("action must be retry, delete or promote (not '" + *action +
                                   "')");
  }
  HERALD_ASSIGN_OR_RETURN(auto dry_run, BoolField(body, "dry_run"));
  bulk.dry_run = dry_run.value_or(false);
  json::object filter;
  if (const json::value* given = body.if_contains("filter"); given && !given->is_null()) {
    if (!given->is_object()) return Status::InvalidArgument("filter must be an object");
    filter = given->get_object();
  }
  bulk.filter_text = json::serialize(filter);
  HERALD_ASSIGN_OR_RETURN(bulk.filter, FilterFromJson(filter));
  HERALD_ASSIGN_OR_RETURN(auto state, StringField(filter, "state"));
  if (state) {
    HERALD_ASSIGN_OR_RETURN(bulk.state, StateNamed(*state));
  } else if (bulk.action == BulkAction::kDelete) {
    return Status::InvalidArgument("filter.state is required to delete");
  }
  if (bulk.action == BulkAction::kRetry && bulk.state != JobState::kFailed) {
    return Status::InvalidArgument("only failed jobs can be retried");
  }
  if (bulk.action == BulkAction::kPromote && bulk.state != JobState::kDelayed) {
    return Status::InvalidArgument("only delayed jobs can be promoted");
  }
  return bulk;
}

HttpResponse RunBulk(ApiContext* api, const HttpRequest& request, BulkRequest bulk) {
  engine::Broker& broker = api->state->broker();
  engine::Durability& durability = broker.durability();
  // Only jobs as they were when the action began: one that fails again meanwhile (after a
  // retry) is not taken a second time, and a dry run and the action see the same set.
  bulk.filter.until = std::min(bulk.filter.until, api->state->NowMs());
  std::uint64_t matched = 0, done = 0, scanned = 0;
  std::string cursor;
  do {
    auto page = broker.List(bulk.queue, bulk.state, cursor, kPage);
    if (!page.ok()) return StatusResponse(page.status());
    scanned += page->jobs.size();
    {
      // At `always`, a page's writes share one sync (AwaitAll below), not one each.
      std::optional<engine::SyncDeferral> deferral;
      if (durability.replies_wait()) deferral.emplace();
      for (const Job& job : page->jobs) {
        if (!bulk.filter.Matches(job)) continue;
        ++matched;
        if (bulk.dry_run) continue;
        Status status;
        switch (bulk.action) {
          case BulkAction::kRetry:
            status = broker.Retry(job.id).status();
            break;
          case BulkAction::kPromote:
            status = broker.Promote(job.id).status();
            break;
          case BulkAction::kDelete:
            status = broker.Delete(job.id);
            break;
        }
        // NotFound: the job moved on meanwhile (taken, deleted); it is not counted as done.
        if (status.ok()) {
          ++done;
        } else if (!status.IsNotFound()) {
          return StatusResponse(status);
        }
      }
    }
    if (!bulk.dry_run && durability.replies_wait()) {
      if (Status synced = durability.AwaitAll(); !synced.ok()) return StatusResponse(synced);
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  if (!bulk.dry_run) {
    RecordAudit(api, request, "bulk-" + bulk.action_name, bulk.queue, matched,
                "filter " + bulk.filter_text + ", " + std::to_string(done) + " done");
  }
  json::object out;
  out["queue"] = bulk.queue;
  out["action"] = bulk.action_name;
  out["state"] = engine::JobStateName(bulk.state);
  out["dryRun"] = bulk.dry_run;
  out["matched"] = matched;
  out["done"] = done;
  out["scanned"] = scanned;
  return JsonResponse(out);
}

HttpResponse Failures(ApiContext* api, const std::string& queue, const JobFilter& filter,
                      std::size_t limit) {
  std::optional<FailureTriage> triage;
  if (filter.empty() && api->failures != nullptr) {
    auto indexed = api->failures->Triage(queue, limit);
    if (!indexed.ok()) return StatusResponse(indexed.status());
    triage = std::move(*indexed);
  }
  if (!triage) {
    // Filtered, or the queue not indexed now: every failed job, page by page.
    engine::Broker& broker = api->state->broker();
    FailureGrouper grouper;
    std::uint64_t scanned = 0;
    std::string cursor;
    do {
      auto page = broker.List(queue, JobState::kFailed, cursor, kPage);
      if (!page.ok()) return StatusResponse(page.status());
      scanned += page->jobs.size();
      for (const Job& job : page->jobs) {
        if (filter.Matches(job)) grouper.Add(job);
      }
      cursor = page->next_cursor;
    } while (!cursor.empty());
    triage = std::move(grouper).Finish(limit);
    triage->scanned = scanned;
  }
  json::array list;
  for (const FailureGroup& group : triage->groups) {
    json::object entry;
    entry["fingerprint"] = group.fingerprint;
    entry["eventType"] = group.event_type;
    entry["pattern"] = group.pattern;
    entry["error"] = group.error;
    entry["count"] = group.count;
    entry["firstSeen"] = group.first_seen;
    entry["lastSeen"] = group.last_seen;
    list.push_back(std::move(entry));
  }
  json::object out;
  out["queue"] = queue;
  out["groups"] = std::move(list);
  out["failed"] = triage->failed;
  out["scanned"] = triage->scanned;
  out["ungrouped"] = triage->ungrouped;
  return JsonResponse(out);
}

// POST /api/backup {"dir": "/abs/path"}: a backup written on the server's machine; answers its
// manifest.
void Backup(ApiContext* api, const HttpRequest& request, Respond respond) {
  auto body = BodyObject(request);
  if (!body.ok()) return respond(StatusResponse(body.status()));
  auto dir = StringField(*body, "dir");
  if (!dir.ok()) return respond(StatusResponse(dir.status()));
  if (!*dir || (*dir)->empty() || (**dir)[0] != '/') {
    return respond(ErrorResponse(400, "bad_request",
                                 "dir is required: an absolute path on the server's machine"));
  }
  RecordAudit(api, request, "backup", **dir, 0);
  engine::Backups* backups = &api->state->broker().backups();
  Status posted = backups->runner().Post([backups, respond, dir = **dir] {
    Result<engine::BackupManifest> manifest = backups->Write(dir);
    if (!manifest.ok()) return respond(StatusResponse(manifest.status()));
    HttpResponse response;
    response.status = 200;
    response.content_type = "application/json";
    response.body = engine::ManifestToJson(*manifest);
    respond(std::move(response));
  });
  if (!posted.ok()) respond(StatusResponse(posted));
}

}  // namespace

void AddBulkRoutes(Router* router, ApiContext* api) {
  router->Add(
      {"POST", "/api/backup", kWrites, DeferredHandler([api](HttpRequest request, Respond respond) {
         Backup(api, request, std::move(respond));
       })});
  router->Add({"POST", "/api/queues/{q}/bulk", kWrites,
               DeferredHandler([api](HttpRequest request, Respond respond) {
                 if (!KnownQueue(api->state->broker(), request.Param("q"))) {
                   return respond(ErrorResponse(
                       404, "not_found", "no queue '" + std::string(request.Param("q")) + "'"));
                 }
                 auto parsed = ParseBulk(request);
                 if (!parsed.ok()) return respond(StatusResponse(parsed.status()));
                 OffThread(api, respond, [api, request, bulk = std::move(*parsed)]() mutable {
                   return RunBulk(api, request, std::move(bulk));
                 });
               })});

  router->Add({"GET", "/api/queues/{q}/failures", kReadOnly,
               DeferredHandler([api](HttpRequest request, Respond respond) {
                 std::string queue(request.Param("q"));
                 if (!KnownQueue(api->state->broker(), queue)) {
                   return respond(ErrorResponse(404, "not_found", "no queue '" + queue + "'"));
                 }
                 auto filter = FilterFromQuery(request);
                 if (!filter.ok()) return respond(StatusResponse(filter.status()));
                 auto limit = IntQuery(request, "limit", 50, 1,
                                       static_cast<std::int64_t>(kMaxFailureGroups));
                 if (!limit.ok()) return respond(StatusResponse(limit.status()));
                 OffThread(api, respond, [api, queue, filter = *filter, limit = *limit] {
                   return Failures(api, queue, filter, static_cast<std::size_t>(limit));
                 });
               })});
}

}  // namespace herald::net::http
