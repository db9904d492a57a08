// Typed reads of optional values from a TOML table, shared by every config loader (engine,
// handlers, the herald binary) so that a wrong value reads the same wherever it is:
// "<where>.<key> must be an integer from 1 to 65535", "<where>.<key> must be a string",
// "<where>.<key> must be true/false". `where` names the table, usually with the file:
// "herald.toml: queues.emails".
//
// Each function leaves *out unchanged when the key is absent, and also when it fails.
//
// Thread safety: free functions without state.
#pragma once

#include <toml++/toml.h>

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace herald::engine {

// An integer from `min` to `max` (inclusive). InvalidArgument when it is not an integer or out
// of that range.
Status ReadTomlInt(const toml::table& table, std::string_view key, const std::string& where,
                   std::int64_t min, std::int64_t max, std::int64_t* out);

// The same into a narrower (or unsigned) integer; [min, max] must fit both T and int64.
template <std::integral T>
Status ReadTomlInt(const toml::table& table, std::string_view key, const std::string& where,
                   std::int64_t min, std::int64_t max, T* out) {
  std::int64_t value = static_cast<std::int64_t>(*out);
  HERALD_RETURN_IF_ERROR(ReadTomlInt(table, key, where, min, max, &value));
  *out = static_cast<T>(value);
  return Status::Ok();
}

// A string. InvalidArgument when the value is of another type.
Status ReadTomlString(const toml::table& table, std::string_view key, const std::string& where,
                      std::string* out);

// A boolean. InvalidArgument when the value is of another type.
Status ReadTomlBool(const toml::table& table, std::string_view key, const std::string& where,
                    bool* out);

// Parses TOML text; `source_name` names it in errors ("herald.toml:12: expected ..."), and in
// the source positions toml++ keeps. InvalidArgument on a syntax error.
Result<toml::table> ParseToml(std::string_view text, const std::string& source_name);

// ParseToml of a file's text. IOError when it cannot be read.
Result<toml::table> ParseTomlFile(const std::string& path);

}  // namespace herald::engine
