#include "handlers/registry.h"

#include <spdlog/spdlog.h>

#include "handlers/email_handler.h"
#include "handlers/fault_injection.h"
#include "handlers/noop_handler.h"
#include "handlers/push_handler.h"
#include "handlers/ticket_handler.h"

namespace herald::handlers {

Result<HandlerMap> BuildHandlers(const HandlersConfig& config, engine::Records* records,
                                 Clock* clock, std::shared_ptr<spdlog::logger> logger,
                                 std::shared_ptr<LiveTemplates>* live_templates) {
  // Stateless, so one shared instance is not mutable global state.
  static SystemClock system_clock;
  if (records == nullptr) return Status::InvalidArgument("BuildHandlers needs records");
  HERALD_RETURN_IF_ERROR(ValidateHandlersConfig(config));
  if (logger == nullptr) return Status::InvalidArgument("BuildHandlers needs a logger");
  for (const auto& [queue, faults] : config.faults) {
    if (config.queues.find(queue) == config.queues.end()) {
      return Status::InvalidArgument("handlers.faults." + queue + ": no handler for queue '" +
                                     queue + "'");
    }
  }
  HERALD_ASSIGN_OR_RETURN(TemplateSet templates,
                          TemplateSet::Create(config.templates, config.templates_dir));
  HandlerDeps deps;
  deps.records = records;
  deps.clock = clock != nullptr ? clock : &system_clock;
  deps.templates = std::make_shared<LiveTemplates>(std::move(templates));
  if (live_templates != nullptr) *live_templates = deps.templates;
  deps.logger = logger;

  HandlerMap handlers;
  for (const auto& [queue, kind] : config.queues) {
    std::unique_ptr<engine::Handler> handler;
    std::string how;
    if (kind == "email") {
      EmailHandlerOptions options;
      options.smtp = config.smtp;
      options.outbox_dir = config.OutboxDir();
      how = config.smtp.host.empty()
                ? "outbox " + options.outbox_dir
                : "smtp " + config.smtp.host + ":" + std::to_string(config.smtp.port) +
                      (config.smtp.tls == SmtpTls::kStartTls   ? " STARTTLS"
                       : config.smtp.tls == SmtpTls::kImplicit ? " TLS"
                                                               : "") +
                      (config.smtp.username.empty() ? "" : " AUTH as " + config.smtp.username);
      if (!config.smtp.host.empty() && config.smtp.insecure) {
        logger->warn("handlers: {}: SMTP certificates are not verified (insecure = true)", queue);
      }
      if (!config.smtp.username.empty() && config.smtp.tls == SmtpTls::kNone) {
        logger->warn("handlers: {}: SMTP AUTH without TLS sends the password in clear", queue);
      }
      handler = std::make_unique<EmailHandler>(std::move(options), deps);
    } else if (kind == "push") {
      PushHandlerOptions options;
      options.webhook = config.push;
      how =
          config.push.url.empty() ? "in-app inbox" : "in-app inbox and webhook " + config.push.url;
      if (!config.push.url.empty() && config.push.insecure) {
        logger->warn("handlers: {}: webhook certificates are not verified (insecure = true)",
                     queue);
      }
      std::unique_ptr<FcmClient> fcm;
      if (config.fcm.enabled()) {
        auto client = FcmClientOf(config.fcm, deps.clock);
        if (!client.ok()) return client.status().WithPrefix("handlers.fcm");
        fcm = std::move(client).value();
        options.fcm_timeout_ms = config.fcm.timeout_ms;
        how += " and FCM project " + fcm->project_id();
        if (config.fcm.insecure) {
          logger->warn("handlers: {}: FCM certificates are not verified (insecure = true)", queue);
        }
      }
      handler = std::make_unique<PushHandler>(std::move(options), deps, std::move(fcm));
    } else if (kind == "ticket") {
      TicketHandlerOptions options;
      options.helpdesk = config.helpdesk;
      how = config.helpdesk.url.empty() ? "ticket store"
                                        : "ticket store and helpdesk " + config.helpdesk.url;
      if (!config.helpdesk.url.empty() && config.helpdesk.insecure) {
        logger->warn("handlers: {}: helpdesk certificates are not verified (insecure = true)",
                     queue);
      }
      handler = std::make_unique<TicketHandler>(std::move(options), deps);
    } else if (kind == "noop") {
      // Completes every job at once (benchmarks of the queue itself, and queues whose jobs
      // only need to be recorded).
      how = "completes every job, does nothing";
      handler = std::make_unique<NoopHandler>();
    } else {
      return Status::InvalidArgument("handlers.queues." + queue + ": unknown handler kind '" +
                                     kind + "'");
    }
    auto faults = config.faults.find(queue);
    if (faults != config.faults.end() && faults->second.enabled()) {
      logger->warn("handlers: {} fails on purpose: first {} attempts of each job, rate {}", queue,
                   faults->second.fail_first, faults->second.fail_rate);
      handler = std::make_unique<FaultInjector>(std::move(handler), faults->second);
    }
    logger->info("handlers: {} -> {} handler ({})", queue, kind, how);
    handlers.emplace(queue, std::move(handler));
  }
  return handlers;
}

}  // namespace herald::handlers
