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
//   [handlers.smtp]                  # set host to send through a server instead of the outbox
//   host = "email-smtp.eu-west-1.amazonaws.com"
//   port = 587
//   tls = "starttls"                 # none (default), starttls (587) or implicit (465)
//   username = "AKIA..."
//   password_env = "SMTP_PASSWORD"   # or password = "..." or password_file = "/run/secrets/x"
//   auth = "auto"                    # auto (default), plain or login
//   ca_file = ""                     # PEM CAs to trust; default: the system's store
//   insecure = false                 # true: no certificate check (logged as a warning)
//   idle_s = 30                      # an unused session is closed after this long
//   from = "Herald <noreply@herald.local>"
//   helo = "herald.local"
//   timeout_ms = 10000               # per SMTP step
//
//   [handlers.push]
//   webhook_url = "https://hooks.example.com/push"   # also POST push notifications here
//   timeout_ms = 5000
//   headers = { Authorization = { env = "PUSH_TOKEN" } }   # or a plain string value
//   secret_env = "PUSH_SECRET"       # HMAC-SHA256 signature headers (see http_client.h)
//   ca_file = ""
//   insecure = false
//
//   [handlers.fcm]                   # also push to the user's devices through Firebase (HTTP v1)
//   service_account_file = "/run/secrets/firebase.json"   # or service_account_env / = "{json}"
//   project_id = ""                  # default: the service account's
//   token_url = ""                   # default: the service account's token_uri
//   send_url = ""                    # default: FCM's v1 messages:send URL of the project
//   timeout_ms = 5000                # per request
//   ca_file = ""
//   insecure = false
//
//   [handlers.tickets]
//   helpdesk_url = "https://helpdesk.example.com/tickets"   # also POST new tickets here
//   timeout_ms = 5000                # headers, secret*, ca_file, insecure as for push
//
// Secrets (password, secret, service_account) are given as `<key>`, `<key>_env` (an environment
// variable's name) or `<key>_file` (a file whose content, without a final newline, is the
// secret); a header value as a string or as { env = "NAME" } / { file = "path" }. None of them
// is logged.
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
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "handlers/fault_injection.h"
#include "handlers/fcm_client.h"
#include "handlers/http_client.h"
#include "handlers/smtp_client.h"
#include "handlers/templates.h"

namespace herald::handlers {

// The SMTP server to send through (host, port, TLS, AUTH, timeouts: smtp_client.h, whose
// defaults apply, except the step timeout read as timeout_ms and the idle time as idle_s) and
// the From header. An empty host means no server: emails are written to the outbox.
struct SmtpRelayConfig : SmtpOptions {
  // From header; its address is the envelope sender. Default: "Herald <noreply@herald.local>".
  std::string from = "Herald <noreply@herald.local>";
};

// An outgoing webhook (push, helpdesk).
struct WebhookConfig {
  // http:// or https:// URL. Default: "" (none).
  std::string url;
  // Default: 5000.
  std::int64_t timeout_ms = 5000;
  // Extra headers (values may be secrets). Default: none.
  HttpHeaders headers;
  // HMAC-SHA256 signing key (a secret); empty: unsigned. Default: "".
  std::string secret;
  // Default: "" (the system's CA store).
  std::string ca_file;
  // Default: false.
  bool insecure = false;
};

// Firebase Cloud Messaging (fcm_client.h).
struct FcmConfig {
  // The service-account key JSON (a secret). Default: "" (no FCM).
  std::string service_account;
  // Default: "" (the service account's project_id).
  std::string project_id;
  // Default: "" (the service account's token_uri).
  std::string token_url;
  // Default: "" (FCM's, for the project).
  std::string send_url;
  // Per request (token, send), within the job's deadline. Default: 5000.
  std::int64_t timeout_ms = 5000;
  // Default: "" (the system's CA store).
  std::string ca_file;
  // Default: false.
  bool insecure = false;

  bool enabled() const { return !service_account.empty(); }
};

struct HandlersConfig {
  // The store's directory; the outbox defaults to <data_dir>/outbox. Default: "./data".
  std::string data_dir = "./data";
  // Directory for .eml files when no relay is set. Default: "" (<data_dir>/outbox).
  std::string outbox_dir;
  SmtpRelayConfig smtp;
  // Push webhook. Default: no URL (in-app inbox only).
  WebhookConfig push;
  // Push to devices through FCM. Default: off.
  FcmConfig fcm;
  // Helpdesk webhook for new tickets. Default: no URL (tickets only in the store).
  WebhookConfig helpdesk;
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

// The poster for `webhook`: its headers, secret and TLS settings; `clock` signs (may be null).
HttpPosterOptions PosterOptionsOf(const WebhookConfig& webhook, Clock* clock);

// The FCM client of `fcm` (which must be enabled); `clock` may be null. InvalidArgument names
// what is wrong with the service account or the URLs.
Result<std::unique_ptr<FcmClient>> FcmClientOf(const FcmConfig& fcm, Clock* clock);

// Applies a command-line fault spec "<queue>:first=N[,rate=R][,seed=S]" (e.g. "emails:first=2",
// "notifications:rate=0.3,seed=7"). InvalidArgument names the problem.
Status ApplyFaultSpec(std::string_view spec, HandlersConfig* config);

// Checks what loading cannot see alone: URLs are http:// or https://, the From address is
// plausible, handler kinds are known. InvalidArgument names the key.
Status ValidateHandlersConfig(const HandlersConfig& config);

}  // namespace herald::handlers
