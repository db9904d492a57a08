#include "handlers/templates.h"

#include <kainjow/mustache.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace herald::handlers {
namespace {

namespace mustache = kainjow::mustache;

constexpr std::array<std::string_view, kTemplateKindCount> kKindNames = {
    "email_subject", "email_body",     "push_title", "push_body",
    "inapp_text",    "ticket_subject", "ticket_body"};

struct BuiltInTemplate {
  std::string_view event_type;
  TemplateKind kind;
  std::string_view source;
};

// Mustache sections ({{#startTime}}...{{/startTime}}) keep optional fields out of the text when
// an event does not carry them.
constexpr BuiltInTemplate kBuiltIns[] = {
    {"booking.created", TemplateKind::kEmailSubject, "Booking {{bookingId}} received"},
    {"booking.created", TemplateKind::kEmailBody,
     "Hello,\n\n"
     "we received your booking {{bookingId}}"
     "{{#parkingSpot}} for parking spot {{parkingSpot}}{{/parkingSpot}}.\n"
     "{{#startTime}}It starts at {{startTime}}{{#endTime}} and ends at {{endTime}}{{/endTime}}."
     "\n{{/startTime}}"
     "We will confirm it as soon as the payment has gone through.\n\n"
     "Thank you for booking with us.\n"},
    {"booking.confirmed", TemplateKind::kEmailSubject, "Booking {{bookingId}} confirmed"},
    {"booking.confirmed", TemplateKind::kEmailBody,
     "Hello,\n\n"
     "your booking {{bookingId}} is confirmed"
     "{{#parkingSpot}}: parking spot {{parkingSpot}} is yours{{/parkingSpot}}.\n"
     "{{#startTime}}It starts at {{startTime}}{{#endTime}} and ends at {{endTime}}{{/endTime}}."
     "\n{{/startTime}}"
     "{{#amount}}Amount paid: {{amount}}{{#currency}} {{currency}}{{/currency}}.\n{{/amount}}"
     "\nSee you soon.\n"},
    {"booking.cancelled", TemplateKind::kEmailSubject, "Booking {{bookingId}} cancelled"},
    {"booking.cancelled", TemplateKind::kEmailBody,
     "Hello,\n\n"
     "your booking {{bookingId}} has been cancelled.\n"
     "{{#reason}}Reason: {{reason}}\n{{/reason}}"
     "{{#refundAmount}}A refund of {{refundAmount}}{{#currency}} {{currency}}{{/currency}} is "
     "on its way.\n{{/refundAmount}}"
     "\nWe hope to see you again.\n"},
    {"booking.reminder", TemplateKind::kPushTitle, "Upcoming booking {{bookingId}}"},
    {"booking.reminder", TemplateKind::kPushBody,
     "Your booking {{bookingId}} starts {{#startTime}}at {{startTime}}{{/startTime}}"
     "{{^startTime}}soon{{/startTime}}"
     "{{#parkingSpot}} at parking spot {{parkingSpot}}{{/parkingSpot}}."},
    {"booking.reminder", TemplateKind::kInAppText,
     "Reminder: booking {{bookingId}} starts {{#startTime}}at {{startTime}}{{/startTime}}"
     "{{^startTime}}soon{{/startTime}}."},
    {"payment.received", TemplateKind::kPushTitle, "Payment received"},
    {"payment.received", TemplateKind::kPushBody,
     "We received your payment of {{amount}}{{#currency}} {{currency}}{{/currency}} for booking "
     "{{bookingId}}."},
    {"payment.received", TemplateKind::kInAppText,
     "Payment {{paymentId}} of {{amount}}{{#currency}} {{currency}}{{/currency}} received for "
     "booking {{bookingId}}."},
    {"payment.failed", TemplateKind::kTicketSubject,
     "Payment {{paymentId}} failed for booking {{bookingId}}"},
    {"payment.failed", TemplateKind::kTicketBody,
     "Payment {{paymentId}} of {{amount}}{{#currency}} {{currency}}{{/currency}} for booking "
     "{{bookingId}} by user {{userId}} failed: {{reason}}.\n"
     "Event {{eventId}}{{#timestamp}} at {{timestamp}}{{/timestamp}}."},
};

mustache::data ToData(const FlatObject& object, int depth);

mustache::data FieldData(const JsonField& field, int depth) {
  switch (field.kind) {
    case JsonField::Kind::kBool:
      return mustache::data(field.text == "true");
    case JsonField::Kind::kNull:
      return mustache::data(false);
    case JsonField::Kind::kObject:
      if (depth < 8) {
        auto nested = ParseFlatObject(field.text);
        if (nested.ok()) return ToData(*nested, depth + 1);
      }
      return mustache::data(field.text);
    default:
      return mustache::data(field.text);
  }
}

mustache::data ToData(const FlatObject& object, int depth) {
  mustache::data data{mustache::data::type::object};
  for (const auto& [name, field] : object) data.set(name, FieldData(field, depth));
  return data;
}

Result<std::string> RenderSource(const std::string& source, const Event& event) {
  mustache::mustache tmpl{source};
  if (!tmpl.is_valid()) return Status::InvalidArgument(tmpl.error_message());
  // Messages are plain text (email text/plain, push JSON, ticket text): no HTML escaping.
  tmpl.set_custom_escape([](const std::string& s) { return s; });
  mustache::data data = ToData(event.data, 0);
  data.set("eventId", event.id);
  data.set("eventType", event.type);
  data.set("timestamp", event.timestamp);
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) return Status::InvalidArgument(tmpl.error_message());
  return out;
}

