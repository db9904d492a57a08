// Mock events: the six development endpoints of POST /mock-events/<name>, which make an event
// of a built-in type with realistic defaults, so that the service can be tried without the
// booking service (as the product brief's mock-events controller does).
//
//   booking-created   booking.created   -> emails
//   booking-confirmed booking.confirmed -> emails
//   booking-cancelled booking.cancelled -> emails
//   booking-reminder  booking.reminder  -> notifications
//   payment-received  payment.received  -> notifications
//   payment-failed    payment.failed    -> tickets
//
// The caller's body overrides the defaults: `eventId` and `timestamp` at the top, and fields of
// `data` — given inside a `data` object or directly at the top (`{"userId": "u-7"}`).
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace herald::net::http {

// The event type of an endpoint name ("booking-created" -> "booking.created"), or nullopt.
std::optional<std::string> MockEventType(std::string_view name);
// Every endpoint name, in the order above.
std::vector<std::string> MockEventNames();

// The event envelope {eventType, eventId, timestamp, data} of `name` (a name MockEventType
// knows) at `now_ms`, with `event_id` unless the body gives one, and `body` (null or an object)
// over the defaults. InvalidArgument when the body is not an object, or its data not one.
Result<boost::json::object> MakeMockEvent(std::string_view name, const boost::json::value& body,
                                          std::string event_id, std::int64_t now_ms);

}  // namespace herald::net::http
