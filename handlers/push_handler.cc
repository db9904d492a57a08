#include "handlers/push_handler.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <charconv>
#include <cstdlib>
#include <vector>

#include "handlers/event.h"
#include "handlers/handler_run.h"
#include "handlers/http_client.h"

namespace herald::handlers {
namespace {

// The event's data as JSON, numbers and booleans kept as such (nested values as their text).
boost::json::object DataJson(const FlatObject& data) {
  boost::json::object out;
  for (const auto& [name, field] : data) {
    switch (field.kind) {
      case JsonField::Kind::kNumber: {
        std::int64_t integer = 0;
        const char* end = field.text.data() + field.text.size();
        auto [ptr, ec] = std::from_chars(field.text.data(), end, integer);
        if (ec == std::errc() && ptr == end) {
          out[name] = integer;
        } else {
          out[name] = std::strtod(field.text.c_str(), nullptr);
        }
        break;
      }
      case JsonField::Kind::kBool:
        out[name] = field.text == "true";
        break;
      case JsonField::Kind::kNull:
        out[name] = nullptr;
        break;
      default:
        out[name] = field.text;
        break;
    }
  }
  return out;
}

// What happened on one channel, for the job's result text.
struct ChannelResult {
  enum class Kind : unsigned char { kSent, kDuplicate, kSkipped };
  Kind kind;
  std::string channel;
  std::string detail;
};

}  // namespace

PushHandler::PushHandler(PushHandlerOptions options, HandlerDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      logger_(deps_.logger ? deps_.logger : spdlog::default_logger()),
      prefs_(deps_.records),
      log_(deps_.records, deps_.clock),
      inbox_(deps_.records),
      webhook_(PosterOptionsOf(options_.webhook, deps_.clock)) {}

engine::HandlerOutcome PushHandler::Run(const engine::HandlerJob& job) {
  using engine::HandlerOutcome;
  static constexpr TemplateKind kKinds[] = {TemplateKind::kPushBody, TemplateKind::kInAppText};
  const TemplateSet& templates = *deps_.templates;
  auto run = OpenHandlerRun(job.payload, templates,
                            {.handler = "push handler",
                             .missing = "no push or in-app templates",
                             .kinds = kKinds,
                             .of = TemplateNeed::Of::kAny});
  if (!run.ok()) return HandlerOutcome::Permanent(run.status().message());
  const Event& event = run->event;
  const std::string& user = run->user;
  const bool has_push_body = templates.Has(event.type, TemplateKind::kPushBody);
  const bool has_inapp = templates.Has(event.type, TemplateKind::kInAppText);

  auto render = [&](TemplateKind kind) -> Result<std::string> {
    if (!templates.Has(event.type, kind)) return std::string();
    return templates.Render(event.type, kind, event);
  };
  auto title = render(TemplateKind::kPushTitle);
  if (!title.ok()) return HandlerOutcome::Permanent(title.status().message());
  auto push_body = render(has_push_body ? TemplateKind::kPushBody : TemplateKind::kInAppText);
  if (!push_body.ok()) return HandlerOutcome::Permanent(push_body.status().message());
  auto inapp_text = render(has_inapp ? TemplateKind::kInAppText : TemplateKind::kPushBody);
  if (!inapp_text.ok()) return HandlerOutcome::Permanent(inapp_text.status().message());

  std::vector<ChannelResult> results;
  auto base_record = [&](Channel channel) {
    DeliveryRecord record;
    record.user = user;
    record.channel = std::string(ChannelName(channel));
    record.event_id = event.id;
    record.event_type = event.type;
    record.attempts = job.attempts_made;
    return record;
  };
  // Common part of both channels: duplicate and preference checks. Returns true when the
  // channel still has to be delivered; a non-OK status fails the attempt.
  auto needs_delivery = [&](Channel channel) -> Result<bool> {
    const std::string name(ChannelName(channel));
    HERALD_ASSIGN_OR_RETURN(bool sent, log_.AlreadySent(event.id, name));
    if (sent) {
      results.push_back({ChannelResult::Kind::kDuplicate, name, {}});
      return false;
    }
    HERALD_ASSIGN_OR_RETURN(bool enabled, prefs_.Enabled(user, channel));
    if (enabled) return true;
    DeliveryRecord record = base_record(channel);
    record.status = DeliveryStatus::kSkipped;
    record.detail = "user " + user + " turned off " + name;
    HERALD_ASSIGN_OR_RETURN(DeliveryRecord stored, log_.Record(record));
    (void)stored;
    logger_->info("notifications: {} {} {} skipped: {}", event.type, event.id, name, record.detail);
    results.push_back({ChannelResult::Kind::kSkipped, name, record.detail});
    return false;
  };
  auto record_failure = [&](Channel channel, const std::string& error) {
    DeliveryRecord record = base_record(channel);
    record.status = DeliveryStatus::kFailed;
    record.detail = error;
    auto stored = log_.Record(record);
    if (!stored.ok()) {
      logger_->warn("notifications: {} failure not recorded: {}", event.id,
                    stored.status().message());
    }
    logger_->warn("notifications: {} {} {} attempt {} failed: {}", event.type, event.id,
                  ChannelName(channel), job.attempts_made, error);
  };

  // In-app first: it cannot fail for outside reasons, so a flaky webhook never delays it.
  {
    auto needed = needs_delivery(Channel::kInApp);
    if (!needed.ok()) return HandlerOutcome::Failure(needed.status().message());
    if (*needed) {
      InboxEntry entry;
      entry.user = user;
      entry.event_id = event.id;
      entry.event_type = event.type;
      entry.title = *title;
      entry.text = *inapp_text;
      entry.created_ms = deps_.clock->NowMs();
      auto added = inbox_.Add(std::move(entry));
      if (!added.ok()) {
        record_failure(Channel::kInApp, added.status().message());
        return HandlerOutcome::Failure("inapp: " + added.status().message());
      }
      DeliveryRecord record = base_record(Channel::kInApp);
      record.status = DeliveryStatus::kSent;
      record.detail = "inbox";
      auto stored = log_.Record(record);
      // The inbox add is idempotent, so a failed record is safe to retry.
      if (!stored.ok()) return HandlerOutcome::Failure(stored.status().message());
      logger_->info("notifications: {} {} in-app notification for {}", event.type, event.id, user);
      results.push_back({ChannelResult::Kind::kSent, "inapp", "inbox"});
    }
  }

  if (!options_.webhook.url.empty()) {
    auto needed = needs_delivery(Channel::kPush);
    if (!needed.ok()) return HandlerOutcome::Failure(needed.status().message());
    if (*needed) {
      boost::json::object payload;
      payload["channel"] = "push";
      payload["eventId"] = event.id;
      payload["eventType"] = event.type;
      payload["userId"] = user;
      payload["title"] = *title;
      payload["body"] = *push_body;
      payload["timestamp"] = event.timestamp;
      payload["data"] = DataJson(event.data);
      const auto deadline =
          std::min(job.deadline, std::chrono::steady_clock::now() +
                                     std::chrono::milliseconds(options_.webhook.timeout_ms));
      auto response = webhook_.Post(options_.webhook.url, boost::json::serialize(payload),
                                    {{"Idempotency-Key", event.id}}, deadline, job.stop);
      if (!response.ok()) {
        record_failure(Channel::kPush, response.status().message());
        return HandlerOutcome::Failure("push: " + response.status().message());
      }
      if (!response->ok()) {
        const std::string error =
            "webhook " + options_.webhook.url + " answered " + std::to_string(response->status);
        record_failure(Channel::kPush, error);
        return WebhookFailure("push: " + error, *response);
      }
      DeliveryRecord record = base_record(Channel::kPush);
      record.status = DeliveryStatus::kSent;
      record.detail = "webhook HTTP " + std::to_string(response->status);
      auto stored = log_.Record(record);
      if (!stored.ok()) {
        logger_->error("notifications: {} push sent but not recorded: {}", event.id,
                       stored.status().message());
      }
      logger_->info("notifications: {} {} pushed to {} (HTTP {})", event.type, event.id, user,
                    response->status);
      results.push_back(
          {ChannelResult::Kind::kSent, "push", "HTTP " + std::to_string(response->status)});
    }
  }

  bool all_duplicate = true, all_skipped = true;
  std::string skipped_channels, summary;
  for (const ChannelResult& result : results) {
    all_duplicate = all_duplicate && result.kind == ChannelResult::Kind::kDuplicate;
    all_skipped = all_skipped && result.kind == ChannelResult::Kind::kSkipped;
    if (result.kind == ChannelResult::Kind::kSkipped) {
      skipped_channels += (skipped_channels.empty() ? "" : ", ") + result.channel;
    }
    if (!summary.empty()) summary += "; ";
    switch (result.kind) {
      case ChannelResult::Kind::kSent:
        summary += result.channel + ": sent (" + result.detail + ")";
        break;
      case ChannelResult::Kind::kDuplicate:
        summary += result.channel + ": duplicate";
        break;
      case ChannelResult::Kind::kSkipped:
        summary += result.channel + ": skipped";
        break;
    }
  }
  if (all_duplicate) return HandlerOutcome::Success("duplicate: already sent");
  if (all_skipped) {
    return HandlerOutcome::Success("skipped: user " + user + " turned off " + skipped_channels);
  }
  return HandlerOutcome::Success(std::move(summary));
}

}  // namespace herald::handlers
