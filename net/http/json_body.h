// ParseJsonBody: a request body parsed with simdjson into a Boost.JSON value that the HTTP
// routes read and change (e.g. a mock event's defaults with the caller's fields over them).
// Every byte is checked, not only the fields a route reads.
//
// Errors name the place: "invalid JSON at byte 17", "JSON nested deeper than 64 levels at byte
// 210"; an empty body is "empty body: a JSON value is expected".
//
// Thread safety: a pure function.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>

#include "common/status.h"

namespace herald::net::http {

Result<boost::json::value> ParseJsonBody(std::string_view body);

// `value` as compact JSON text, with numbers as people write them: 18.5, not Boost.JSON's
// 1.85E1 — for what is stored as a job's payload and read by the handlers' templates.
std::string WriteJson(const boost::json::value& value);

}  // namespace herald::net::http
