#include "handlers/flat_json.h"

#include <simdjson.h>

#include <charconv>

namespace herald::handlers {
namespace {

std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

Status JsonError(simdjson::error_code error) {
  return Status::InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(error));
}

}  // namespace

Result<FlatObject> ParseFlatObject(std::string_view json) {
  // On-Demand needs SIMDJSON_PADDING readable bytes past the end; copy into a padded buffer.
  simdjson::padded_string padded(json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (auto error = parser.iterate(padded).get(doc); error) return JsonError(error);
  simdjson::ondemand::object object;
  if (auto error = doc.get_object().get(object); error) {
    if (error == simdjson::INCORRECT_TYPE) {
      return Status::InvalidArgument("expected a JSON object");
    }
    return JsonError(error);
  }
  FlatObject out;
  for (auto member : object) {
    std::string_view key;
    if (auto error = member.unescaped_key().get(key); error) return JsonError(error);
    simdjson::ondemand::value value;
    if (auto error = member.value().get(value); error) return JsonError(error);
    simdjson::ondemand::json_type type;
    if (auto error = value.type().get(type); error) return JsonError(error);
    JsonField field;
    std::string_view text;
    switch (type) {
      case simdjson::ondemand::json_type::string:
        field.kind = JsonField::Kind::kString;
        if (auto error = value.get_string().get(text); error) return JsonError(error);
        break;
      case simdjson::ondemand::json_type::number:
        field.kind = JsonField::Kind::kNumber;
        // Validate the number, then keep its original text (no float rounding of amounts).
        if (auto error = value.get_number().error(); error) return JsonError(error);
        text = TrimRight(value.raw_json_token());
        break;
      case simdjson::ondemand::json_type::boolean: {
        field.kind = JsonField::Kind::kBool;
        bool b = false;
        if (auto error = value.get_bool().get(b); error) return JsonError(error);
        text = b ? "true" : "false";
        break;
      }
      case simdjson::ondemand::json_type::null: {
        field.kind = JsonField::Kind::kNull;
        // is_null() is a result: a token like "nul" is an error, not false (and converting
        // the error to bool would throw).
        bool is_null = false;
        if (auto error = value.is_null().get(is_null); error) return JsonError(error);
        if (!is_null) return Status::InvalidArgument("invalid JSON: bad null");
        text = "null";
        break;
      }
      case simdjson::ondemand::json_type::object: {
        field.kind = JsonField::Kind::kObject;
        simdjson::ondemand::object nested;
        if (auto error = value.get_object().get(nested); error) return JsonError(error);
        if (auto error = nested.raw_json().get(text); error) return JsonError(error);
        text = TrimRight(text);
        break;
      }
      case simdjson::ondemand::json_type::array: {
        field.kind = JsonField::Kind::kArray;
        simdjson::ondemand::array nested;
        if (auto error = value.get_array().get(nested); error) return JsonError(error);
        if (auto error = nested.raw_json().get(text); error) return JsonError(error);
        text = TrimRight(text);
        break;
      }
    }
    // Only raw tokens are trimmed: a string's own trailing spaces and newlines are its text.
    field.text = std::string(text);
    out.insert_or_assign(std::string(key), std::move(field));
  }
  // On-Demand checks the rest of the document lazily: make sure nothing follows the object.
  // (current_location() is OUT_OF_BOUNDS exactly when every token has been consumed.)
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Status::InvalidArgument("invalid JSON: trailing content");
  }
  return out;
}

std::string FieldText(const FlatObject& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->second.kind == JsonField::Kind::kNull) return {};
  return it->second.text;
}

std::int64_t FieldInt(const FlatObject& object, std::string_view key, std::int64_t fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->second.kind != JsonField::Kind::kNumber) return fallback;
  std::int64_t value = 0;
  const std::string& text = it->second.text;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return fallback;
  return value;
}

}  // namespace herald::handlers
