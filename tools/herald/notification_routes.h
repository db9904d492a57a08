// The HTTP routes over what the notification handlers keep (the HTTP side of PREFS.*, INBOX,
// SENT and TICKETS; see README.md "HTTP API"):
//
//   GET /api/users/{id}              preferences, devices, in-app inbox, delivery log, tickets,
//                                    and the jobs of the events these name, with their states
//   PUT /api/users/{id}/preferences  {"email": bool, "push": bool, "inapp": bool} (any of them)
//   PUT /api/users/{id}/devices      {"token": "...", "platform": "android"|"ios"|"web"}: a push
//                                    device token (FCM); 201 when new, 200 when known
//   DELETE /api/users/{id}/devices/{token}
//   GET /api/tickets?limit=N         newest first
//
// Lifetime: `queries` and `broker` must outlive the router.
#pragma once

#include "engine/broker.h"
#include "handlers/queries.h"
#include "net/http/router.h"

namespace herald::tools {

void AddNotificationRoutes(net::http::Router* router, handlers::NotificationQueries* queries,
                           engine::Broker* broker);

}  // namespace herald::tools
