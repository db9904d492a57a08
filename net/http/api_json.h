// The JSON shapes of the HTTP API, in one place: a job, a queue's policy, a cursor. Field
// names follow Bull Board's /api/queues where they mean the same (timestamp, processedOn,
// finishedOn, attemptsMade, failedReason, returnValue, data), so that its users feel at home.
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "engine/broker.h"

namespace herald::net::http {

// Payloads above this are truncated in a job's JSON unless the whole is asked for.
inline constexpr std::size_t kPayloadShownBytes = 64 << 10;
// In lists, each job's payload is cut shorter.
inline constexpr std::size_t kPayloadListedBytes = 2 << 10;

// A job: id, queue, state, name (the event type, "" when the payload is no event), data (the
// payload parsed when it is JSON and fits in `max_payload` bytes; otherwise its first bytes as
// a string with truncated: true), payloadBytes, priority, attemptsMade, maxAttempts, backoff
// {type, delay}, timestamp, processedOn, finishedOn, delayUntil (null when not delayed),
// failedReason, returnValue. Times are ms since the epoch, null when not yet.
boost::json::object JobJson(const engine::Job& job, std::size_t max_payload);

// The attempt history of a job, oldest first: [{startedAt, endedAt|null, outcome, error,
// worker, backoffMs, nextDueAt|null}].
boost::json::array HistoryJson(const engine::Job& job);

// The eventType of a JSON payload, or "" (not JSON, not an object, no string eventType).
std::string EventTypeOf(std::string_view payload);

// {attempts, backoff {type, delay}, concurrency, rateLimit {max, durationMs} | null, timeoutMs,
// leaseMs}.
boost::json::object PolicyJson(const engine::QueuePolicy& policy);

// A whole non-negative decimal number, or nullopt.
std::optional<std::int64_t> ParseCount(std::string_view text);

}  // namespace herald::net::http
