// The HTTP routes over what the notification handlers keep (the HTTP side of PREFS.*, INBOX,
// SENT and TICKETS; see README.md "HTTP API"):
//
//   GET /api/users/{id}              preferences, in-app inbox, delivery log, tickets, and the
//                                    jobs of the events these name, with their states
//   PUT /api/users/{id}/preferences  {"email": bool, "push": bool, "inapp": bool} (any of them)
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
