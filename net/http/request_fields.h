// Reading the fields of a JSON request body and of query parameters, with errors that name the
// field and what was expected: "delay must be an integer from 0 to 2^53", "state must be one of
// waiting, active, delayed, completed, failed".
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/broker.h"
#include "net/http/http_message.h"

namespace herald::net::http {

// The body as a JSON object; an empty body is an empty object. InvalidArgument for bad JSON
// (with the byte offset) or another kind of value.
Result<boost::json::object> BodyObject(const HttpRequest& request);

// `object[key]` as an integer in [min, max]; nullopt when absent (or null).
Result<std::optional<std::int64_t>> IntField(const boost::json::object& object,
                                             std::string_view key, std::int64_t min,
                                             std::int64_t max);
// `object[key]` as a string; nullopt when absent (or null).
Result<std::optional<std::string>> StringField(const boost::json::object& object,
                                               std::string_view key);
// `object[key]` as a boolean; nullopt when absent.
Result<std::optional<bool>> BoolField(const boost::json::object& object, std::string_view key);

// Query parameter `key` as an integer in [min, max], or `fallback` when absent.
Result<std::int64_t> IntQuery(const HttpRequest& request, std::string_view key,
                              std::int64_t fallback, std::int64_t min, std::int64_t max);

// A job state by name (the whole list in the error).
Result<engine::JobState> StateNamed(std::string_view name);

}  // namespace herald::net::http
