// HandlersConfig: how the notification handlers deliver, from built-in defaults overridden by
// the `[handlers]` and `[templates]` tables of the TOML file. With no configuration at all,
// everything works offline: emails are written as .eml files into <data_dir>/outbox/, push
// notifications land in the in-app inbox, tickets in the store.
//
//   [handlers]
//   outbox_dir = "./data/outbox"     # where emails go when no SMTP relay is set
//   templates_dir = "./templates"    # <dir>/<event type>/<kind>.mustache overrides
//   queues = { emails = "email", notifications = "push", tickets = "ticket" }
//
//   [handlers.smtp]                  # set host to send through a relay instead of the outbox
//   host = "127.0.0.1"
//   port = 25
//   from = "Herald <noreply@herald.local>"
//   helo = "herald.local"
//   timeout_ms = 10000               # per SMTP step
//
//   [handlers.push]
//   webhook_url = "http://127.0.0.1:9000/push"   # also POST push notifications here
//   timeout_ms = 5000
//
//   [handlers.tickets]
//   helpdesk_url = "http://127.0.0.1:9000/tickets"   # also POST new tickets here
//   timeout_ms = 5000
//
//   [handlers.faults.emails]         # demo/test: fail attempts on purpose
//   fail_first = 2
//   fail_rate = 0.0
//   seed = 1
//
//   [templates."booking.created"]    # any template kind; see templates.h
//   email_subject = "Booking {{bookingId}} received"
//
// Unknown keys under [handlers] are refused, so a typo does not silently fall back to the
// outbox. [server].data_dir is read as the default data_dir; the composition root applies
// --data-dir after loading.
//
// Thread safety: plain value.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "handlers/fault_injection.h"
#include "handlers/templates.h"

namespace herald::handlers {

struct SmtpRelayConfig {
  // Relay host. Default: "" (no relay: emails are written to the outbox).
  std::string host;
  // Default: 25.
  std::uint16_t port = 25;
  // From header; its address is the envelope sender. Default: "Herald <noreply@herald.local>".
  std::string from = "Herald <noreply@herald.local>";
  // EHLO name. Default: "herald.local".
  std::string helo = "herald.local";
  // Per step (connect, each reply). Default: 10000.
  std::int64_t timeout_ms = 10000;
};

struct HandlersConfig {
  // The store's directory; the outbox defaults to <data_dir>/outbox. Default: "./data".
  std::string data_dir = "./data";
  // Directory for .eml files when no relay is set. Default: "" (<data_dir>/outbox).
  std::string outbox_dir;
  SmtpRelayConfig smtp;
  // Push webhook (http:// only). Default: "" (in-app inbox only).
  std::string push_webhook_url;
  // Default: 5000.
  std::int64_t push_timeout_ms = 5000;
  // Helpdesk webhook for new tickets (http:// only). Default: "" (tickets only in the store).
  std::string helpdesk_webhook_url;
  // Default: 5000.
  std::int64_t helpdesk_timeout_ms = 5000;
  // Queue name -> handler kind ("email", "push", "ticket").
  // Default: emails -> email, notifications -> push, tickets -> ticket.
  std::map<std::string, std::string> queues = {
      {"emails", "email"}, {"notifications", "push"}, {"tickets", "ticket"}};
  // Queue name -> faults to inject. Default: none.
  std::map<std::string, FaultInjection> faults;
  // Template files. Default: "" (none).
  std::string templates_dir;
  // [templates."<event type>"] tables. Default: none (built-ins only).
  TemplateOverrides templates;

  // outbox_dir, or <data_dir>/outbox when it is empty.
  std::string OutboxDir() const;
};

// Applies the TOML file's [handlers] and [templates] tables over `config`. InvalidArgument names
// file, key and problem ("herald.toml: handlers.smtp.port must be an integer from 1 to
// 65535"); IOError when the file cannot be read.
Status LoadHandlersConfig(const std::string& path, HandlersConfig* config);
// The same from TOML text.
Status LoadHandlersConfigText(std::string_view toml_text, const std::string& source_name,
                              HandlersConfig* config);

// Applies a command-line fault spec "<queue>:first=N[,rate=R][,seed=S]" (e.g. "emails:first=2",
// "notifications:rate=0.3,seed=7"). InvalidArgument names the problem.
Status ApplyFaultSpec(std::string_view spec, HandlersConfig* config);

// Checks what loading cannot see alone: URLs are http://, the From address is plausible,
// handler kinds are known. InvalidArgument names the key.
Status ValidateHandlersConfig(const HandlersConfig& config);

}  // namespace herald::handlers
