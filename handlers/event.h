// Event: the envelope a job carries, as the handlers read it.
//
//   { "eventType": "booking.created", "eventId": "evt-1", "timestamp": "2024-03-05T10:00:00Z",
//     "data": { "bookingId": "B-1", "userId": "u-1", "userEmail": "a@example.com", ... } }
//
// The broker validated the contract (required fields) when the event was emitted; handlers
// still check the fields they cannot work without, because jobs can also be added directly.
//
// Thread safety: plain value and free functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "handlers/flat_json.h"

namespace herald::handlers {

struct Event {
  std::string type;       // eventType
  std::string id;         // eventId
  std::string timestamp;  // as sent; may be ""
  FlatObject data;

  // data.<name> as text; "" when absent or null.
  std::string Field(std::string_view name) const { return FieldText(data, name); }
};

// Parses an envelope. InvalidArgument names the problem: "invalid JSON: ...", "expected a JSON
// object", "event has no eventType", "event <type> has no eventId", "eventId must be 1..256
// bytes without NUL", "event <type> <id>: data must be an object".
Result<Event> ParseEvent(std::string_view json);

// The non-empty text of data.<name>; InvalidArgument "event <type> <id>: missing field
// data.<name>" otherwise.
Result<std::string> RequireField(const Event& event, std::string_view name);

// True for ids usable in record keys: 1..256 bytes, no NUL byte. Used for user and event ids.
bool IsValidKeyId(std::string_view id);
// OK for a valid user id; InvalidArgument "user id must be 1..256 bytes without NUL" otherwise.
Status CheckUserId(std::string_view user);

// `id` made safe for a file name or a Message-ID local part: [A-Za-z0-9_-] kept, anything else
// becomes '_', and when anything changed (or the id itself ends in '-' and 8 lower-case hex
// digits, as such a name does) a hash of the original is appended so that different ids never
// share a name ("evt/1" -> "evt_1-26c14972").
std::string SafeName(std::string_view id);

}  // namespace herald::handlers
