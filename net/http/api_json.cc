#include "net/http/api_json.h"

#include <simdjson.h>

#include <charconv>

#include "net/http/json_body.h"

namespace herald::net::http {

namespace json = boost::json;

namespace {

json::value TimeOrNull(std::int64_t ms) {
  if (ms <= 0) return nullptr;
  return ms;
}

// The longest prefix of `text` of at most `max` bytes that does not cut a UTF-8 character.
std::string_view Utf8Prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string EventTypeOf(std::string_view payload) {
  if (payload.empty() || payload.front() != '{') return {};
  // Events as EMIT and the mock events store them, compact, with eventType first: read
  // without a parser. Anything else (spaces, escapes, another order) goes to the parser.
  constexpr std::string_view kCompact = "{\"eventType\":\"";
  if (payload.starts_with(kCompact)) {
    std::size_t end = payload.find_first_of("\"\\", kCompact.size());
    if (end != std::string_view::npos && payload[end] == '"') {
      return std::string(payload.substr(kCompact.size(), end - kCompact.size()));
    }
  }
  simdjson::padded_string text(payload);
  // One parser per thread: a parser's buffers are allocated on its first use.
  thread_local simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (parser.iterate(text).get(doc)) return {};
  std::string_view type;
  if (doc["eventType"].get_string().get(type)) return {};
  return std::string(type);
}

json::object JobJson(const engine::Job& job, std::size_t max_payload) {
  json::object out;
  out["id"] = job.id;
  out["queue"] = job.queue;
  out["state"] = engine::JobStateName(job.state);
  // The event's type, and the job's name: the producer's (ADDJOB NAME, BullMQ's add(name,
  // data)), else the event's type.
  std::string event_type = EventTypeOf(job.payload);
  out["name"] = job.name.empty() ? event_type : job.name;
  out["eventType"] = std::move(event_type);
  bool truncated = job.payload.size() > max_payload;
  if (truncated) {
    out["data"] = Utf8Prefix(job.payload, max_payload);
  } else {
    auto parsed = ParseJsonBody(job.payload);
    if (parsed.ok()) {
      out["data"] = std::move(*parsed);
    } else {
      out["data"] = job.payload;
    }
  }
  out["truncated"] = truncated;
  out["payloadBytes"] = job.payload.size();
  out["priority"] = job.priority;
  out["attemptsMade"] = job.attempts_made;
  out["maxAttempts"] = job.max_attempts;
  json::object backoff;
  backoff["type"] = engine::BackoffTypeName(job.backoff_type);
  backoff["delay"] = job.backoff_ms;
  out["backoff"] = std::move(backoff);
  out["timestamp"] = TimeOrNull(job.created_ms);
  out["processedOn"] = TimeOrNull(job.processed_ms);
  out["finishedOn"] = TimeOrNull(job.finished_ms);
  out["delayUntil"] = job.state == engine::JobState::kDelayed ? TimeOrNull(job.due_ms) : nullptr;
  out["failedReason"] = job.last_error;
  out["returnValue"] = job.return_value;
  return out;
}

json::array HistoryJson(const engine::Job& job) {
  json::array out;
  for (const engine::Attempt& attempt : job.history) {
    json::object entry;
    entry["startedAt"] = TimeOrNull(attempt.started_ms);
    entry["endedAt"] = TimeOrNull(attempt.ended_ms);
    entry["outcome"] = engine::AttemptOutcomeName(attempt.outcome);
    entry["error"] = attempt.error;
    entry["worker"] = attempt.worker;
    entry["backoffMs"] = attempt.backoff_ms;
    entry["nextDueAt"] = TimeOrNull(attempt.next_due_ms);
    out.push_back(std::move(entry));
  }
  return out;
}

json::object PolicyJson(const engine::QueuePolicy& policy) {
  json::object out;
  out["attempts"] = policy.max_attempts;
  json::object backoff;
  backoff["type"] = engine::BackoffTypeName(policy.backoff_type);
  backoff["delay"] = policy.backoff_ms;
  out["backoff"] = std::move(backoff);
  out["concurrency"] = policy.concurrency;
  if (policy.rate_max > 0) {
    json::object rate;
    rate["max"] = policy.rate_max;
    rate["durationMs"] = policy.rate_duration_ms;
    out["rateLimit"] = std::move(rate);
  } else {
    out["rateLimit"] = nullptr;
  }
  out["timeoutMs"] = policy.timeout_ms;
  out["leaseMs"] = policy.lease_ms;
  json::object retention;
  retention["completed"] =
      json::object{{"count", policy.keep_completed}, {"ageMs", policy.keep_completed_age_ms}};
  retention["failed"] =
      json::object{{"count", policy.keep_failed}, {"ageMs", policy.keep_failed_age_ms}};
  out["retention"] = std::move(retention);
  return out;
}

std::optional<std::int64_t> ParseCount(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace herald::net::http
