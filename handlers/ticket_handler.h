// TicketHandler: the handler of the `tickets` queue. For payment.failed (any event type with a
// ticket_subject template) it opens a support ticket in the TicketStore: id, booking, payment,
// user, amount, reason, rendered subject and description, created time, status "open". The
// job's result is the ticket id. Creating is idempotent per event id: a retried job returns
// the ticket that exists.
//
// When a helpdesk URL is configured, a new ticket is also POSTed there as JSON (the fields
// above, Idempotency-Key: <event id>); a non-2xx answer, a timeout or a connection error fails
// the attempt (the ticket stays; the retry only re-posts; a 429 or 503 with Retry-After sets
// when). The post is recorded in the
// DeliveryLog under channel "helpdesk" and done once per event. User preferences do not apply
// to tickets.
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
#include "handlers/tickets.h"

namespace herald::handlers {

struct TicketHandlerOptions {
  // Where to POST new tickets (url, timeout for one call within the job's deadline, headers,
  // signing secret, TLS). Default: no URL (store only).
  WebhookConfig helpdesk;
};

class TicketHandler final : public engine::Handler {
 public:
  TicketHandler(TicketHandlerOptions options, HandlerDeps deps);

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override;

 private:
  TicketHandlerOptions options_;
  HandlerDeps deps_;
  std::shared_ptr<spdlog::logger> logger_;
  TicketStore tickets_;
  DeliveryLog log_;
  HttpPoster helpdesk_;
};

}  // namespace herald::handlers
