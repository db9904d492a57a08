#include "net/audit_log.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace herald::net {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "audit|";

void PutBigEndian(std::string* out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

std::string KeyOf(std::int64_t at_ms, std::uint64_t sequence) {
  std::string key(kPrefix);
  PutBigEndian(&key, static_cast<std::uint64_t>(at_ms));
  PutBigEndian(&key, sequence);
  return key;
}

std::optional<AuditEntry> Decode(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& object = value.get_object();
  auto text_of = [&](const char* key) {
    const json::value* field = object.if_contains(key);
    return field != nullptr && field->is_string() ? std::string(field->get_string()) : "";
  };
  auto number_of = [&](const char* key) -> std::int64_t {
    const json::value* field = object.if_contains(key);
    if (field == nullptr) return 0;
    if (field->is_int64()) return field->get_int64();
    if (field->is_uint64()) return static_cast<std::int64_t>(field->get_uint64());
    return 0;
  };
  AuditEntry entry;
  entry.at_ms = number_of("at");
  entry.client = text_of("client");
  entry.action = text_of("action");
  entry.target = text_of("target");
  entry.matched = static_cast<std::uint64_t>(number_of("matched"));
  entry.detail = text_of("detail");
  return entry;
}

}  // namespace

json::object AuditJson(const AuditEntry& entry) {
  json::object out;
  out["at"] = entry.at_ms;
  out["client"] = entry.client;
  out["action"] = entry.action;
  out["target"] = entry.target;
  out["matched"] = entry.matched;
  out["detail"] = entry.detail;
  return out;
}

AuditLog::AuditLog(engine::Records* records, Clock* clock, std::shared_ptr<spdlog::logger> logger)
    : records_(records),
      clock_(clock),
      logger_(std::move(logger)),
      // Entries of one millisecond sort by this; it starts from the clock so that a restart
      // within the same millisecond does not reuse a key.
      sequence_(static_cast<std::uint64_t>(clock->NowMs()) << 16) {}

void AuditLog::Record(AuditEntry entry) {
  entry.at_ms = clock_->NowMs();
  std::string key = KeyOf(entry.at_ms, sequence_.fetch_add(1));
  if (Status status =
          records_->Put(engine::RecordKind::kAdmin, key, json::serialize(AuditJson(entry)));
      !status.ok()) {
    logger_->warn("audit: could not record {} of {}: {}", entry.action, entry.target,
                  status.message());
    return;
  }
  logger_->info("audit: {} {} by {} ({} matched{}{})", entry.action, entry.target, entry.client,
                entry.matched, entry.detail.empty() ? "" : ", ", entry.detail);
  // Now and then (and at the first entry after a start), the expired entries go, oldest first.
  if (written_.fetch_add(1) % 256 != 0) return;
  auto oldest =
      records_->Scan(engine::RecordKind::kAdmin, kPrefix, 1024, engine::ScanOrder::kOldestFirst);
  if (!oldest.ok()) return;
  const std::string keep_from = KeyOf(entry.at_ms - kKeepMs, 0);
  for (const auto& [old_key, value] : *oldest) {
    if (old_key >= keep_from) break;
    (void)records_->Delete(engine::RecordKind::kAdmin, old_key);
  }
}

Result<std::vector<AuditEntry>> AuditLog::Recent(std::uint32_t limit) const {
  HERALD_ASSIGN_OR_RETURN(auto rows, records_->Scan(engine::RecordKind::kAdmin, kPrefix, limit,
                                                    engine::ScanOrder::kNewestFirst));
  std::vector<AuditEntry> out;
  for (const auto& [key, value] : rows) {
    if (auto entry = Decode(value)) out.push_back(std::move(*entry));
  }
  return out;
}

}  // namespace herald::net
