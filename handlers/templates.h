// TemplateSet: the message texts, one Mustache template (kainjow-mustache) per event type and
// template kind: email subject and body, push title and body, in-app text, ticket subject and
// description.
//
// Built-in templates cover the six built-in event types: booking.created, booking.confirmed
// and booking.cancelled have email templates; booking.reminder and payment.received have push
// and in-app templates; payment.failed has ticket templates. A handler handles the event types
// for which its kinds exist, so a new event type needs only templates (and a route), no code.
//
// Overrides, later winning over earlier:
//   1. files <templates_dir>/<event type>/<kind>.mustache, e.g.
//      templates/booking.created/email_subject.mustache
//   2. config tables:  [templates."booking.created"]  email_subject = "Booking {{bookingId}}"
//
// Rendering sees the event's data fields by name (nested objects as dotted names:
// {{vehicle.plate}}) plus eventId, eventType and timestamp. Output is plain text: nothing is
// HTML-escaped.
//
// Thread safety: immutable after Create(); Render() may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "handlers/event.h"

namespace herald::handlers {

enum class TemplateKind : std::uint8_t {
  kEmailSubject = 0,
  kEmailBody = 1,
  kPushTitle = 2,
  kPushBody = 3,
  kInAppText = 4,
  kTicketSubject = 5,
  kTicketBody = 6,
};
inline constexpr std::size_t kTemplateKindCount = 7;

// "email_subject", "email_body", "push_title", "push_body", "inapp_text", "ticket_subject",
// "ticket_body".
std::string_view TemplateKindName(TemplateKind kind);
// InvalidArgument "unknown template kind 'x' (email_subject, ...)".
Result<TemplateKind> ParseTemplateKind(std::string_view name);

// Event type -> kind name -> Mustache source.
using TemplateOverrides = std::map<std::string, std::map<std::string, std::string>>;

class TemplateSet {
 public:
  // The built-in templates only.
  static TemplateSet BuiltIn();

  // Built-ins, then the files of `templates_dir` (skipped when ""), then `overrides`. Every
  // template is parsed and rendered once with sample data. InvalidArgument names the event
  // type, the kind and the problem (an unknown kind, an unreadable file, a Mustache syntax
  // error); NotFound when `templates_dir` does not exist.
  static Result<TemplateSet> Create(const TemplateOverrides& overrides,
                                    const std::string& templates_dir);

  bool Has(std::string_view event_type, TemplateKind kind) const;

  // Renders the template of (event type, kind) with `event`. NotFound "no <kind> template for
  // event type '<type>'"; InvalidArgument for a render error.
  Result<std::string> Render(std::string_view event_type, TemplateKind kind,
                             const Event& event) const;

  // The source of a template; nullopt when absent.
  std::optional<std::string> Source(std::string_view event_type, TemplateKind kind) const;

  // Event types with at least one template, sorted.
  std::vector<std::string> EventTypes() const;

  // An event of `event_type` with realistic sample data (what the demo's mock events carry:
  // bookingId, userId, userEmail, paymentId, amount, currency, reason, startTime, ...). Used to
  // check templates at start-up and in tests.
  static Event SampleEvent(std::string_view event_type);

 private:
  using Sources = std::array<std::optional<std::string>, kTemplateKindCount>;
  std::map<std::string, Sources, std::less<>> templates_;
};

// LiveTemplates: the TemplateSet the handlers render with now; a config reload replaces it as
// a whole, and a job being rendered keeps the set it started with.
//
// Thread safety: thread-safe.
class LiveTemplates {
 public:
  explicit LiveTemplates(TemplateSet set)
      : current_(std::make_shared<const TemplateSet>(std::move(set))) {}
  std::shared_ptr<const TemplateSet> current() const {
    return current_.load(std::memory_order_acquire);
  }
  void Replace(TemplateSet set) {
    current_.store(std::make_shared<const TemplateSet>(std::move(set)), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const TemplateSet>> current_;
};

}  // namespace herald::handlers
