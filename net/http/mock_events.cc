#include "net/http/mock_events.h"

#include <array>
#include <ctime>
#include <utility>

namespace herald::net::http {
namespace {

namespace json = boost::json;

struct MockKind {
  std::string_view name;
  std::string_view type;
};

constexpr std::array<MockKind, 6> kKinds = {{
    {"booking-created", "booking.created"},
    {"booking-confirmed", "booking.confirmed"},
    {"booking-cancelled", "booking.cancelled"},
    {"booking-reminder", "booking.reminder"},
    {"payment-received", "payment.received"},
    {"payment-failed", "payment.failed"},
}};

// ISO-8601 UTC with milliseconds.
std::string Iso8601(std::int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(ms % 1000));
  return out;
}

// A short id derived from the event id, so that one mock event's booking and payment ids go
// together and differ from the next one's.
std::string Suffix(std::string_view event_id) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (char c : event_id) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(kDigits[(hash >> (i * 4)) & 0xf]);
  return out;
}

json::object Defaults(std::string_view type, std::string_view event_id, std::int64_t now_ms) {
  const std::string suffix = Suffix(event_id);
  json::object data;
  data["bookingId"] = "bk_" + suffix;
  data["userId"] = "user_1001";
  const bool booking = type.starts_with("booking.");
  if (booking && type != "booking.reminder") data["userEmail"] = "alex.martin@example.com";
  if (booking) {
    data["parkingSpot"] = "B-17";
    data["startTime"] = Iso8601(now_ms + 24LL * 3600 * 1000);
    data["endTime"] = Iso8601(now_ms + 26LL * 3600 * 1000);
  }
  if (type == "booking.confirmed") {
    data["amount"] = 18.5;
    data["currency"] = "EUR";
  }
  if (type == "booking.cancelled") {
    data["reason"] = "cancelled by the customer";
    data["refundAmount"] = 18.5;
    data["currency"] = "EUR";
  }
  if (type.starts_with("payment.")) {
    data["paymentId"] = "pay_" + suffix;
    data["amount"] = 18.5;
    data["currency"] = "EUR";
  }
  if (type == "payment.failed") data["reason"] = "card declined (insufficient funds)";
  return data;
}

}  // namespace

std::optional<std::string> MockEventType(std::string_view name) {
  for (const MockKind& kind : kKinds) {
    if (kind.name == name) return std::string(kind.type);
  }
  return std::nullopt;
}

std::vector<std::string> MockEventNames() {
  std::vector<std::string> names;
  for (const MockKind& kind : kKinds) names.emplace_back(kind.name);
  return names;
}

Result<json::object> MakeMockEvent(std::string_view name, const json::value& body,
                                   std::string event_id, std::int64_t now_ms) {
  std::optional<std::string> type = MockEventType(name);
  if (!type) return Status::InvalidArgument("unknown mock event '" + std::string(name) + "'");
  if (!body.is_null() && !body.is_object()) {
    return Status::InvalidArgument("the body must be a JSON object (or empty)");
  }
  static const json::object kEmpty;
  const json::object& fields = body.is_object() ? body.get_object() : kEmpty;
  if (const json::value* id = fields.if_contains("eventId")) {
    if (!id->is_string()) return Status::InvalidArgument("eventId must be a string");
    event_id = std::string(id->get_string());
  }
  json::object event;
  event["eventType"] = *type;
  event["eventId"] = event_id;
  event["timestamp"] = Iso8601(now_ms);
  json::object data = Defaults(*type, event_id, now_ms);
  for (const auto& field : fields) {
    if (field.key() == "eventId" || field.key() == "eventType") continue;
    if (field.key() == "timestamp") {
      event["timestamp"] = field.value();
    } else if (field.key() == "data") {
      if (!field.value().is_object()) return Status::InvalidArgument("data must be an object");
      for (const auto& inner : field.value().get_object()) data[inner.key()] = inner.value();
    } else {
      data[field.key()] = field.value();
    }
  }
  event["data"] = std::move(data);
  return event;
}

}  // namespace herald::net::http
