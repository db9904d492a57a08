// The opening every handler's run shares: the job's payload parsed as an event, the handler's
// templates checked for its type, and data.userId read and checked. What fails here fails for
// good (a retry would read the same payload), so a handler answers it with a permanent
// failure.
//
// Thread safety: free function over plain values.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/handler.h"
#include "handlers/event.h"
#include "handlers/http_client.h"
#include "handlers/templates.h"

namespace herald::handlers {

// What a handler's run starts from.
struct HandlerRun {
  Event event;
  std::string user;  // data.userId, usable as a record key
};

// Which templates a handler needs for an event type before it can run.
struct TemplateNeed {
  std::string_view handler;             // "email handler", for the error
  std::string_view missing;             // "no email templates", for the error
  std::span<const TemplateKind> kinds;  // a static array of the handler's

  enum class Of : unsigned char { kAll, kAny } of = Of::kAll;
};

// Parses `payload` and checks it against `need`. InvalidArgument naming the problem: the
// event's own errors (ParseEvent), "<handler>: unknown event type '<type>' (<missing>)",
// "event <type> <id>: missing field data.userId", "invalid data.userId".
Result<HandlerRun> OpenHandlerRun(std::string_view payload, const TemplateSet& templates,
                                  const TemplateNeed& need);

// A failed attempt for a webhook's non-2xx `response`: when it is a 429 or 503 with
// Retry-After, the next attempt is due when the receiver asked; otherwise the queue's backoff.
engine::HandlerOutcome WebhookFailure(std::string error, const HttpResponse& response);

}  // namespace herald::handlers
