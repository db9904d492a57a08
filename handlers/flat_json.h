// FlatObject: a JSON object read one level deep, for event `data` and for the records the
// handlers keep. Strings are unescaped; numbers, booleans and null keep their JSON text; nested
// objects and arrays keep their raw JSON text. Parsed with simdjson's On-Demand API; no
// exception leaves ParseFlatObject.
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace herald::handlers {

struct JsonField {
  enum class Kind : std::uint8_t { kString, kNumber, kBool, kNull, kObject, kArray };
  Kind kind = Kind::kString;
  // The unescaped string for kString; the JSON text otherwise ("42", "true", "{...}").
  std::string text;
};

using FlatObject = std::map<std::string, JsonField, std::less<>>;

// Parses `json`, which must be an object. InvalidArgument names the problem ("invalid JSON:
// ...", "expected a JSON object").
Result<FlatObject> ParseFlatObject(std::string_view json);

// The text of `key`, or "" when absent (null also reads as "").
std::string FieldText(const FlatObject& object, std::string_view key);
// The integer value of `key`, or `fallback` when absent or not an integer.
std::int64_t FieldInt(const FlatObject& object, std::string_view key, std::int64_t fallback = 0);

}  // namespace herald::handlers
