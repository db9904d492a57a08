#include "tools/herald/config.h"

#include <toml++/toml.h>

#include <array>
#include <limits>
#include <string_view>

namespace herald::tools {
namespace {

template <typename T>
Status ReadInt(const toml::table& server, std::string_view key, T* out, const std::string& path) {
  const toml::node* node = server.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<std::int64_t>();
  if (!value || *value < 0 || static_cast<std::uint64_t>(*value) > std::numeric_limits<T>::max()) {
    return Status::InvalidArgument(path + ": server." + std::string(key) +
                                   " must be an integer in range");
  }
  *out = static_cast<T>(*value);
  return Status::Ok();
}

Status ReadString(const toml::table& server, std::string_view key, std::string* out,
                  const std::string& path) {
  const toml::node* node = server.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<std::string>();
  if (!value) {
    return Status::InvalidArgument(path + ": server." + std::string(key) + " must be a string");
  }
  *out = *value;
  return Status::Ok();
}

Status ReadBool(const toml::table& server, std::string_view key, bool* out,
                const std::string& path) {
  const toml::node* node = server.get(key);
  if (node == nullptr) return Status::Ok();
  auto value = node->value<bool>();
  if (!value) {
    return Status::InvalidArgument(path + ": server." + std::string(key) + " must be true/false");
  }
  *out = *value;
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, HeraldConfig* config) {
  // Debian's toml++ is built with exceptions; they stop here.
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return Status::InvalidArgument(path + ":" + std::to_string(err.source().begin.line) + ":" +
                                   std::to_string(err.source().begin.column) + ": " +
                                   std::string(err.description()));
  }
  config->config_file = path;
  const toml::table* server = parsed["server"].as_table();
  if (server == nullptr) return Status::Ok();
  HERALD_RETURN_IF_ERROR(ReadString(*server, "data_dir", &config->data_dir, path));
  HERALD_RETURN_IF_ERROR(ReadString(*server, "bind", &config->bind, path));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "port", &config->port, path));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "http_port", &config->http_port, path));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "workers", &config->workers, path));
  HERALD_RETURN_IF_ERROR(ReadString(*server, "fsync", &config->fsync, path));
  HERALD_RETURN_IF_ERROR(ReadString(*server, "log_level", &config->log_level, path));
  HERALD_RETURN_IF_ERROR(ReadString(*server, "requirepass", &config->requirepass, path));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "timeout", &config->timeout_s, path));
  HERALD_RETURN_IF_ERROR(ReadBool(*server, "protected_mode", &config->protected_mode, path));
  HERALD_RETURN_IF_ERROR(ReadBool(*server, "mock_events", &config->mock_events, path));
  return Status::Ok();
}

Status ValidateConfig(const HeraldConfig& config) {
  static constexpr std::array<std::string_view, 3> kFsync = {"always", "everysec", "no"};
  bool fsync_ok = false;
  for (std::string_view mode : kFsync) fsync_ok = fsync_ok || config.fsync == mode;
  if (!fsync_ok) {
    return Status::InvalidArgument("fsync must be always, everysec or no, not '" + config.fsync +
                                   "'");
  }
  if (config.workers > 1024) {
    return Status::InvalidArgument("workers must be between 0 and 1024");
  }
  if (config.timeout_s > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
    return Status::InvalidArgument("timeout must be between 0 and 2147483647 seconds");
  }
  if (config.data_dir.empty()) return Status::InvalidArgument("data dir must not be empty");
  const bool loopback = config.bind == "127.0.0.1" || config.bind == "::1" ||
                        config.bind == "localhost" || config.bind.rfind("127.", 0) == 0;
  if (!loopback && config.requirepass.empty() && config.protected_mode) {
    return Status::InvalidArgument(
        "refusing to bind " + config.bind +
        " without a password: set requirepass, or --protected-mode no to accept the risk");
  }
  return Status::Ok();
}

}  // namespace herald::tools
