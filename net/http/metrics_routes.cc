// GET /metrics (Prometheus text format 0.0.4), GET /healthz, GET /readyz (api_routes.h).
//
// Queue figures use BullMQ's own metric names (bullmq_job_count, bullmq_job_completed_total,
// bullmq_job_failed_total), so that BullMQ scrape configs and Grafana panels keep working, and
// Sidekiq's for the oldest waiting job (sidekiq_queue_latency_seconds); the rest is herald_*.
#include <boost/json.hpp>

#include <sstream>

#include "engine/keyspace.h"
#include "net/http/api_routes.h"
#include "net/http/http_server.h"
#include "net/http/request_fields.h"
#include "net/http/stats_history.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;

// A label value with Prometheus's escapes (backslash, quote, newline).
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Header(std::ostream& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

void Histogram(std::ostream& out, std::string_view name, const std::string& queue,
               const LatencyHistogram& histogram) {
  std::uint64_t cumulative = 0;
  const auto& buckets = histogram.buckets();
  for (std::size_t i = 0; i < LatencyHistogram::kBoundsMs.size(); ++i) {
    cumulative += buckets[i];
    out << name << "_bucket{queue=\"" << queue << "\",le=\""
        << static_cast<double>(LatencyHistogram::kBoundsMs[i]) / 1000.0 << "\"} " << cumulative
        << '\n';
  }
  out << name << "_bucket{queue=\"" << queue << "\",le=\"+Inf\"} " << histogram.count() << '\n';
  out << name << "_sum{queue=\"" << queue << "\"} "
      << static_cast<double>(histogram.sum_ms()) / 1000.0 << '\n';
  out << name << "_count{queue=\"" << queue << "\"} " << histogram.count() << '\n';
}

HttpResponse Metrics(ApiContext* api) {
  engine::Broker& broker = api->state->broker();
  std::int64_t now = api->state->NowMs();
  std::vector<std::string> queues = broker.Queues();
  std::map<std::string, QueueTotals> totals = api->activity->Totals();
  std::ostringstream out;

  Header(out, "bullmq_job_count", "gauge", "Jobs in the queue, by state.");
  std::map<std::string, double> latency;
  std::map<std::string, bool> paused;
  for (const std::string& queue : queues) {
    auto counts = broker.Counts(queue);
    if (!counts.ok()) return StatusResponse(counts.status());
    const std::string name = Label(queue);
    const std::pair<const char*, std::uint64_t> states[] = {{"waiting", counts->waiting},
                                                            {"active", counts->active},
                                                            {"delayed", counts->delayed},
                                                            {"completed", counts->completed},
                                                            {"failed", counts->failed}};
    for (const auto& [state, count] : states) {
      out << "bullmq_job_count{queue=\"" << name << "\",state=\"" << state << "\"} " << count
          << '\n';
    }
    paused[queue] = counts->paused;
    latency[queue] = 0;
    if (counts->waiting > 0) {
      auto head = broker.List(queue, engine::JobState::kWaiting, "", 1);
      if (head.ok() && !head->jobs.empty()) {
        latency[queue] =
            static_cast<double>(std::max<std::int64_t>(0, now - head->jobs.front().created_ms)) /
            1000.0;
      }
    }
  }
  Header(out, "bullmq_job_completed_total", "counter",
         "Jobs completed since this process started.");
  for (const std::string& queue : queues) {
    out << "bullmq_job_completed_total{queue=\"" << Label(queue) << "\"} "
        << totals[queue].completed << '\n';
  }
  Header(out, "bullmq_job_failed_total", "counter",
         "Jobs failed for good since this process started.");
  for (const std::string& queue : queues) {
    out << "bullmq_job_failed_total{queue=\"" << Label(queue) << "\"} " << totals[queue].failed
        << '\n';
  }
  Header(out, "herald_job_added_total", "counter", "Jobs added since this process started.");
  for (const std::string& queue : queues) {
    out << "herald_job_added_total{queue=\"" << Label(queue) << "\"} " << totals[queue].added
        << '\n';
  }
  Header(out, "herald_job_retried_total", "counter",
         "Failed attempts that will run again, since this process started.");
  for (const std::string& queue : queues) {
    out << "herald_job_retried_total{queue=\"" << Label(queue) << "\"} " << totals[queue].retried
        << '\n';
  }
  Header(out, "herald_job_stalled_total", "counter",
         "Leases that expired, since this process started.");
  for (const std::string& queue : queues) {
    out << "herald_job_stalled_total{queue=\"" << Label(queue) << "\"} " << totals[queue].stalled
        << '\n';
  }
  Header(out, "sidekiq_queue_latency_seconds", "gauge",
         "Age of the oldest waiting job of the queue (0 when none waits).");
  for (const std::string& queue : queues) {
    out << "sidekiq_queue_latency_seconds{queue=\"" << Label(queue) << "\"} " << latency[queue]
        << '\n';
  }
  Header(out, "herald_queue_paused", "gauge", "1 when the queue is paused.");
  for (const std::string& queue : queues) {
    out << "herald_queue_paused{queue=\"" << Label(queue) << "\"} " << (paused[queue] ? 1 : 0)
        << '\n';
  }
  const std::tuple<const char*, const char*, LatencyHistogram QueueTotals::*> histograms[] = {
      {"herald_job_wait_seconds", "Time from a job's add (or due time) to its first start.",
       &QueueTotals::wait},
      {"herald_job_processing_seconds", "Time from an attempt's start to its end.",
       &QueueTotals::processing},
      {"herald_job_delay_lateness_seconds", "Time from a delayed job's due time to its start.",
       &QueueTotals::lateness}};
  for (const auto& [name, help, member] : histograms) {
    Header(out, name, "histogram", help);
    for (const std::string& queue : queues)
      Histogram(out, name, Label(queue), totals[queue].*member);
  }

  engine::StoreFigures figures = broker.keyspace().figures();
  Header(out, "herald_store_disk_bytes", "gauge", "Bytes of the store's files on disk.");
  out << "herald_store_disk_bytes " << figures.disk_bytes << '\n';
  Header(out, "process_resident_memory_bytes", "gauge", "Resident memory of the process.");
  out << "process_resident_memory_bytes " << ResidentBytes() << '\n';
  Header(out, "herald_connected_clients", "gauge", "Clients connected now, by protocol.");
  out << "herald_connected_clients{protocol=\"resp\"} " << api->state->connected_clients.load()
      << '\n';
  out << "herald_connected_clients{protocol=\"http\"} "
      << (api->http_connections ? api->http_connections() : 0) << '\n';
  Header(out, "herald_commands_processed_total", "counter", "RESP commands run.");
  out << "herald_commands_processed_total " << api->state->commands_processed.load() << '\n';
  if (api->http_stats != nullptr) {
    Header(out, "herald_http_requests_total", "counter", "HTTP requests answered.");
    out << "herald_http_requests_total " << api->http_stats->requests.load() << '\n';
    Header(out, "herald_http_errors_total", "counter", "HTTP answers with a 4xx or 5xx status.");
    out << "herald_http_errors_total " << api->http_stats->errors.load() << '\n';
  }
  Header(out, "herald_store_write_failures_total", "counter", "Store writes that failed.");
  out << "herald_store_write_failures_total " << broker.durability().write_failures() << '\n';
  Header(out, "herald_uptime_seconds", "gauge", "Seconds since the server started.");
  out << "herald_uptime_seconds " << api->state->uptime_seconds() << '\n';

  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = std::move(out).str();
  return response;
}

HttpResponse Ready(ApiContext* api) {
  // Ready: the store is open (this process has one for its whole life) and its writes go
  // through; a full disk or a failed WAL write makes it not ready until writes succeed again.
  engine::Durability& durability = api->state->broker().durability();
  if (Status health = durability.WriteHealth(); !health.ok()) {
    return ErrorResponse(503, "unavailable", "store writes failing: " + health.message());
  }
  json::object out;
  out["status"] = "ready";
  out["writeFailures"] = durability.write_failures();
  return JsonResponse(out);
}

// GET /api/stats/history?minutes=N (default 60, at most 7 days).
HttpResponse History(ApiContext* api, HttpRequest& request) {
  if (api->history == nullptr) return ErrorResponse(404, "not_found", "no history kept here");
  auto minutes = IntQuery(request, "minutes", 60, 1, StatsHistory::kKeepMs / 60000);
  if (!minutes.ok()) return StatusResponse(minutes.status());
  std::int64_t now = api->state->NowMs();
  auto rows = api->history->Since(now - (*minutes - 1) * 60000);
  if (!rows.ok()) return StatusResponse(rows.status());
  json::array list;
  for (const MinuteStats& row : *rows) {
    json::object entry;
    entry["minute"] = row.minute * 60000;
    entry["queue"] = row.queue;
    entry["added"] = row.added;
    entry["completed"] = row.completed;
    entry["failed"] = row.failed;
    entry["waitP50Ms"] = row.wait_p50_ms;
    entry["waitP99Ms"] = row.wait_p99_ms;
    entry["latenessP99Ms"] = row.lateness_p99_ms;
    list.push_back(std::move(entry));
  }
  json::object out;
  out["minutes"] = std::move(list);
  return JsonResponse(out);
}

}  // namespace

void AddMetricsRoutes(Router* router, ApiContext* api) {
  router->Add({"GET", "/api/stats/history", kReadOnly,
               [api](HttpRequest& request) { return History(api, request); }});
  router->Add({"GET", "/metrics", kReadOnly, [api](HttpRequest&) { return Metrics(api); }});
  router->Add({"GET", "/healthz", kPublic, [](HttpRequest&) {
                 json::object out;
                 out["status"] = "ok";
                 return JsonResponse(out);
               }});
  router->Add({"GET", "/readyz", kPublic, [api](HttpRequest&) { return Ready(api); }});
}

}  // namespace herald::net::http
