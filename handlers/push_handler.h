// PushHandler: the handler of the `notifications` queue (booking.reminder, payment.received).
// Each event becomes
//   * an in-app notification in the user's Inbox (channel "inapp"): always, so INBOX shows it;
//   * and, when a webhook URL is configured, a push: an HTTP POST of a JSON payload to the
//     webhook (channel "push"):
//       {"channel":"push","eventId":..,"eventType":..,"userId":..,"title":..,"body":..,
//        "timestamp":..,"data":{..the event's data..}}
//     with headers Idempotency-Key: <event id> and Content-Type: application/json;
//   * and, when FCM is configured, a push to each of the user's devices (Devices) through
//     Firebase Cloud Messaging (channel "fcm", on when the user's push channel is): the
//     notification {title, body} and data {eventId, eventType, userId, and the event's data as
//     strings}. Each device that got the event is remembered, so a retry sends only to the
//     devices that failed. A token FCM calls dead (UNREGISTERED, 404) is removed from the user;
//     when no device is left to send to, the channel is skipped with the reason ("no device
//     tokens", "device tokens unregistered: removed 2"). A 429/5xx or network failure on any
//     device fails the attempt (Retry-After honoured); a refused message (400) is Permanent.
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
#include "handlers/devices.h"
#include "handlers/fcm_client.h"
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
  // Limit for one FCM request within the job's deadline. Default: 5000.
  std::int64_t fcm_timeout_ms = 5000;
};

class PushHandler final : public engine::Handler {
 public:
  // `fcm`: the FCM client (fcm_client.h), or null for no FCM channel.
  PushHandler(PushHandlerOptions options, HandlerDeps deps,
              std::unique_ptr<FcmClient> fcm = nullptr);

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override;

 private:
  struct FcmOutcome;
  // Pushes to every device of `user` that has not had the event yet.
  FcmOutcome PushToDevices(const engine::HandlerJob& job, const std::string& event_id,
                           const std::string& user, const FcmMessage& message);

  PushHandlerOptions options_;
  HandlerDeps deps_;
  std::shared_ptr<spdlog::logger> logger_;
  Preferences prefs_;
  DeliveryLog log_;
  Inbox inbox_;
  HttpPoster webhook_;
  Devices devices_;
  std::unique_ptr<FcmClient> fcm_;
};

}  // namespace herald::handlers
