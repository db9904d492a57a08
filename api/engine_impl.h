// Engine::Impl: what a herald::Engine is made of (the store, the broker, the servers), and the
// internal way in for the `herald` server built on it (tools/), which configures the engine
// and the servers beyond what the public options say (event routing, the notification
// handlers, their commands and routes). Not installed; not part of the API.
//
// Thread safety: as Engine. The members are set at Open and, for `servers`, at StartServers.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

#include "api/servers.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "engine/broker.h"
#include "herald/engine.h"
#include "storage/store.h"

namespace herald {

struct Engine::Impl {
  std::shared_ptr<spdlog::logger> logger;
  SystemClock clock;
  storage::FsyncMode fsync = storage::FsyncMode::kEverysec;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<engine::Broker> broker;

  // Held shared by every call that uses the broker, exclusively by Close while it destroys
  // the broker and the store.
  std::shared_mutex life;
  Mutex mu;  // StartServers and Close
  std::unique_ptr<api::Servers> servers GUARDED_BY(mu);
  bool closed GUARDED_BY(mu) = false;
  bool close_result GUARDED_BY(mu) = true;
  // Queues with a handler. A mutex of its own: RegisterHandler holds `life` shared, and Close
  // holds `mu` while it waits for `life`.
  Mutex handlers_mu;
  std::set<std::string, std::less<>> handled GUARDED_BY(handlers_mu);
};

namespace api {

// Opens the store and creates the broker with settings of the engine's own vocabulary. `logger`
// null: spdlog's default logger.
Result<std::unique_ptr<Engine>> OpenEngine(storage::StoreOptions store_options,
                                           engine::EngineConfig engine_config,
                                           std::shared_ptr<spdlog::logger> logger);
// The same on a store opened already (another backend: storage/postgres/postgres_store.h).
Result<std::unique_ptr<Engine>> OpenEngineOn(std::unique_ptr<storage::Store> store,
                                             engine::EngineConfig engine_config,
                                             std::shared_ptr<spdlog::logger> logger);

// Engine::StartServers with the servers' full configuration.
Result<ServerPorts> StartServers(Engine* engine, ServersConfig config);

}  // namespace api
}  // namespace herald
