// PushHandler: the handler of the `notifications` queue (booking.reminder, payment.received).
// Each event becomes
//   * an in-app notification in the user's Inbox (channel "inapp"): always, so INBOX shows it;
//   * and, when a webhook URL is configured, a push: an HTTP POST of a JSON payload to the
//     webhook (channel "push"):
//       {"channel":"push","eventId":..,"eventType":..,"userId":..,"title":..,"body":..,
//        "timestamp":..,"data":{..the event's data..}}
//     with headers Idempotency-Key: <event id> and Content-Type: application/json.
//
// Texts: in-app title = push_title, text = inapp_text (push_body when absent); push title =
// push_title, body = push_body (inapp_text when absent). An event type with neither push_body
// nor inapp_text is unknown here -> Permanent.
//
// Each channel is handled on its own, like the email handler handles its one: already sent ->
// left alone; turned off by the user -> recorded as skipped; otherwise delivered and recorded.
// A non-2xx webhook answer, a timeout or a connection error is a failed attempt (Failure); the
// retry skips the channel that already succeeded. A 429 or 503 with Retry-After sets when the
// next attempt is due instead of the queue's backoff. When every channel was skipped the result
// is "skipped: user <id> turned off inapp, push"; when all were sent before, "duplicate:
// already sent".
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "engine/handler.h"
#include "handlers/delivery_log.h"
#include "handlers/handler_config.h"
#include "handlers/handler_deps.h"
#include "handlers/http_client.h"
#include "handlers/inbox.h"
#include "handlers/preferences.h"

namespace herald::handlers {

struct PushHandlerOptions {
  // Where to POST pushes (url, timeout for one call within the job's deadline, headers,
  // signing secret, TLS). Default: no URL (in-app inbox only).
  WebhookConfig webhook;
};

class PushHandler final : public engine::Handler {
 public:
  PushHandler(PushHandlerOptions options, HandlerDeps deps);

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override;

 private:
  PushHandlerOptions options_;
  HandlerDeps deps_;
  std::shared_ptr<spdlog::logger> logger_;
  Preferences prefs_;
  DeliveryLog log_;
  Inbox inbox_;
  HttpPoster webhook_;
};

}  // namespace herald::handlers
