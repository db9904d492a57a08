#include "engine/toml_values.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace herald::engine {
namespace {

Status Wrong(const std::string& where, std::string_view key, const std::string& problem) {
  return Status::InvalidArgument(where + "." + std::string(key) + " " + problem);
}

}  // namespace

Status ReadTomlInt(const toml::table& table, std::string_view key, const std::string& where,
                   std::int64_t min, std::int64_t max, std::int64_t* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  // Integers only: toml++ would convert a float (25e25) to an integer without a range check.
  std::optional<std::int64_t> value;
  if (node->is_integer()) value = node->value<std::int64_t>();
  if (!value || *value < min || *value > max) {
    return Wrong(where, key,
                 "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *out = *value;
  return Status::Ok();
}

Status ReadTomlString(const toml::table& table, std::string_view key, const std::string& where,
                      std::string* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<std::string>();
  if (!value) return Wrong(where, key, "must be a string");
  *out = *value;
  return Status::Ok();
}

Status ReadTomlBool(const toml::table& table, std::string_view key, const std::string& where,
                    bool* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<bool>();
  if (!value) return Wrong(where, key, "must be true/false");
  *out = *value;
  return Status::Ok();
}

Result<toml::table> ParseToml(std::string_view text, const std::string& source_name) {
  // Debian's toml++ is built with exceptions; they stop here.
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(source_name + ":" + std::to_string(err.source().begin.line) +
                                   ": " + std::string(err.description()));
  }
}

Result<toml::table> ParseTomlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseToml(text.str(), path);
}

}  // namespace herald::engine
