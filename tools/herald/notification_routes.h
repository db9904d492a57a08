// The HTTP routes over what the notification handlers keep (the HTTP side of PREFS.*, INBOX,
// SENT and TICKETS; see README.md "HTTP API"):
//
//   GET /api/users/{id}              preferences, devices, in-app inbox, delivery log, tickets,
//                                    and the user's jobs with their states: those of the events
//                                    these name, and those whose event names the user among the
//                                    first 1,000 waiting, delayed, active and failed jobs of
//                                    each queue (a job nothing recorded yet); read on `runner`
//   PUT /api/users/{id}/preferences  {"email": bool, "push": bool, "inapp": bool} (any of them)
//   PUT /api/users/{id}/devices      {"token": "...", "platform": "android"|"ios"|"web"}: a push
//                                    device token (FCM); 201 when new, 200 when known
//   DELETE /api/users/{id}/devices/{token}
//   GET /api/tickets?limit=N         newest first
//
// Lifetime: `queries`, `broker` and `runner` must outlive the router.
#pragma once

#include "common/background_runner.h"
#include "engine/broker.h"
#include "handlers/queries.h"
#include "net/http/router.h"

namespace herald::tools {

void AddNotificationRoutes(net::http::Router* router, handlers::NotificationQueries* queries,
                           engine::Broker* broker, BackgroundRunner* runner);

}  // namespace herald::tools
