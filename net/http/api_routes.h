// The HTTP API's routes, added to a Router by the composition root:
//
//   AddQueueRoutes    GET /api/queues, GET /api/queues/{q}, GET|POST /api/queues/{q}/jobs,
//                     POST /api/queues/{q}/{pause,resume,clean}, GET|DELETE /api/jobs/{id},
//                     POST /api/jobs/{id}/{retry,promote}
//   AddEventRoutes    POST /events, POST /mock-events/{name} (404 unless mock_events),
//                     GET /api/events/stream (Server-Sent Events; see EventStream)
//   AddBulkRoutes     POST /api/queues/{q}/bulk, GET /api/queues/{q}/failures (on `runner`)
//   AddMetricsRoutes  GET /metrics, GET /healthz, GET /readyz, GET /api/stats/history
//
// README.md ("HTTP API") documents each with its parameters and answers.
//
// Thread safety: the routes run on any I/O thread; everything they use is thread-safe.
// Lifetime: `api` and what it points to must outlive the router.
#pragma once

#include <functional>
#include <string>

#include "common/background_runner.h"
#include "net/http/queue_activity.h"
#include "net/http/router.h"
#include "net/server_state.h"

namespace herald::net::http {

struct HttpStats;
class StatsHistory;
class FailureIndex;

struct ApiContext {
  ServerState* state = nullptr;
  QueueActivity* activity = nullptr;
  // The HTTP server's counters and open connections, once it exists (null before).
  const HttpStats* http_stats = nullptr;
  std::function<std::uint64_t()> http_connections;
  // POST /mock-events/* answers 404 when false.
  bool mock_events = false;
  // Where long requests run (bulk actions, failure triage). Must outlive the I/O threads'
  // io_context's use: stop it before the io_context goes.
  BackgroundRunner* runner = nullptr;
  // The per-minute history of GET /api/stats/history (null: 404).
  StatsHistory* history = nullptr;
  // The failure triage kept from the job events (null: every triage walks the failed jobs).
  FailureIndex* failures = nullptr;
};

void AddQueueRoutes(Router* router, ApiContext* api);  // and GET /api/audit
void AddEventRoutes(Router* router, ApiContext* api);
void AddBulkRoutes(Router* router, ApiContext* api);
void AddMetricsRoutes(Router* router, ApiContext* api);

// Whether `queue` exists (the routes answer 404 for one that does not).
bool KnownQueue(engine::Broker& broker, std::string_view queue);

// An operator action of `request`'s client into the server's audit log.
void RecordAudit(ApiContext* api, const HttpRequest& request, std::string action,
                 std::string target, std::uint64_t matched, std::string detail = {});

}  // namespace herald::net::http
