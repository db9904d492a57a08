#include "handlers/push_handler.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "handlers/event.h"
#include "handlers/handler_run.h"
#include "handlers/http_client.h"
#include "handlers/record_keys.h"

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

// FCM's data keys may not be these, nor start with "google" or "gcm".
bool IsReservedFcmKey(std::string_view key) {
  return key == "from" || key == "notification" || key == "message_type" ||
         key.rfind("google", 0) == 0 || key.rfind("gcm", 0) == 0;
}

}  // namespace

struct PushHandler::FcmOutcome {
  int sent = 0;           // devices that got the event in this attempt
  int earlier = 0;        // devices that got it in an earlier attempt
  int removed = 0;        // dead tokens removed
  int devices = 0;        // devices the user had
  std::string transient;  // the first transient failure
  std::int64_t retry_after_ms = -1;
  std::string permanent;  // the first refused message
  Status store = Status::Ok();
};

PushHandler::FcmOutcome PushHandler::PushToDevices(const engine::HandlerJob& job,
                                                   const std::string& event_id,
                                                   const std::string& user,
                                                   const FcmMessage& message) {
  FcmOutcome outcome;
  auto devices = devices_.List(user);
  if (!devices.ok()) {
    outcome.store = devices.status();
    return outcome;
  }
  outcome.devices = static_cast<int>(devices->size());
  for (const Device& device : *devices) {
    const std::string marker = keys::FcmSentKey(event_id, device.token);
    auto done = deps_.records->Get(engine::RecordKind::kSent, marker);
    if (!done.ok()) {
      outcome.store = done.status();
      return outcome;
    }
    if (done->has_value()) {
      ++outcome.earlier;
      continue;
    }
    const auto deadline =
        std::min(job.deadline, std::chrono::steady_clock::now() +
                                   std::chrono::milliseconds(options_.fcm_timeout_ms));
    FcmResult result = fcm_->Send(device.token, message, deadline, job.stop);
    switch (result.kind) {
      case FcmResult::Kind::kSent: {
        ++outcome.sent;
        Status stored = deps_.records->Put(engine::RecordKind::kSent, marker, result.detail);
        if (!stored.ok()) {
          logger_->error("notifications: {} pushed to a device of {} but not recorded: {}",
                         event_id, user, stored.message());
        }
        break;
      }
      case FcmResult::Kind::kUnregistered: {
        auto removed = devices_.Remove(user, device.token);
        if (!removed.ok()) {
          outcome.store = removed.status();
          return outcome;
        }
        ++outcome.removed;
        logger_->info("notifications: {} device token of {} removed: {}", event_id, user,
                      result.detail);
        break;
      }
      case FcmResult::Kind::kTransient:
        if (outcome.transient.empty()) {
          outcome.transient = result.detail;
          outcome.retry_after_ms = result.retry_after_ms;
        }
        break;
      case FcmResult::Kind::kPermanent:
        if (outcome.permanent.empty()) outcome.permanent = result.detail;
        break;
    }
    // A stop ends the attempt; the devices not tried yet are tried by the retry.
    if (job.stop.stop_requested()) {
      if (outcome.transient.empty()) outcome.transient = "shutting down";
      break;
    }
  }
  return outcome;
}

PushHandler::PushHandler(PushHandlerOptions options, HandlerDeps deps,
                         std::unique_ptr<FcmClient> fcm)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      logger_(deps_.logger),
      prefs_(deps_.records),
      log_(deps_.records, deps_.clock),
      inbox_(deps_.records),
      webhook_(PosterOptionsOf(options_.webhook, deps_.clock)),
      devices_(deps_.records),
      fcm_(std::move(fcm)) {}

