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

engine::HandlerOutcome WebhookFailure(std::string error, const HttpResponse& response) {
  if ((response.status == 429 || response.status == 503) && response.retry_after_ms >= 0) {
    error += " (Retry-After: next attempt in " + std::to_string(response.retry_after_ms) + " ms)";
    return engine::HandlerOutcome::RetryIn(std::move(error), response.retry_after_ms);
  }
  return engine::HandlerOutcome::Failure(std::move(error));
}

}  // namespace herald::handlers
