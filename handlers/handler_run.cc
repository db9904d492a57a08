#include "handlers/handler_run.h"

#include <algorithm>

namespace herald::handlers {

Result<HandlerRun> OpenHandlerRun(std::string_view payload, const TemplateSet& templates,
                                  const TemplateNeed& need) {
  HandlerRun run;
  HERALD_ASSIGN_OR_RETURN(run.event, ParseEvent(payload));
  const auto has = [&](TemplateKind kind) { return templates.Has(run.event.type, kind); };
  const bool handled = need.of == TemplateNeed::Of::kAll
                           ? std::all_of(need.kinds.begin(), need.kinds.end(), has)
                           : std::any_of(need.kinds.begin(), need.kinds.end(), has);
  if (!handled) {
    return Status::InvalidArgument(std::string(need.handler) + ": unknown event type '" +
                                   run.event.type + "' (" + std::string(need.missing) + ")");
  }
  HERALD_ASSIGN_OR_RETURN(run.user, RequireField(run.event, "userId"));
  if (!IsValidKeyId(run.user)) return Status::InvalidArgument("invalid data.userId");
  return run;
}

}  // namespace herald::handlers
