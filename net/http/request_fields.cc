#include "net/http/request_fields.h"

#include "net/http/api_json.h"
#include "net/http/json_body.h"

namespace herald::net::http {

namespace json = boost::json;

Result<json::object> BodyObject(const HttpRequest& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  HERALD_ASSIGN_OR_RETURN(json::value value, ParseJsonBody(request.body));
  if (!value.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  return std::move(value.get_object());
}

Result<std::optional<std::int64_t>> IntField(const json::object& object, std::string_view key,
                                             std::int64_t min, std::int64_t max) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<std::int64_t>();
  std::optional<std::int64_t> number;
  if (value->is_int64()) {
    number = value->get_int64();
  } else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(max)) {
    number = static_cast<std::int64_t>(value->get_uint64());
  } else if (value->is_double() &&
             value->get_double() ==
                 static_cast<double>(static_cast<std::int64_t>(value->get_double()))) {
    number = static_cast<std::int64_t>(value->get_double());
  }
  if (!number || *number < min || *number > max) {
    return Status::InvalidArgument(std::string(key) + " must be an integer from " +
                                   std::to_string(min) + " to " + std::to_string(max));
  }
  return number;
}

Result<std::optional<std::string>> StringField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) return Status::InvalidArgument(std::string(key) + " must be a string");
  return std::optional<std::string>(std::string(value->get_string()));
}

Result<std::optional<bool>> BoolField(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return std::optional<bool>();
  if (!value->is_bool())
    return Status::InvalidArgument(std::string(key) + " must be true or false");
  return std::optional<bool>(value->get_bool());
}

Result<std::int64_t> IntQuery(const HttpRequest& request, std::string_view key,
                              std::int64_t fallback, std::int64_t min, std::int64_t max) {
  std::optional<std::string_view> text = request.Query(key);
  if (!text || text->empty()) return fallback;
  std::optional<std::int64_t> value = ParseCount(*text);
  if (!value || *value < min || *value > max) {
    return Status::InvalidArgument(std::string(key) + " must be an integer from " +
                                   std::to_string(min) + " to " + std::to_string(max));
  }
  return *value;
}

Result<engine::JobState> StateNamed(std::string_view name) {
  auto state = engine::ParseJobState(name);
  if (!state.ok()) {
    return Status::InvalidArgument(
        "state must be one of waiting, active, delayed, completed, "
        "failed (not '" +
        std::string(name) + "')");
  }
  return *state;
}

}  // namespace herald::net::http
