// Router: the HTTP routes of one server, as a table of {method, pattern, flags, handler} rows
// built once by the composition root and read-only after Freeze. A pattern is a path whose
// segments are literals or `{name}` (one whole segment, any text, percent-decoded):
//
//   router.Add({"GET", "/api/jobs/{id}", kReadOnly, ShowJob});
//
// Match finds the row for a request: a path that no row has is 404; a path that rows have but
// not with this method is 405 (their methods are the Allow header).
//
// Thread safety: Add before Freeze, from one thread; Match from any thread after.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_message.h"

namespace herald::net::http {

// What a route may do, and who may call it.
enum RouteFlags : std::uint32_t {
  kReadOnly = 0,     // reads only: the read-only password may call it
  kWrites = 1 << 0,  // changes something: refused (403) for the read-only password
  kPublic = 1 << 1,  // no password needed (health checks)
};

using RouteHandler = std::function<HttpResponse(HttpRequest&)>;
// A route whose answer comes later (work that runs off the I/O threads): it calls `respond`
// once, from any thread.
using Respond = std::function<void(HttpResponse)>;
using DeferredHandler = std::function<void(HttpRequest, Respond)>;

// Exactly one of handler and deferred is set.
struct Route {
  Route(std::string route_method, std::string route_pattern, std::uint32_t route_flags,
        RouteHandler route_handler)
      : method(std::move(route_method)),
        pattern(std::move(route_pattern)),
        flags(route_flags),
        handler(std::move(route_handler)) {}
  Route(std::string route_method, std::string route_pattern, std::uint32_t route_flags,
        DeferredHandler route_deferred)
      : method(std::move(route_method)),
        pattern(std::move(route_pattern)),
        flags(route_flags),
        deferred(std::move(route_deferred)) {}

  std::string method;
  std::string pattern;
  std::uint32_t flags = kReadOnly;
  RouteHandler handler;
  DeferredHandler deferred;
};

class Router {
 public:
  // Adds a row. A second row with the same method and pattern replaces the first.
  void Add(Route route);
  void Freeze() { frozen_ = true; }

  struct Match {
    const Route* route = nullptr;  // null: see status
    unsigned status = 0;           // 404 or 405 when route is null
    std::string allow;             // for 405: "GET, POST"
  };
  // Finds the route of `method` and `segments`, and fills request->params from its pattern.
  Match Find(std::string_view method, HttpRequest* request) const;

 private:
  struct Row {
    Route route;
    std::vector<std::string> parts;  // pattern segments; "{x}" captures
  };
  static bool Matches(const Row& row, const std::vector<std::string>& segments);
  static std::size_t Captures(const Row& row);

  std::vector<Row> rows_;
  bool frozen_ = false;
};

}  // namespace herald::net::http
