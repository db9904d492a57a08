#include "tools/herald/notification_routes.h"

#include <boost/json.hpp>

#include <set>

#include "handlers/event.h"
#include "net/http/api_json.h"
#include "net/http/request_fields.h"

namespace herald::tools {
namespace {

namespace json = boost::json;
using handlers::Fields;
using handlers::NotificationQueries;
using net::http::ErrorResponse;
using net::http::HttpRequest;
using net::http::HttpResponse;
using net::http::JsonResponse;
using net::http::StatusResponse;

// How far back the user page reads each kind of record.
constexpr std::uint32_t kUserRecords = 100;
// Tickets looked through for one user's.
constexpr std::uint32_t kTicketsScanned = 1000;
// Jobs looked through per queue and state for a user's jobs that left no record yet.
constexpr std::uint32_t kUserJobsScanned = 1000;
constexpr engine::JobState kUnrecordedStates[] = {
    engine::JobState::kWaiting, engine::JobState::kDelayed, engine::JobState::kActive,
    engine::JobState::kFailed};

json::object FieldsJson(const Fields& fields) {
  json::object out;
  for (const auto& [name, value] : fields) out[name] = value;
  return out;
}

json::object PreferencesJson(const std::map<std::string, bool>& preferences) {
  json::object out;
  for (const auto& [channel, on] : preferences) out[channel] = on;
  return out;
}

json::array DevicesJson(const std::vector<handlers::Device>& devices) {
  json::array out;
  for (const auto& device : devices) out.push_back(FieldsJson(handlers::DeviceFields(device)));
  return out;
}

HttpResponse ShowUser(NotificationQueries* queries, engine::Broker* broker, HttpRequest& request) {
  std::string user(request.Param("id"));
  auto preferences = queries->GetPreferences(user);
  if (!preferences.ok()) return StatusResponse(preferences.status());
  auto inbox = queries->Inbox(user, kUserRecords);
  if (!inbox.ok()) return StatusResponse(inbox.status());
  auto sent = queries->Sent(user, kUserRecords);
  if (!sent.ok()) return StatusResponse(sent.status());
  auto tickets = queries->Tickets(kTicketsScanned);
  if (!tickets.ok()) return StatusResponse(tickets.status());
  auto devices = queries->Devices(user);
  if (!devices.ok()) return StatusResponse(devices.status());

  // The events this user's records name, newest first, once each; their jobs carry the ids.
  std::vector<std::string> event_ids;
  std::set<std::string> seen;
  auto note = [&](const std::string& id) {
    if (!id.empty() && seen.insert(id).second) event_ids.push_back(id);
  };
  json::array inbox_json, deliveries_json, tickets_json;
  for (const auto& entry : *inbox) {
    inbox_json.push_back(FieldsJson(handlers::InboxFields(entry)));
    note(entry.event_id);
  }
  for (const auto& record : *sent) {
    deliveries_json.push_back(FieldsJson(handlers::DeliveryFields(record)));
    note(record.event_id);
  }
  for (const auto& ticket : *tickets) {
    if (ticket.user_id != user) continue;
    tickets_json.push_back(FieldsJson(handlers::TicketFields(ticket)));
    note(ticket.event_id);
  }
  json::array jobs;
  for (const std::string& id : event_ids) {
    auto job = broker->Show(id);
    if (job.ok()) jobs.push_back(net::http::JobJson(*job, net::http::kPayloadListedBytes));
  }
  // Jobs nothing recorded yet (not taken, or failed before a handler wrote a record): the
  // user is named in their event.
  for (const std::string& queue : broker->Queues()) {
    for (engine::JobState state : kUnrecordedStates) {
      auto page = broker->List(queue, state, "", kUserJobsScanned);
      if (!page.ok()) return StatusResponse(page.status());
      for (const engine::Job& job : page->jobs) {
        if (seen.count(job.id) > 0) continue;
        auto event = handlers::ParseEvent(job.payload);
        if (!event.ok() || event->Field("userId") != user) continue;
        seen.insert(job.id);
        jobs.push_back(net::http::JobJson(job, net::http::kPayloadListedBytes));
      }
    }
  }
  json::object out;
  out["userId"] = user;
  out["preferences"] = PreferencesJson(*preferences);
  out["devices"] = DevicesJson(*devices);
  out["inbox"] = std::move(inbox_json);
  out["deliveries"] = std::move(deliveries_json);
  out["tickets"] = std::move(tickets_json);
  out["jobs"] = std::move(jobs);
  return JsonResponse(out);
}

HttpResponse SetPreferences(NotificationQueries* queries, HttpRequest& request) {
  std::string user(request.Param("id"));
  auto body = net::http::BodyObject(request);
  if (!body.ok()) return StatusResponse(body.status());
  if (body->empty()) {
    return ErrorResponse(400, "bad_request", "give at least one of email, push, inapp");
  }
  // Every value is checked before any is written.
  std::vector<std::pair<std::string, bool>> changes;
  for (const auto& field : *body) {
    if (!field.value().is_bool()) {
      return ErrorResponse(400, "bad_request", std::string(field.key()) + " must be true or false");
    }
    changes.emplace_back(std::string(field.key()), field.value().get_bool());
  }
  for (const auto& [channel, on] : changes) {
    if (channel != "email" && channel != "push" && channel != "inapp") {
      return ErrorResponse(400, "bad_request",
                           "unknown channel '" + channel + "' (email, push or inapp)");
    }
  }
  for (const auto& [channel, on] : changes) {
    if (Status status = queries->SetPreference(user, channel, on); !status.ok()) {
      return StatusResponse(status);
    }
  }
  auto preferences = queries->GetPreferences(user);
  if (!preferences.ok()) return StatusResponse(preferences.status());
  json::object out;
  out["userId"] = user;
  out["preferences"] = PreferencesJson(*preferences);
  return JsonResponse(out);
}

// PUT /api/users/{id}/devices {"token": "...", "platform": "android"}: 201 when new, 200 when
// the token was known.
HttpResponse AddDevice(NotificationQueries* queries, HttpRequest& request) {
  std::string user(request.Param("id"));
  auto body = net::http::BodyObject(request);
  if (!body.ok()) return StatusResponse(body.status());
  for (const auto& field : *body) {
    if (field.key() != "token" && field.key() != "platform") {
      return ErrorResponse(400, "bad_request",
                           "unknown field '" + std::string(field.key()) + "' (token, platform)");
    }
  }
  auto token = net::http::StringField(*body, "token");
  if (!token.ok()) return StatusResponse(token.status());
  if (!token->has_value()) return ErrorResponse(400, "bad_request", "token is required");
  auto platform = net::http::StringField(*body, "platform");
  if (!platform.ok()) return StatusResponse(platform.status());
  auto added = queries->AddDevice(user, **token, platform->value_or(""));
  if (!added.ok()) return StatusResponse(added.status());
  auto devices = queries->Devices(user);
  if (!devices.ok()) return StatusResponse(devices.status());
  json::object out;
  out["userId"] = user;
  out["added"] = *added;
  out["devices"] = DevicesJson(*devices);
  return JsonResponse(out, *added ? 201 : 200);
}

HttpResponse RemoveDevice(NotificationQueries* queries, HttpRequest& request) {
  std::string user(request.Param("id"));
  auto removed = queries->RemoveDevice(user, request.Param("token"));
  if (!removed.ok()) return StatusResponse(removed.status());
  if (!*removed) {
    return ErrorResponse(404, "not_found", "user " + user + " has no such device token");
  }
  auto devices = queries->Devices(user);
  if (!devices.ok()) return StatusResponse(devices.status());
  json::object out;
  out["userId"] = user;
  out["devices"] = DevicesJson(*devices);
  return JsonResponse(out);
}

HttpResponse ListTickets(NotificationQueries* queries, HttpRequest& request) {
  auto limit = net::http::IntQuery(request, "limit", 50, 1, NotificationQueries::kMaxCount);
  if (!limit.ok()) return StatusResponse(limit.status());
  auto tickets = queries->Tickets(static_cast<std::uint32_t>(*limit));
  if (!tickets.ok()) return StatusResponse(tickets.status());
  json::array list;
  for (const auto& ticket : *tickets) list.push_back(FieldsJson(handlers::TicketFields(ticket)));
  json::object out;
  out["tickets"] = std::move(list);
  return JsonResponse(out);
}

}  // namespace

void AddNotificationRoutes(net::http::Router* router, NotificationQueries* queries,
                           engine::Broker* broker, BackgroundRunner* runner) {
  using net::http::kReadOnly;
  using net::http::kWrites;
  router->Add({"GET", "/api/users/{id}", kReadOnly,
               net::http::DeferredHandler(
                   [queries, broker, runner](HttpRequest request, net::http::Respond respond) {
                     Status posted = runner->Post([queries, broker, request, respond]() mutable {
                       respond(ShowUser(queries, broker, request));
                     });
                     if (!posted.ok()) respond(StatusResponse(posted));
                   })});
  router->Add({"PUT", "/api/users/{id}/preferences", kWrites,
               [queries](HttpRequest& request) { return SetPreferences(queries, request); }});
  router->Add({"PUT", "/api/users/{id}/devices", kWrites,
               [queries](HttpRequest& request) { return AddDevice(queries, request); }});
  router->Add({"DELETE", "/api/users/{id}/devices/{token}", kWrites,
               [queries](HttpRequest& request) { return RemoveDevice(queries, request); }});
  router->Add({"GET", "/api/tickets", kReadOnly,
               [queries](HttpRequest& request) { return ListTickets(queries, request); }});
}

}  // namespace herald::tools
