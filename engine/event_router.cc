#include "engine/event_router.h"

#include <simdjson.h>

#include <set>

namespace herald::engine {
namespace {

namespace od = simdjson::ondemand;

// Events are small; a bigger document is refused before parsing.
constexpr size_t kMaxEventBytes = 1 << 20;

// `doc` is null when the document could not even be started (e.g. empty input).
Status JsonError(const simdjson::padded_string& json, od::document* doc, simdjson::error_code err,
                 std::string_view what) {
  size_t offset = doc == nullptr ? 0 : json.size();
  if (doc != nullptr) {
    auto location = doc->current_location();
    if (!location.error()) offset = static_cast<size_t>(location.value_unsafe() - json.data());
  }
  std::string message = "invalid JSON at byte " + std::to_string(offset);
  if (!what.empty()) message += " (" + std::string(what) + ")";
  (void)err;
  return Status::InvalidArgument(std::move(message));
}

// Walks a value completely, so that every byte of the event is checked, not only the fields
// the router reads (simdjson's on-demand API validates only what is visited).
simdjson::error_code Visit(od::value value, int depth) {
  if (depth > 64) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = value.type().get(type); err) return err;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto err = value.get_object().get(object); err) return err;
      for (auto field : object) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key); err) return err;
        od::value child;
        if (auto err = field.value().get(child); err) return err;
        if (auto err = Visit(child, depth + 1); err) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array array;
      if (auto err = value.get_array().get(array); err) return err;
      for (auto element : array) {
        od::value child;
        if (auto err = element.get(child); err) return err;
        if (auto err = Visit(child, depth + 1); err) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view str;
      return value.get_string().get(str);
    }
    case od::json_type::number: {
      od::number number;
      return value.get_number().get(number);
    }
    case od::json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null;
      if (auto err = value.is_null().get(is_null); err) return err;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace

std::vector<EventContract> DefaultEventContracts() {
  return {
      {"booking.created", "emails", {"bookingId", "userId", "userEmail"}},
      {"booking.confirmed", "emails", {"bookingId", "userId", "userEmail"}},
      {"booking.cancelled", "emails", {"bookingId", "userId", "userEmail"}},
      {"booking.reminder", "notifications", {"bookingId", "userId"}},
      {"payment.received", "notifications", {"paymentId", "bookingId", "userId", "amount"}},
      {"payment.failed", "tickets", {"paymentId", "bookingId", "userId", "amount", "reason"}},
  };
}

EventRouter::EventRouter(const std::vector<EventContract>& contracts) {
  for (const EventContract& contract : contracts) contracts_[contract.event_type] = contract;
}

const EventContract* EventRouter::Find(std::string_view event_type) const {
  auto it = contracts_.find(event_type);
  return it == contracts_.end() ? nullptr : &it->second;
}

std::vector<EventContract> EventRouter::contracts() const {
  std::vector<EventContract> out;
  for (const auto& [type, contract] : contracts_) out.push_back(contract);
  return out;
}

Result<RoutedEvent> EventRouter::Route(std::string_view text) const {
  if (text.size() > kMaxEventBytes) {
    return Status::InvalidArgument("event larger than " + std::to_string(kMaxEventBytes) +
                                   " bytes");
  }
  simdjson::padded_string json(text);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(json).get(doc); err) return JsonError(json, nullptr, err, "");

  od::object root;
  if (auto err = doc.get_object().get(root); err) {
    if (err == simdjson::INCORRECT_TYPE) {
      return Status::InvalidArgument("event must be a JSON object");
    }
    return JsonError(json, &doc, err, "");
  }

  RoutedEvent event;
  bool have_type = false, have_id = false, have_data = false;
  std::set<std::string, std::less<>> data_fields;
  for (auto field : root) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key); err) return JsonError(json, &doc, err, "");
    od::value value;
    if (auto err = field.value().get(value); err) return JsonError(json, &doc, err, "");
    if (key == "eventType" || key == "eventId" || key == "timestamp") {
      std::string_view str;
      if (auto err = value.get_string().get(str); err) {
        if (err == simdjson::INCORRECT_TYPE) {
          return Status::InvalidArgument(std::string(key) + " must be a string");
        }
        return JsonError(json, &doc, err, "");
      }
      if (key == "eventType") {
        event.event_type = str;
        have_type = true;
      } else if (key == "eventId") {
        event.event_id = str;
        have_id = true;
      }
    } else if (key == "data") {
      od::object data;
      if (auto err = value.get_object().get(data); err) {
        if (err == simdjson::INCORRECT_TYPE) {
          return Status::InvalidArgument("data must be a JSON object");
        }
        return JsonError(json, &doc, err, "");
      }
      have_data = true;
      for (auto data_field : data) {
        std::string_view data_key;
        if (auto err = data_field.unescaped_key().get(data_key); err) {
          return JsonError(json, &doc, err, "");
        }
        od::value data_value;
        if (auto err = data_field.value().get(data_value); err) {
          return JsonError(json, &doc, err, "");
        }
        od::json_type type;
        if (auto err = data_value.type().get(type); err) return JsonError(json, &doc, err, "");
        std::string key_copy(data_key);
        if (auto err = Visit(data_value, 2); err) return JsonError(json, &doc, err, "");
        if (type != od::json_type::null) data_fields.insert(std::move(key_copy));
      }
    } else {
      if (auto err = Visit(value, 1); err) return JsonError(json, &doc, err, "");
    }
  }
  if (!doc.current_location().error()) {
    return JsonError(json, &doc, simdjson::TRAILING_CONTENT, "trailing content");
  }

  if (!have_type) return Status::InvalidArgument("missing field eventType");
  const EventContract* contract = Find(event.event_type);
  if (contract == nullptr) {
    return Status::InvalidArgument("unknown event type '" + event.event_type + "'");
  }
  if (!have_id || event.event_id.empty()) {
    return Status::InvalidArgument("event " + event.event_type + ": missing field eventId");
  }
  if (!have_data) {
    return Status::InvalidArgument("event " + event.event_type + ": missing field data");
  }
  for (const std::string& field : contract->required_fields) {
    if (data_fields.find(field) == data_fields.end()) {
      return Status::InvalidArgument("event " + event.event_type + ": missing field data." + field);
    }
  }
  event.queue = contract->queue;
  return event;
}

}  // namespace herald::engine