Status ReadTemplateDir(const std::string& dir,
                       std::map<std::string, std::map<std::string, std::string>>* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("templates directory " + dir + " does not exist");
  }
  for (fs::directory_iterator types(dir, ec), end; !ec && types != end; types.increment(ec)) {
    if (!types->is_directory(ec)) continue;
    const std::string event_type = types->path().filename().string();
    for (fs::directory_iterator files(types->path(), ec); !ec && files != end;
         files.increment(ec)) {
      const fs::path& path = files->path();
      if (path.extension() != ".mustache") continue;
      std::ifstream in(path, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      if (!in.good() && !in.eof()) {
        return Status::InvalidArgument("cannot read template " + path.string());
      }
      (*out)[event_type][path.stem().string()] = text.str();
    }
    if (ec) break;
  }
  if (ec) return Status::IOError("reading templates directory " + dir + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

std::string_view TemplateKindName(TemplateKind kind) {
  const auto index = static_cast<std::size_t>(kind);
  return index < kKindNames.size() ? kKindNames[index] : "unknown";
}

Result<TemplateKind> ParseTemplateKind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<TemplateKind>(i);
  }
  return Status::InvalidArgument(
      "unknown template kind '" + std::string(name) +
      "' (email_subject, email_body, push_title, push_body, inapp_text, ticket_subject, "
      "ticket_body)");
}

TemplateSet TemplateSet::BuiltIn() {
  TemplateSet set;
  for (const BuiltInTemplate& builtin : kBuiltIns) {
    set.templates_[std::string(builtin.event_type)][static_cast<std::size_t>(builtin.kind)] =
        std::string(builtin.source);
  }
  return set;
}

Result<TemplateSet> TemplateSet::Create(const TemplateOverrides& overrides,
                                        const std::string& templates_dir) {
  TemplateSet set = BuiltIn();
  std::map<std::string, std::map<std::string, std::string>> sources;
  if (!templates_dir.empty()) HERALD_RETURN_IF_ERROR(ReadTemplateDir(templates_dir, &sources));
  for (const auto& [event_type, kinds] : overrides) {
    for (const auto& [kind, source] : kinds) sources[event_type][kind] = source;
  }
  for (const auto& [event_type, kinds] : sources) {
    for (const auto& [kind_name, source] : kinds) {
      auto kind = ParseTemplateKind(kind_name);
      if (!kind.ok()) {
        return Status::InvalidArgument("templates." + event_type + ": " + kind.status().message());
      }
      set.templates_[event_type][static_cast<std::size_t>(*kind)] = source;
    }
  }
  // Check every template now, so a typo fails at start-up instead of on the first event.
  for (const auto& [event_type, kinds] : set.templates_) {
    const Event sample = SampleEvent(event_type);
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      if (!kinds[i]) continue;
      auto rendered = RenderSource(*kinds[i], sample);
      if (!rendered.ok()) {
        return Status::InvalidArgument("template " + event_type + "." + std::string(kKindNames[i]) +
                                       ": " + rendered.status().message());
      }
    }
  }
  return set;
}

bool TemplateSet::Has(std::string_view event_type, TemplateKind kind) const {
  return Source(event_type, kind).has_value();
}

std::optional<std::string> TemplateSet::Source(std::string_view event_type,
                                               TemplateKind kind) const {
  auto it = templates_.find(event_type);
  const auto index = static_cast<std::size_t>(kind);
  if (it == templates_.end() || index >= kTemplateKindCount) return std::nullopt;
  return it->second[index];
}

Result<std::string> TemplateSet::Render(std::string_view event_type, TemplateKind kind,
                                        const Event& event) const {
  auto source = Source(event_type, kind);
  if (!source) {
    return Status::NotFound("no " + std::string(TemplateKindName(kind)) +
                            " template for event type '" + std::string(event_type) + "'");
  }
  auto rendered = RenderSource(*source, event);
  if (!rendered.ok()) {
    return Status::InvalidArgument("template " + std::string(event_type) + "." +
                                   std::string(TemplateKindName(kind)) + ": " +
                                   rendered.status().message());
  }
  return rendered;
}

std::vector<std::string> TemplateSet::EventTypes() const {
  std::vector<std::string> out;
  for (const auto& [event_type, kinds] : templates_) {
    for (const auto& source : kinds) {
      if (source) {
        out.push_back(event_type);
        break;
      }
    }
  }
  return out;
}

Event TemplateSet::SampleEvent(std::string_view event_type) {
  auto text = [](std::string value) {
    return JsonField{JsonField::Kind::kString, std::move(value)};
  };
  auto number = [](std::string value) {
    return JsonField{JsonField::Kind::kNumber, std::move(value)};
  };
  Event event;
  event.type = std::string(event_type);
  event.id = "evt-sample-0001";
  event.timestamp = "2024-03-05T10:00:00.000Z";
  event.data["bookingId"] = text("BK-1001");
  event.data["userId"] = text("user-42");
  event.data["userEmail"] = text("jane.doe@example.com");
  event.data["parkingSpot"] = text("A-17");
  event.data["startTime"] = text("2024-03-06T09:00:00.000Z");
  event.data["endTime"] = text("2024-03-06T17:00:00.000Z");
  if (event_type.starts_with("payment.") || event_type == "booking.confirmed") {
    event.data["paymentId"] = text("PAY-2001");
    event.data["amount"] = number("49.99");
    event.data["currency"] = text("EUR");
  }
  if (event_type == "payment.failed") event.data["reason"] = text("card declined");
  if (event_type == "booking.cancelled") {
    event.data["reason"] = text("cancelled by user");
    event.data["refundAmount"] = number("49.99");
    event.data["currency"] = text("EUR");
  }
  return event;
}

}  // namespace herald::handlers
