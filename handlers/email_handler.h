// EmailHandler: the handler of the `emails` queue. Renders the email templates of the job's
// event type and delivers the message to data.userEmail, through the configured SMTP server
// (a local relay, or a provider over STARTTLS/TLS with AUTH; sessions are reused) or,
// when none is set, as an RFC 5322 .eml file in the outbox directory (<data-dir>/outbox/).
//
// Per job: unknown event type (no email templates) or a missing/invalid userId or userEmail ->
// Permanent; already sent for (event id, email) -> Success("duplicate: already sent"), nothing
// sent; user turned email off -> recorded as skipped, Success("skipped: user <id> turned off
// email"); otherwise sent and recorded. SMTP 4xx, timeouts and connection errors -> Failure
// (the queue's backoff applies); SMTP 5xx -> Permanent. Every outcome is in the DeliveryLog.
//
// The Message-ID is derived from the event id, so a receiving system can also recognise a
// message re-sent after a crash between sending and recording.
//
// Thread safety: thread-safe (Run is called from several workers at once).
#pragma once

#include <memory>
#include <string>

#include "engine/handler.h"
#include "handlers/delivery_log.h"
#include "handlers/handler_config.h"
#include "handlers/handler_deps.h"
#include "handlers/preferences.h"
#include "handlers/smtp_client.h"

namespace herald::handlers {

struct EmailHandlerOptions {
  // Server settings (TLS, AUTH); an empty host means the outbox. Default: outbox.
  SmtpRelayConfig smtp;
  // Where .eml files go without a relay. Required when smtp.host is "".
  std::string outbox_dir;
};

class EmailHandler final : public engine::Handler {
 public:
  EmailHandler(EmailHandlerOptions options, HandlerDeps deps);

  engine::HandlerOutcome Run(const engine::HandlerJob& job) override;

 private:
  struct Delivery;
  Delivery WriteOutbox(const std::string& event_id, const std::string& message);

  EmailHandlerOptions options_;
  HandlerDeps deps_;
  std::shared_ptr<spdlog::logger> logger_;
  Preferences prefs_;
  DeliveryLog log_;
  SmtpClient smtp_;
};

}  // namespace herald::handlers
