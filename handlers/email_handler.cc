#include "handlers/email_handler.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "handlers/email_message.h"
#include "handlers/event.h"
#include "handlers/handler_run.h"

namespace herald::handlers {
namespace {

constexpr std::string_view kChannel = "email";

std::string DomainOf(const std::string& address) {
  const std::size_t at = address.rfind('@');
  return at == std::string::npos ? "herald.local" : address.substr(at + 1);
}

}  // namespace

struct EmailHandler::Delivery {
  SmtpResult::Kind kind = SmtpResult::Kind::kTransient;
  std::string detail;
};

EmailHandler::EmailHandler(EmailHandlerOptions options, HandlerDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      logger_(deps_.logger),
      prefs_(deps_.records),
      log_(deps_.records, deps_.clock),
      smtp_(static_cast<const SmtpOptions&>(options_.smtp)) {}

EmailHandler::Delivery EmailHandler::WriteOutbox(const std::string& event_id,
                                                 const std::string& message) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir(options_.outbox_dir);
  fs::create_directories(dir, ec);
  if (ec) {
    return {SmtpResult::Kind::kTransient,
            "cannot create outbox " + dir.string() + ": " + ec.message()};
  }
  // One file per event, written under a temporary name and renamed, so a reader never sees half
  // a message and a retry replaces rather than duplicates.
  const std::string name = SafeName(event_id) + ".eml";
  const fs::path path = dir / name;
  const fs::path tmp = dir / ("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(message.data(), static_cast<std::streamsize>(message.size()));
    out.flush();
    if (!out) return {SmtpResult::Kind::kTransient, "cannot write " + tmp.string()};
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    return {SmtpResult::Kind::kTransient, "cannot rename " + tmp.string() + ": " + ec.message()};
  }
  return {SmtpResult::Kind::kSent, "outbox " + path.string()};
}

engine::HandlerOutcome EmailHandler::Run(const engine::HandlerJob& job) {
  using engine::HandlerOutcome;
  static constexpr TemplateKind kKinds[] = {TemplateKind::kEmailSubject, TemplateKind::kEmailBody};
  const std::shared_ptr<const TemplateSet> current = deps_.templates->current();
  const TemplateSet& templates = *current;
  auto run = OpenHandlerRun(job.payload, templates,
                            {.handler = "email handler",
                             .missing = "no email templates",
                             .kinds = kKinds,
                             .of = TemplateNeed::Of::kAll});
  if (!run.ok()) return HandlerOutcome::Permanent(run.status().message());
  const Event& event = run->event;
  const std::string& user = run->user;
  auto to = RequireField(event, "userEmail");
  if (!to.ok()) return HandlerOutcome::Permanent(to.status().message());
  if (!IsPlausibleAddress(*to)) {
    return HandlerOutcome::Permanent("event " + event.id + ": invalid data.userEmail '" + *to +
                                     "'");
  }

  auto sent = log_.AlreadySent(event.id, kChannel);
  if (!sent.ok()) return HandlerOutcome::Failure(sent.status().message());
  if (*sent) return HandlerOutcome::Success("duplicate: already sent");

  DeliveryRecord record;
  record.user = user;
  record.channel = std::string(kChannel);
  record.event_id = event.id;
  record.event_type = event.type;
  record.attempts = job.attempts_made;

  auto enabled = prefs_.Enabled(user, Channel::kEmail);
  if (!enabled.ok()) return HandlerOutcome::Failure(enabled.status().message());
  if (!*enabled) {
    record.status = DeliveryStatus::kSkipped;
    record.detail = "user " + user + " turned off email";
    auto stored = log_.Record(record);
    if (!stored.ok()) return HandlerOutcome::Failure(stored.status().message());
    logger_->info("emails: {} {} skipped: {}", event.type, event.id, record.detail);
    return HandlerOutcome::Success("skipped: " + record.detail);
  }

  auto subject = templates.Render(event.type, TemplateKind::kEmailSubject, event);
  if (!subject.ok()) return HandlerOutcome::Permanent(subject.status().message());
  auto body = templates.Render(event.type, TemplateKind::kEmailBody, event);
  if (!body.ok()) return HandlerOutcome::Permanent(body.status().message());

  const std::string from_address = AddressOf(options_.smtp.from);
  EmailMessage message;
  message.from = options_.smtp.from;
  message.to = *to;
  message.subject = *subject;
  message.body = *body;
  message.message_id = SafeName(event.id) + ".email@" + DomainOf(from_address);
  message.date_ms = deps_.clock->NowMs();
  message.extra_headers = {{"X-Herald-Event-Id", event.id}, {"X-Herald-Event-Type", event.type}};
  const std::string text = BuildRfc5322(message);

  Delivery delivery;
  if (options_.smtp.host.empty()) {
    delivery = WriteOutbox(event.id, text);
  } else {
    SmtpResult result = smtp_.Send(SmtpEnvelope{from_address, {*to}, text}, job.deadline, job.stop);
    delivery = {result.kind, result.detail};
    if (result.sent()) {
      delivery.detail = "smtp " + options_.smtp.host + ":" + std::to_string(options_.smtp.port) +
                        ": " + result.detail;
    }
  }

  record.detail = delivery.detail;
  record.status =
      delivery.kind == SmtpResult::Kind::kSent ? DeliveryStatus::kSent : DeliveryStatus::kFailed;
  auto stored = log_.Record(record);
  if (delivery.kind == SmtpResult::Kind::kSent) {
    logger_->info("emails: {} {} sent to {} ({})", event.type, event.id, *to, delivery.detail);
    std::string value = "sent: email to " + *to + " (" + delivery.detail + ")";
    if (!stored.ok()) {
      // The message is out: failing the attempt would send it again. Report, don't retry.
      logger_->error("emails: {} sent but not recorded: {}", event.id, stored.status().message());
      value += "; not recorded: " + stored.status().message();
    }
    return HandlerOutcome::Success(std::move(value));
  }
  if (!stored.ok()) {
    logger_->warn("emails: {} failure not recorded: {}", event.id, stored.status().message());
  }
  logger_->warn("emails: {} {} attempt {} failed: {}", event.type, event.id, job.attempts_made,
                delivery.detail);
  if (delivery.kind == SmtpResult::Kind::kPermanent) {
    return HandlerOutcome::Permanent(delivery.detail);
  }
  return HandlerOutcome::Failure(delivery.detail);
}

}  // namespace herald::handlers
