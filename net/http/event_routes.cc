// POST /events and POST /mock-events/{name} (api_routes.h): events validated and routed as
// EMIT does. An array is checked whole before anything is queued, so that a bad event at index
// 3 leaves the first three unqueued too.
#include <boost/json.hpp>

#include <random>

#include "net/http/api_routes.h"
#include "net/http/json_body.h"
#include "net/http/mock_events.h"

namespace herald::net::http {
namespace {

namespace json = boost::json;

// A fresh event id: "evt_" and 16 random hex digits.
std::string NewEventId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t bits = random();
  std::string id = "evt_";
  for (int i = 0; i < 16; ++i) id.push_back(kDigits[(bits >> (i * 4)) & 0xf]);
  return id;
}

json::object QueuedJson(const engine::AddedJob& added) {
  json::object out;
  out["id"] = added.id;
  out["queue"] = added.queue;
  out["created"] = added.created;
  return out;
}

HttpResponse PostEvents(ApiContext* api, HttpRequest& request) {
  engine::Broker& broker = api->state->broker();
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) return StatusResponse(body.status());
  std::vector<std::string> events;
  if (body->is_array()) {
    if (body->get_array().empty()) return ErrorResponse(400, "bad_request", "no events given");
    for (const json::value& event : body->get_array()) events.push_back(WriteJson(event));
  } else {
    events.push_back(std::move(request.body));
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto routed = broker.router()->Route(events[i]);
    if (!routed.ok()) {
      std::string message = routed.status().message();
      if (body->is_array()) message = "event " + std::to_string(i) + ": " + message;
      HttpResponse response = ErrorResponse(400, "bad_request", message);
      if (body->is_array()) {
        auto parsed = json::parse(response.body).as_object();
        parsed["error"].as_object()["index"] = i;
        response.body = json::serialize(parsed);
      }
      return response;
    }
  }
  json::array ids;
  json::array queued;
  for (const std::string& event : events) {
    auto added = broker.Emit(event);
    if (!added.ok()) return StatusResponse(added.status());
    ids.push_back(json::value(added->id));
    queued.push_back(QueuedJson(*added));
  }
  json::object out;
  out["ids"] = std::move(ids);
  out["queued"] = std::move(queued);
  return JsonResponse(out, 202);
}

HttpResponse PostMockEvent(ApiContext* api, HttpRequest& request) {
  std::string name(request.Param("name"));
  if (!api->mock_events) {
    return ErrorResponse(404, "not_found",
                         "mock events are off: start herald with --mock-events to use them");
  }
  if (!MockEventType(name)) {
    std::string known;
    for (const std::string& each : MockEventNames()) known += (known.empty() ? "" : ", ") + each;
    return ErrorResponse(404, "not_found",
                         "no mock event '" + name + "' (there are " + known + ")");
  }
  json::value body;
  if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto parsed = ParseJsonBody(request.body);
    if (!parsed.ok()) return StatusResponse(parsed.status());
    body = std::move(*parsed);
  }
  auto event = MakeMockEvent(name, body, NewEventId(), api->state->NowMs());
  if (!event.ok()) return StatusResponse(event.status());
  auto added = api->state->broker().Emit(WriteJson(*event));
  if (!added.ok()) return StatusResponse(added.status());
  json::object out;
  out["eventId"] = added->id;
  out["eventType"] = (*event)["eventType"];
  out["queue"] = added->queue;
  out["created"] = added->created;
  out["message"] = added->created ? "Event queued" : "Event already queued (same eventId)";
  out["event"] = std::move(*event);
  return JsonResponse(out, 202);
}

}  // namespace

void AddEventRoutes(Router* router, ApiContext* api) {
  router->Add({"POST", "/events", kWrites,
               [api](HttpRequest& request) { return PostEvents(api, request); }});
  router->Add({"POST", "/mock-events/{name}", kWrites,
               [api](HttpRequest& request) { return PostMockEvent(api, request); }});
  // The server's EventStream (HttpServer::ServeEventStream) carries the connection from here.
  router->Add({"GET", "/api/events/stream", kReadOnly, [](HttpRequest&) {
                 HttpResponse response;
                 response.content_type = "text/event-stream";
                 response.event_stream = true;
                 return response;
               }});
}

}  // namespace herald::net::http
