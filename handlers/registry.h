// BuildHandlers: the composition root's one call to get the notification handlers. Builds, from
// a HandlersConfig, one engine::Handler per configured queue (by default emails -> EmailHandler,
// notifications -> PushHandler, tickets -> TicketHandler), each wrapped in a FaultInjector
// when faults are configured for its queue. The caller registers them with the broker:
//
//   HERALD_ASSIGN_OR_RETURN(auto handlers, handlers::BuildHandlers(config, &broker->records(),
//                                                                  &broker->clock(), logger));
//   for (auto& [queue, handler] : handlers)
//     HERALD_RETURN_IF_ERROR(broker->RegisterHandler(queue, std::move(handler)));
//
// The map is built once and not changed afterwards (no global registry).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "engine/handler.h"
#include "engine/records.h"
#include "handlers/handler_config.h"

namespace spdlog {
class logger;
}

namespace herald::handlers {

using HandlerMap = std::map<std::string, std::unique_ptr<engine::Handler>, std::less<>>;

// `records` and `clock` must outlive the handlers; `clock` may be null (system clock), `logger`
// is required. InvalidArgument for an invalid config (a bad URL or
// address, an unknown handler kind, faults for a queue without handler, a template that does
// not parse); NotFound when templates_dir does not exist. `live_templates` (may be null)
// receives the templates the handlers share, for a config reload to replace.
Result<HandlerMap> BuildHandlers(const HandlersConfig& config, engine::Records* records,
                                 Clock* clock, std::shared_ptr<spdlog::logger> logger,
                                 std::shared_ptr<LiveTemplates>* live_templates = nullptr);

}  // namespace herald::handlers
