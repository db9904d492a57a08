// HandlerDeps: what every notification handler borrows from the composition root.
//
// Thread safety: plain value; everything it points to is thread-safe or immutable.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

#include "common/clock.h"
#include "engine/records.h"
#include "handlers/templates.h"

namespace herald::handlers {

struct HandlerDeps {
  engine::Records* records = nullptr;        // must outlive the handler
  Clock* clock = nullptr;                    // must outlive the handler
  std::shared_ptr<LiveTemplates> templates;  // shared by the handlers, replaced on reload
  std::shared_ptr<spdlog::logger> logger = spdlog::default_logger();  // not null
};

}  // namespace herald::handlers