engine::HandlerOutcome PushHandler::Run(const engine::HandlerJob& job) {
  using engine::HandlerOutcome;
  static constexpr TemplateKind kKinds[] = {TemplateKind::kPushBody, TemplateKind::kInAppText};
  const std::shared_ptr<const TemplateSet> current = deps_.templates->current();
  const TemplateSet& templates = *current;
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
  auto base_record = [&](const std::string& channel) {
    DeliveryRecord record;
    record.user = user;
    record.channel = channel;
    record.event_id = event.id;
    record.event_type = event.type;
    record.attempts = job.attempts_made;
    return record;
  };
  // Common part of the channels: duplicate and preference checks. `name` is recorded,
  // `channel` is the preference that gates it. Returns true when the channel still has to be
  // delivered; a non-OK status fails the attempt.
  auto needs_delivery = [&](Channel channel, const std::string& name) -> Result<bool> {
    HERALD_ASSIGN_OR_RETURN(bool sent, log_.AlreadySent(event.id, name));
    if (sent) {
      results.push_back({ChannelResult::Kind::kDuplicate, name, {}});
      return false;
    }
    HERALD_ASSIGN_OR_RETURN(bool enabled, prefs_.Enabled(user, channel));
    if (enabled) return true;
    DeliveryRecord record = base_record(name);
    record.status = DeliveryStatus::kSkipped;
    record.detail = "user " + user + " turned off " + std::string(ChannelName(channel));
    HERALD_ASSIGN_OR_RETURN(DeliveryRecord stored, log_.Record(record));
    (void)stored;
    logger_->info("notifications: {} {} {} skipped: {}", event.type, event.id, name, record.detail);
    results.push_back({ChannelResult::Kind::kSkipped, name, record.detail});
    return false;
  };
  auto record_failure = [&](const std::string& channel, const std::string& error) {
    DeliveryRecord record = base_record(channel);
    record.status = DeliveryStatus::kFailed;
    record.detail = error;
    auto stored = log_.Record(record);
    if (!stored.ok()) {
      logger_->warn("notifications: {} failure not recorded: {}", event.id,
                    stored.status().message());
    }
    logger_->warn("notifications: {} {} {} attempt {} failed: {}", event.type, event.id, channel,
                  job.attempts_made, error);
  };

  // In-app first: it cannot fail for outside reasons, so a flaky webhook never delays it.
  {
    auto needed = needs_delivery(Channel::kInApp, "inapp");
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
        record_failure("inapp", added.status().message());
        return HandlerOutcome::Failure("inapp: " + added.status().message());
      }
      DeliveryRecord record = base_record("inapp");
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
    auto needed = needs_delivery(Channel::kPush, "push");
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
        record_failure("push", response.status().message());
        return HandlerOutcome::Failure("push: " + response.status().message());
      }
      if (!response->ok()) {
        const std::string error =
            "webhook " + options_.webhook.url + " answered " + std::to_string(response->status);
        record_failure("push", error);
        return WebhookFailure("push: " + error, *response);
      }
      DeliveryRecord record = base_record("push");
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

  if (fcm_) {
    auto needed = needs_delivery(Channel::kPush, "fcm");
    if (!needed.ok()) return HandlerOutcome::Failure(needed.status().message());
    if (*needed) {
      FcmMessage message{
          *title, *push_body, {{"eventId", event.id}, {"eventType", event.type}, {"userId", user}}};
      for (const auto& [name, field] : event.data) {
        if (!IsReservedFcmKey(name) && name != "eventId" && name != "eventType" &&
            name != "userId") {
          message.data.emplace_back(name, field.text);
        }
      }
      FcmOutcome outcome = PushToDevices(job, event.id, user, message);
      if (!outcome.store.ok()) return HandlerOutcome::Failure("fcm: " + outcome.store.message());
      const int delivered = outcome.sent + outcome.earlier;
      const std::string removed =
          outcome.removed == 0 ? "" : ", removed " + std::to_string(outcome.removed) + " dead";
      if (!outcome.transient.empty()) {
        record_failure("fcm", outcome.transient);
        const std::string error = "fcm: " + outcome.transient;
        return outcome.retry_after_ms >= 0 ? HandlerOutcome::RetryIn(error, outcome.retry_after_ms)
                                           : HandlerOutcome::Failure(error);
      }
      if (delivered == 0 && !outcome.permanent.empty()) {
        record_failure("fcm", outcome.permanent);
        return HandlerOutcome::Permanent("fcm: " + outcome.permanent);
      }
      DeliveryRecord record = base_record("fcm");
      if (delivered > 0) {
        record.status = DeliveryStatus::kSent;
        record.detail = std::to_string(delivered) + (delivered == 1 ? " device" : " devices") +
                        removed +
                        (outcome.permanent.empty() ? "" : "; refused: " + outcome.permanent);
      } else {
        record.status = DeliveryStatus::kSkipped;
        record.detail = outcome.devices == 0 ? "user " + user + " has no device tokens"
                                             : "device tokens unregistered: removed " +
                                                   std::to_string(outcome.removed);
      }
      auto stored = log_.Record(record);
      if (!stored.ok()) {
        logger_->error("notifications: {} fcm outcome not recorded: {}", event.id,
                       stored.status().message());
      }
      logger_->info("notifications: {} {} fcm for {}: {}", event.type, event.id, user,
                    record.detail);
      results.push_back({record.status == DeliveryStatus::kSent ? ChannelResult::Kind::kSent
                                                                : ChannelResult::Kind::kSkipped,
                         "fcm", record.detail});
    }
  }

  bool all_duplicate = true, all_skipped = true;
  std::string summary;
  for (const ChannelResult& result : results) {
    all_duplicate = all_duplicate && result.kind == ChannelResult::Kind::kDuplicate;
    all_skipped = all_skipped && result.kind == ChannelResult::Kind::kSkipped;
    if (!summary.empty()) summary += "; ";
    switch (result.kind) {
      case ChannelResult::Kind::kSent:
        summary += result.channel + ": sent (" + result.detail + ")";
        break;
      case ChannelResult::Kind::kDuplicate:
        summary += result.channel + ": duplicate";
        break;
      case ChannelResult::Kind::kSkipped:
        summary += result.channel + ": skipped (" + result.detail + ")";
        break;
    }
  }
  if (all_duplicate) return HandlerOutcome::Success("duplicate: already sent");
  if (all_skipped) {
    // "skipped: user u-1 turned off inapp, push" or "...; fcm: user u-1 has no device tokens"
    const std::string turned_off = "user " + user + " turned off ";
    std::vector<std::string> off;
    std::string others;
    for (const ChannelResult& result : results) {
      if (result.detail.rfind(turned_off, 0) == 0) {
        const std::string pref = result.detail.substr(turned_off.size());
        if (std::find(off.begin(), off.end(), pref) == off.end()) off.push_back(pref);
      } else {
        others += (others.empty() ? "" : "; ") + result.channel + ": " + result.detail;
      }
    }
    std::string text;
    for (const std::string& pref : off) text += (text.empty() ? turned_off : ", ") + pref;
    if (!others.empty()) text += (text.empty() ? "" : "; ") + others;
    return HandlerOutcome::Success("skipped: " + text);
  }
  return HandlerOutcome::Success(std::move(summary));
}

}  // namespace herald::handlers
