#include "tools/herald/config.h"

#include <toml++/toml.h>

#include <array>
#include <limits>
#include <optional>
#include <string_view>

#include "engine/toml_values.h"
#include "net/server_options.h"
#include "storage/postgres/postgres_store.h"

namespace herald::tools {
namespace {

using engine::ReadTomlBool;
using engine::ReadTomlString;

// An unsigned setting from 0 to T's maximum. Its message names no range ("must be an integer
// in range"), as [server] settings always have.
template <typename T>
Status ReadInt(const toml::table& server, std::string_view key, const std::string& where, T* out) {
  if (engine::ReadTomlInt(server, key, where, 0, std::numeric_limits<T>::max(), out).ok()) {
    return Status::Ok();
  }
  return Status::InvalidArgument(where + "." + std::string(key) + " must be an integer in range");
}

// [[store.clusters]] (name, conninfo) and [store.queues] (queue = cluster name).
Status ReadClusters(const toml::table& store, const std::string& at, HeraldConfig* config) {
  if (const toml::node* clusters = store.get("clusters")) {
    const toml::array* list = clusters->as_array();
    if (list == nullptr) {
      return Status::InvalidArgument(at +
                                     ".clusters must be an array of tables ([[store.clusters]])");
    }
    config->store_clusters.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string where = at + ".clusters[" + std::to_string(i) + "]";
      const toml::table* entry = list->get(i)->as_table();
      if (entry == nullptr) return Status::InvalidArgument(where + " must be a table");
      HeraldConfig::StoreCluster cluster;
      HERALD_RETURN_IF_ERROR(ReadTomlString(*entry, "name", where, &cluster.name));
      HERALD_RETURN_IF_ERROR(ReadTomlString(*entry, "conninfo", where, &cluster.conninfo));
      for (const auto& [key, value] : *entry) {
        if (key.str() != "name" && key.str() != "conninfo") {
          return Status::InvalidArgument(where + ": unknown key '" + std::string(key.str()) +
                                         "' (name and conninfo)");
        }
      }
      config->store_clusters.push_back(std::move(cluster));
    }
  }
  if (const toml::node* queues = store.get("queues")) {
    const toml::table* map = queues->as_table();
    if (map == nullptr) return Status::InvalidArgument(at + ".queues must be a table");
    for (const auto& [queue, cluster] : *map) {
      const std::optional<std::string> name = cluster.value<std::string>();
      if (!name) {
        return Status::InvalidArgument(at + ".queues." + std::string(queue.str()) +
                                       " must be a cluster's name (a string)");
      }
      config->store_queues[std::string(queue.str())] = *name;
    }
  }
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
  if (const toml::table* store = parsed["store"].as_table()) {
    const std::string at = path + ": store";
    HERALD_RETURN_IF_ERROR(ReadTomlString(*store, "backend", at, &config->store_backend));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*store, "conninfo", at, &config->store_conninfo));
    HERALD_RETURN_IF_ERROR(ReadTomlString(*store, "node", at, &config->store_node));
    HERALD_RETURN_IF_ERROR(ReadInt(*store, "connections", at, &config->store_connections));
    HERALD_RETURN_IF_ERROR(ReadInt(*store, "heartbeat_ms", at, &config->store_heartbeat_ms));
    HERALD_RETURN_IF_ERROR(ReadInt(*store, "node_timeout_ms", at, &config->store_node_timeout_ms));
    HERALD_RETURN_IF_ERROR(ReadClusters(*store, at, config));
  }
  const toml::table* server = parsed["server"].as_table();
  if (server == nullptr) return Status::Ok();
  const std::string where = path + ": server";
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "data_dir", where, &config->data_dir));
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "bind", where, &config->bind));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "port", where, &config->port));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "http_port", where, &config->http_port));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "workers", where, &config->workers));
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "fsync", where, &config->fsync));
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "log_level", where, &config->log_level));
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "log_format", where, &config->log_format));
  HERALD_RETURN_IF_ERROR(ReadTomlString(*server, "requirepass", where, &config->requirepass));
  HERALD_RETURN_IF_ERROR(
      ReadTomlString(*server, "readonly_password", where, &config->readonly_password));
  HERALD_RETURN_IF_ERROR(ReadInt(*server, "timeout", where, &config->timeout_s));
  HERALD_RETURN_IF_ERROR(ReadTomlBool(*server, "protected_mode", where, &config->protected_mode));
  HERALD_RETURN_IF_ERROR(ReadTomlBool(*server, "mock_events", where, &config->mock_events));
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
  if (config.log_format != "text" && config.log_format != "json") {
    return Status::InvalidArgument("log_format must be text or json, not '" + config.log_format +
                                   "'");
  }
  if (config.workers > 1024) {
    return Status::InvalidArgument("workers must be between 0 and 1024");
  }
  if (config.timeout_s > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
    return Status::InvalidArgument("timeout must be between 0 and 2147483647 seconds");
  }
  if (config.data_dir.empty()) return Status::InvalidArgument("data dir must not be empty");
  if (config.store_backend != "embedded" && config.store_backend != "postgres") {
    return Status::InvalidArgument("store backend must be embedded or postgres, not '" +
                                   config.store_backend + "'");
  }
  if (config.store_backend == "postgres") {
    if (config.store_conninfo.empty() && config.store_clusters.empty()) {
      return Status::InvalidArgument(
          "the postgres store backend needs store.conninfo (or --store-conninfo)");
    }
    if (!config.store_conninfo.empty() && !config.store_clusters.empty()) {
      return Status::InvalidArgument(
          "store.conninfo (or --store-conninfo) and store.clusters both name the database: "
          "give one (a single cluster, or the map)");
    }
    if (!config.store_queues.empty() && config.store_clusters.empty()) {
      return Status::InvalidArgument(
          "store.queues places queues on store.clusters, which are "
          "not given");
    }
    if (!config.store_clusters.empty()) {
      HERALD_RETURN_IF_ERROR(storage::ValidateClusterMap(ClusterMapOf(config)).WithPrefix("store"));
    }
    if (config.store_node.empty()) return Status::InvalidArgument("store node must not be empty");
    if (config.store_connections < 1 || config.store_connections > 256) {
      return Status::InvalidArgument("store connections must be between 1 and 256");
    }
    if (config.store_heartbeat_ms < 10 ||
        config.store_node_timeout_ms < 2 * config.store_heartbeat_ms) {
      return Status::InvalidArgument(
          "store heartbeat_ms must be at least 10 and node_timeout_ms at least twice it");
    }
  }
  if (!config.readonly_password.empty() && config.requirepass.empty()) {
    return Status::InvalidArgument(
        "a read-only password needs requirepass too (without one, everything is open)");
  }
  if (!config.readonly_password.empty() && config.readonly_password == config.requirepass) {
    return Status::InvalidArgument("the read-only password must differ from requirepass");
  }
  if (!net::IsLoopbackBind(config.bind) && config.requirepass.empty() && config.protected_mode) {
    return Status::InvalidArgument(
        "refusing to bind " + config.bind +
        " without a password: set requirepass, or --protected-mode no to accept the risk");
  }
  return Status::Ok();
}

storage::PostgresClustersOptions ClusterMapOf(const HeraldConfig& config) {
  storage::PostgresClustersOptions map;
  if (config.store_clusters.empty()) {
    map.clusters.push_back(storage::PostgresCluster{"main", config.store_conninfo});
  }
  for (const HeraldConfig::StoreCluster& cluster : config.store_clusters) {
    map.clusters.push_back(storage::PostgresCluster{cluster.name, cluster.conninfo});
  }
  map.queues = config.store_queues;
  map.each.node = config.store_node;
  map.each.connections = config.store_connections;
  map.each.heartbeat_ms = config.store_heartbeat_ms;
  map.each.node_timeout_ms = config.store_node_timeout_ms;
  return map;
}

}  // namespace herald::tools
