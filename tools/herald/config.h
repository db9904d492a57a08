// HeraldConfig: the settings of one herald process, from built-in defaults, then the TOML file
// (--config), then command-line flags, in that order of precedence (last wins).
//
// Thread safety: plain value, built once at start.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/postgres/postgres_store.h"

namespace herald::tools {

struct HeraldConfig {
  std::string config_file;          // Default: none
  std::string data_dir = "./data";  // Default: ./data
  std::string bind = "127.0.0.1";   // Default: loopback only
  std::uint16_t port = 6380;        // RESP. Default: 6380
  std::uint16_t http_port = 8080;   // HTTP. Default: 8080
  std::uint32_t workers = 5;        // handler threads. Default: 5
  std::string fsync = "everysec";   // always | everysec | no. Default: everysec
  std::string log_level = "info";   // trace|debug|info|warn|error|critical|off. Default: info
  std::string log_format = "text";  // text | json (one JSON object per line). Default: text
  std::string requirepass;          // Default: none
  std::string readonly_password;    // HTTP: reads everything, changes nothing. Default: none
  std::uint32_t timeout_s = 0;      // close clients idle this many s (0 = never). Default: 0
  bool protected_mode = true;       // refuse non-loopback bind without a password
  bool mock_events = false;         // POST /mock-events/*. Default: off
  // [store]: where the queues live. "embedded" (RocksDB in data_dir) or "postgres" (a
  // PostgreSQL database shared by every node that names it). Default: embedded
  std::string store_backend = "embedded";
  std::string store_conninfo;            // postgres: libpq connection string. Required there
  std::string store_node = "herald";     // postgres: this node's name, unique. Default: herald
  std::uint32_t store_connections = 16;  // postgres: connections to the database. Default: 16
  // postgres: heartbeat period, and how old a node's heartbeat is when its jobs are put back
  // (storage/postgres/postgres_store.h). Defaults: 1000 and 15000
  std::uint32_t store_heartbeat_ms = 1000;
  std::uint32_t store_node_timeout_ms = 15000;
  // postgres, several clusters instead of one conninfo ([[store.clusters]] name, conninfo), in
  // map order, and [store.queues] (queue = cluster name; the others by hash of their name):
  // OpenPostgresClusters in storage/postgres/postgres_store.h. Default: none
  struct StoreCluster {
    std::string name;
    std::string conninfo;
  };
  std::vector<StoreCluster> store_clusters;
  std::map<std::string, std::string, std::less<>> store_queues;
};

// Reads the [server] and [store] tables of a TOML file into `config`. InvalidArgument names the
// file, the key and the problem; IOError when the file cannot be read.
Status LoadConfigFile(const std::string& path, HeraldConfig* config);

// Checks values that the flags and file cannot check alone. InvalidArgument names the setting.
Status ValidateConfig(const HeraldConfig& config);

// The postgres backend's cluster map of `config` (one cluster "main" for store.conninfo),
// with the [store] settings every cluster's store gets.
storage::PostgresClustersOptions ClusterMapOf(const HeraldConfig& config);

}  // namespace herald::tools
