// JobFilter: which jobs of a state a list, a bulk action or the failure triage takes — text in
// the payload or the last error, the event type, a time range, an error fingerprint — read
// from the query string (`?q=&type=&since=&until=&fingerprint=`) or a JSON object with the
// same names. Finished jobs are placed in time by when they finished, the others by when they
// were added.
//
// ErrorFingerprint: the last error with what varies between occurrences of one failure
// replaced — numbers, hex ids, e-mail and IP addresses, quoted text — so that "connect
// 10.0.0.7:25 timed out after 3001 ms" and "connect 10.0.0.9:25 timed out after 2998 ms" are
// one group. The fingerprint is 16 hex digits of a hash of that pattern.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/broker.h"
#include "net/http/http_message.h"

namespace herald::net::http {

// The pattern of an error message (see above).
std::string ErrorPattern(std::string_view error);
// 16 hex digits naming the pattern of `error`.
std::string ErrorFingerprint(std::string_view error);

struct JobFilter {
  std::string text;
  std::string type;
  std::string fingerprint;
  std::int64_t since = 0;
  std::int64_t until = std::numeric_limits<std::int64_t>::max();

  bool empty() const;
  bool Matches(const engine::Job& job) const;
};

// From the query string. InvalidArgument names a bad parameter.
Result<JobFilter> FilterFromQuery(const HttpRequest& request);
// From a JSON object (a bulk action's `filter`). InvalidArgument names a bad field.
Result<JobFilter> FilterFromJson(const boost::json::object& object);

}  // namespace herald::net::http
