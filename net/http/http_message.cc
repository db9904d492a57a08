#include "net/http/http_message.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace herald::net::http {

std::string_view HttpRequest::Param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

HttpResponse JsonResponse(const boost::json::value& value, unsigned status) {
  HttpResponse response;
  response.status = status;
  response.body = boost::json::serialize(value);
  return response;
}

std::string_view ErrorCodeOf(unsigned status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "error";
  }
}

HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object root;
  root["error"] = std::move(error);
  return JsonResponse(root, status);
}

HttpResponse StatusResponse(const Status& status) {
  if (status.IsNotFound()) return ErrorResponse(404, "not_found", status.message());
  if (status.IsInvalidArgument()) return ErrorResponse(400, "bad_request", status.message());
  if (status.IsAlreadyExists() || status.IsPaused()) {
    return ErrorResponse(409, "conflict", status.message());
  }
  if (status.IsBusy() || status.IsShuttingDown()) {
    return ErrorResponse(503, "unavailable", status.message());
  }
  if (status.IsIOError() || status.IsCorruption()) {
    return ErrorResponse(503, "storage_error", "storage error: " + status.message());
  }
  return ErrorResponse(500, "internal", status.message());
}

}  // namespace herald::net::http
