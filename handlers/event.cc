#include "handlers/event.h"

#include <cstdio>

namespace herald::handlers {

bool IsValidKeyId(std::string_view id) {
  return !id.empty() && id.size() <= 256 && id.find('\0') == std::string_view::npos;
}

Status CheckUserId(std::string_view user) {
  if (!IsValidKeyId(user)) {
    return Status::InvalidArgument("user id must be 1..256 bytes without NUL");
  }
  return Status::Ok();
}

std::string SafeName(std::string_view id) {
  std::string out;
  out.reserve(id.size() + 9);
  bool changed = id.empty();
  for (char c : id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-';
    out.push_back(keep ? c : '_');
    changed = changed || !keep;
  }
  if (out.size() > 128) {
    out.resize(128);
    changed = true;
  }
  // A kept id that ends like a hash suffix would take the name of an id that was changed
  // ("evt_1-26c14972" is the name of "evt/1"): hash it too.
  if (!changed && out.size() >= 9 && out[out.size() - 9] == '-' &&
      out.find_first_not_of("0123456789abcdef", out.size() - 8) == std::string::npos) {
    changed = true;
  }
  if (changed) {
    std::uint32_t hash = 2166136261u;
    for (unsigned char c : id) {
      hash ^= c;
      hash *= 16777619u;
    }
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "-%08x", hash);
    out += suffix;
  }
  return out;
}

Result<Event> ParseEvent(std::string_view json) {
  HERALD_ASSIGN_OR_RETURN(FlatObject envelope, ParseFlatObject(json));
  Event event;
  auto type = envelope.find("eventType");
  if (type == envelope.end() || type->second.kind != JsonField::Kind::kString ||
      type->second.text.empty()) {
    return Status::InvalidArgument("event has no eventType");
  }
  event.type = type->second.text;
  auto id = envelope.find("eventId");
  if (id == envelope.end() || id->second.kind != JsonField::Kind::kString ||
      id->second.text.empty()) {
    return Status::InvalidArgument("event " + event.type + " has no eventId");
  }
  if (!IsValidKeyId(id->second.text)) {
    return Status::InvalidArgument("eventId must be 1..256 bytes without NUL");
  }
  event.id = id->second.text;
  event.timestamp = FieldText(envelope, "timestamp");
  auto data = envelope.find("data");
  if (data == envelope.end() || data->second.kind == JsonField::Kind::kNull) return event;
  if (data->second.kind != JsonField::Kind::kObject) {
    return Status::InvalidArgument("event " + event.type + " " + event.id +
                                   ": data must be an object");
  }
  HERALD_ASSIGN_OR_RETURN(event.data, ParseFlatObject(data->second.text));
  return event;
}

Result<std::string> RequireField(const Event& event, std::string_view name) {
  std::string value = event.Field(name);
  if (value.empty()) {
    return Status::InvalidArgument("event " + event.type + " " + event.id +
                                   ": missing field data." + std::string(name));
  }
  return value;
}

}  // namespace herald::handlers
