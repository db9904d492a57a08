#include "net/http/json_body.h"

#include <simdjson.h>

#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <string>

namespace herald::net::http {
namespace {

namespace od = simdjson::ondemand;
namespace json = boost::json;

constexpr int kMaxDepth = 64;

// Where the parser stands in `text` (the end when it cannot say).
std::size_t Offset(const simdjson::padded_string& text, od::document& doc) {
  auto location = doc.current_location();
  if (location.error()) return text.size();
  return static_cast<std::size_t>(location.value_unsafe() - text.data());
}

simdjson::error_code Convert(od::value value, int depth, json::value* out);

simdjson::error_code ConvertObject(od::object object, int depth, json::value* out) {
  json::object& target = out->emplace_object();
  for (auto field : object) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key); err) return err;
    od::value child;
    if (auto err = field.value().get(child); err) return err;
    json::value converted;
    if (auto err = Convert(child, depth + 1, &converted); err) return err;
    target[key] = std::move(converted);  // a repeated key: the last one wins, as in JSON.parse
  }
  return simdjson::SUCCESS;
}

simdjson::error_code ConvertArray(od::array array, int depth, json::value* out) {
  json::array& target = out->emplace_array();
  for (auto element : array) {
    od::value child;
    if (auto err = element.get(child); err) return err;
    json::value converted;
    if (auto err = Convert(child, depth + 1, &converted); err) return err;
    target.push_back(std::move(converted));
  }
  return simdjson::SUCCESS;
}

simdjson::error_code ConvertNumber(od::value value, json::value* out) {
  od::number number;
  if (auto err = value.get_number().get(number); err) return err;
  switch (number.get_number_type()) {
    case od::number_type::signed_integer:
      *out = number.get_int64();
      break;
    case od::number_type::unsigned_integer:
      *out = number.get_uint64();
      break;
    default:
      *out = number.as_double();
      break;
  }
  return simdjson::SUCCESS;
}

simdjson::error_code Convert(od::value value, int depth, json::value* out) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = value.type().get(type); err) return err;
  switch (type) {
    case od::json_type::object: {
      od::object object;
      if (auto err = value.get_object().get(object); err) return err;
      return ConvertObject(object, depth, out);
    }
    case od::json_type::array: {
      od::array array;
      if (auto err = value.get_array().get(array); err) return err;
      return ConvertArray(array, depth, out);
    }
    case od::json_type::string: {
      std::string_view str;
      if (auto err = value.get_string().get(str); err) return err;
      *out = str;
      return simdjson::SUCCESS;
    }
    case od::json_type::number:
      return ConvertNumber(value, out);
    case od::json_type::boolean: {
      bool b = false;
      if (auto err = value.get_bool().get(b); err) return err;
      *out = b;
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null); err) return err;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      *out = nullptr;
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

void Write(const json::value& value, std::string* out) {
  switch (value.kind()) {
    case json::kind::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& field : value.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        *out += json::serialize(json::string_view(field.key()));
        out->push_back(':');
        Write(field.value(), out);
      }
      out->push_back('}');
      return;
    }
    case json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const json::value& element : value.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        Write(element, out);
      }
      out->push_back(']');
      return;
    }
    case json::kind::double_: {
      double d = value.get_double();
      char text[32];
      auto [end, ec] = std::to_chars(text, text + sizeof(text), d);
      if (ec != std::errc() || !std::isfinite(d)) {
        *out += json::serialize(value);
        return;
      }
      out->append(text, end);
      return;
    }
    default:
      *out += json::serialize(value);
  }
}

Status ErrorAt(std::size_t offset, simdjson::error_code err) {
  if (err == simdjson::DEPTH_ERROR) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxDepth) +
                                   " levels at byte " + std::to_string(offset));
  }
  return Status::InvalidArgument("invalid JSON at byte " + std::to_string(offset));
}

}  // namespace

std::string WriteJson(const json::value& value) {
  std::string out;
  Write(value, &out);
  return out;
}

Result<json::value> ParseJsonBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument("empty body: a JSON value is expected");
  }
  simdjson::padded_string text(body);
  thread_local od::parser parser;  // its buffers are allocated once per thread
  od::document doc;
  if (auto err = parser.iterate(text).get(doc); err) return ErrorAt(0, err);
  json::value out;
  // A scalar document is read through the document itself; anything else as a value.
  bool scalar = false;
  if (auto err = doc.is_scalar().get(scalar); err) return ErrorAt(Offset(text, doc), err);
  if (scalar) {
    od::json_type type;
    if (auto err = doc.type().get(type); err) return ErrorAt(Offset(text, doc), err);
    simdjson::error_code err = simdjson::SUCCESS;
    switch (type) {
      case od::json_type::string: {
        std::string_view str;
        err = doc.get_string().get(str);
        if (!err) out = str;
        break;
      }
      case od::json_type::number: {
        double d = 0;
        err = doc.get_double().get(d);
        if (!err) out = d;
        break;
      }
      case od::json_type::boolean: {
        bool b = false;
        err = doc.get_bool().get(b);
        if (!err) out = b;
        break;
      }
      case od::json_type::null: {
        bool is_null = false;
        err = doc.is_null().get(is_null);
        if (!err && !is_null) err = simdjson::N_ATOM_ERROR;
        if (!err) out = nullptr;
        break;
      }
      default:
        err = simdjson::INCORRECT_TYPE;
    }
    if (err) return ErrorAt(Offset(text, doc), err);
  } else {
    od::value root;
    if (auto err = doc.get_value().get(root); err) return ErrorAt(Offset(text, doc), err);
    if (auto err = Convert(root, 0, &out); err) return ErrorAt(Offset(text, doc), err);
  }
  // Anything but white space after the value is an error (simdjson reads only the value).
  auto location = doc.current_location();
  if (!location.error()) {
    const char* at = location.value_unsafe();
    std::string_view rest(at, static_cast<std::size_t>(text.data() + text.size() - at));
    if (rest.find_first_not_of(" \t\r\n") != std::string_view::npos) {
      return ErrorAt(static_cast<std::size_t>(at - text.data()), simdjson::TRAILING_CONTENT);
    }
  }
  return out;
}

}  // namespace herald::net::http
