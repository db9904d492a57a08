// The /queues dashboard's routes, added to a Router by the composition root:
//
//   GET /queues, and every path under it up to four segments deep   the page (index.html);
//                                     its script reads the path and shows that view
//   GET /queues/assets/{file}               a file of the page, revalidated on every use
//   GET /queues/assets/{version}/{file}     the same, cached for a year when {version} is this
//                                     build's (index.html names its files this way)
//
// Everything is compiled into the binary (net/http/dashboard/dashboard_assets.h). The page
// uses only the JSON API; with a password set it needs the password as the API does (HTTP
// Basic: the browser asks).
//
// Thread safety: the routes only read immutable data.
#pragma once

#include "net/http/router.h"

namespace herald::net::http {

void AddDashboardRoutes(Router* router);

}  // namespace herald::net::http
