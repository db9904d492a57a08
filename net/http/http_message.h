// HttpRequest and HttpResponse: what an HTTP route reads and answers, without Beast's types,
// so that routes can be called and tested without a socket. Helpers build the JSON answers,
// and turn a Status into the API's error shape:
//
//   {"error": {"code": "not_found", "message": "no job 'x'"}}
//
// Thread safety: plain values.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace herald::net::http {

struct HttpRequest {
  std::string method;                 // "GET", "POST", ... (HEAD is served as GET)
  std::string path;                   // percent-decoded, without the query
  std::vector<std::string> segments;  // path segments, percent-decoded
  std::map<std::string, std::string, std::less<>> query;   // decoded; the last of a repeated key
  std::map<std::string, std::string, std::less<>> params;  // {name} parts of the route
  std::string body;
  std::string content_type;
  std::map<std::string, std::string, std::less<>> headers;  // names lower-cased
  std::string client;                                       // "127.0.0.1:40312"
  bool read_only = false;  // authenticated with the read-only password

  // A route parameter ("" when absent).
  std::string_view Param(std::string_view name) const;
  // A query parameter, or nullopt.
  std::optional<std::string_view> Query(std::string_view name) const;
  // A header by its lower-case name ("" when absent).
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond type and length
  // Server-Sent Events: the header goes out and the connection then carries the server's
  // EventStream until the client leaves (the body is ignored).
  bool event_stream = false;
};

// `value` serialized, with `status`.
HttpResponse JsonResponse(const boost::json::value& value, unsigned status = 200);
// {"error": {"code": code, "message": message}} with `status`.
HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message);
// A non-OK Status as an error: NotFound 404 not_found, InvalidArgument 400 bad_request,
// AlreadyExists/Paused 409 conflict, Busy/ShuttingDown 503 unavailable, IOError/Corruption 503
// storage_error, anything else 500 internal.
HttpResponse StatusResponse(const Status& status);

// The reason phrase a status code has in error codes: 405 -> "method_not_allowed".
std::string_view ErrorCodeOf(unsigned status);

}  // namespace herald::net::http
