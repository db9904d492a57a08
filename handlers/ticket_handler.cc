#include "handlers/ticket_handler.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "handlers/event.h"
#include "handlers/handler_run.h"
#include "handlers/http_client.h"

namespace herald::handlers {
namespace {

constexpr std::string_view kChannel = "helpdesk";

}  // namespace

TicketHandler::TicketHandler(TicketHandlerOptions options, HandlerDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      logger_(deps_.logger),
      tickets_(deps_.records, deps_.clock),
      log_(deps_.records, deps_.clock),
      helpdesk_(PosterOptionsOf(options_.helpdesk, deps_.clock)) {}

engine::HandlerOutcome TicketHandler::Run(const engine::HandlerJob& job) {
  using engine::HandlerOutcome;
  static constexpr TemplateKind kKinds[] = {TemplateKind::kTicketSubject};
  const std::shared_ptr<const TemplateSet> current = deps_.templates->current();
  const TemplateSet& templates = *current;
  auto run = OpenHandlerRun(job.payload, templates,
                            {.handler = "ticket handler",
                             .missing = "no ticket template",
                             .kinds = kKinds,
                             .of = TemplateNeed::Of::kAll});
  if (!run.ok()) return HandlerOutcome::Permanent(run.status().message());
  const Event& event = run->event;
  const std::string& user = run->user;

  auto subject = templates.Render(event.type, TemplateKind::kTicketSubject, event);
  if (!subject.ok()) return HandlerOutcome::Permanent(subject.status().message());
  std::string description;
  if (templates.Has(event.type, TemplateKind::kTicketBody)) {
    auto body = templates.Render(event.type, TemplateKind::kTicketBody, event);
    if (!body.ok()) return HandlerOutcome::Permanent(body.status().message());
    description = *body;
  }

  Ticket draft;
  draft.event_id = event.id;
  draft.event_type = event.type;
  draft.booking_id = event.Field("bookingId");
  draft.payment_id = event.Field("paymentId");
  draft.user_id = user;
  draft.amount = event.Field("amount");
  draft.reason = event.Field("reason");
  draft.subject = *subject;
  draft.description = description;
  auto created = tickets_.Create(std::move(draft));
  if (!created.ok()) return HandlerOutcome::Failure(created.status().message());
  const Ticket& ticket = created->ticket;
  if (created->created) {
    logger_->info("tickets: {} {} opened ticket {}: {}", event.type, event.id, ticket.id,
                  ticket.subject);
  }

  if (!options_.helpdesk.url.empty()) {
    auto sent = log_.AlreadySent(event.id, kChannel);
    if (!sent.ok()) return HandlerOutcome::Failure(sent.status().message());
    if (!*sent) {
      DeliveryRecord record;
      record.user = user;
      record.channel = std::string(kChannel);
      record.event_id = event.id;
      record.event_type = event.type;
      record.attempts = job.attempts_made;
      const auto deadline =
          std::min(job.deadline, std::chrono::steady_clock::now() +
                                     std::chrono::milliseconds(options_.helpdesk.timeout_ms));
      auto response = helpdesk_.Post(options_.helpdesk.url, TicketToJson(ticket),
                                     {{"Idempotency-Key", event.id}}, deadline, job.stop);
      std::string error;
      if (!response.ok()) {
        error = response.status().message();
      } else if (!response->ok()) {
        error =
            "helpdesk " + options_.helpdesk.url + " answered " + std::to_string(response->status);
      }
      record.status = error.empty() ? DeliveryStatus::kSent : DeliveryStatus::kFailed;
      record.detail = error.empty() ? "helpdesk HTTP " + std::to_string(response->status) : error;
      auto stored = log_.Record(record);
      if (!stored.ok()) {
        logger_->warn("tickets: {} helpdesk post not recorded: {}", event.id,
                      stored.status().message());
      }
      if (!error.empty()) {
        logger_->warn("tickets: {} ticket {} attempt {}: {}", event.id, ticket.id,
                      job.attempts_made, error);
        const std::string text = "ticket " + ticket.id + " created; " + error;
        if (response.ok()) return WebhookFailure(text, *response);
        return HandlerOutcome::Failure(text);
      }
    }
  }
  return HandlerOutcome::Success(ticket.id);
}

}  // namespace herald::handlers
