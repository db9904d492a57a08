// EngineConfig: queues, their policies and the event routing table, from built-in defaults
// overridden by the `[queues.*]`, `[events.*]` and `[engine]` tables of the TOML file.
//
//   [engine]               shutdown_grace_ms = 10000, handler_grace_ms = 5000,
//                          completed_retention = 1000,
//                          event_queue_capacity = 65536
//   [queues.emails]        attempts, backoff = "fixed"|"exponential", backoff_delay_ms,
//                          concurrency, rate_limit = { max, duration_ms }, timeout_ms, lease_ms
//   [events."x.y"]         queue = "emails", required = ["bookingId", ...]
//
// Thread safety: plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/event_router.h"
#include "engine/queue_policy.h"

namespace herald::engine {

struct EngineConfig {
  // Queue policies; queues named by an event route but absent here get a default policy.
  // Default: DefaultQueuePolicies().
  std::vector<QueuePolicy> queues = DefaultQueuePolicies();
  // Default: DefaultEventContracts().
  std::vector<EventContract> events = DefaultEventContracts();
  // Worker threads running handlers; 0 leaves every job to remote workers. Default: 5.
  std::uint32_t workers = 5;
  // How long shutdown waits for running handlers, and then as long again for the job events
  // still queued (see JobEventBus). Default: 10000.
  std::int64_t shutdown_grace_ms = 10000;
  // How long past its queue's timeout a local handler may hold its job before the job's lease
  // ends: the job then goes back (a stalled attempt) and its worker thread is replaced, so that
  // a handler frozen for good costs the pool no thread. Default: 5000.
  std::int64_t handler_grace_ms = 5000;
  // Completed jobs kept per queue. Default: 1000.
  std::uint32_t completed_retention = 1000;
  // Queues made on demand (a client's ADDJOB, GETJOB or EMIT naming a new one), at most; a
  // queue beyond is refused. Queues of the config's policies and event routes are not counted
  // against it. Each queue is a column family of the embedded store: the bound keeps a client
  // that names queue after queue from growing memory and start-up without end.
  std::uint32_t max_queues = 256;
  // Job events that may wait for the subscribers' thread; more are dropped and counted (see
  // JobEventBus). From 1 to 16777216. Default: 65536.
  std::uint32_t event_queue_capacity = 65536;
  // Run the scheduler on its own thread; tests that drive it by hand turn this off.
  // Default: true.
  bool scheduler_thread = true;
};

// Applies the TOML file's engine tables over `config`. InvalidArgument names file, key and
// problem (e.g. "herald.toml: queues.emails.attempts must be >= 1").
Status LoadEngineConfig(const std::string& path, EngineConfig* config);
// The same from TOML text (tests, and embedded defaults).
Status LoadEngineConfigText(std::string_view toml_text, const std::string& source_name,
                            EngineConfig* config);

// Finds a policy by queue name; nullptr when absent.
const QueuePolicy* FindPolicy(const EngineConfig& config, std::string_view queue);

}  // namespace herald::engine
