#include "engine/records.h"

#include "storage/store.h"

namespace herald::engine {
namespace {

storage::RecordTable TableOf(RecordKind kind) {
  switch (kind) {
    case RecordKind::kPrefs:
      return storage::RecordTable::kPrefs;
    case RecordKind::kInbox:
      return storage::RecordTable::kInbox;
    case RecordKind::kSent:
      return storage::RecordTable::kSent;
    case RecordKind::kTickets:
      return storage::RecordTable::kTickets;
    case RecordKind::kAdmin:
      return storage::RecordTable::kMeta;
  }
  return storage::RecordTable::kMeta;
}

}  // namespace

Status StoreRecords::Put(RecordKind kind, std::string_view key, std::string_view value) {
  return store_->PutRecord(TableOf(kind), key, value);
}

Result<std::optional<std::string>> StoreRecords::Get(RecordKind kind, std::string_view key) const {
  return store_->GetRecord(TableOf(kind), key);
}

Status StoreRecords::Delete(RecordKind kind, std::string_view key) {
  return store_->DeleteRecord(TableOf(kind), key);
}

Result<std::vector<std::pair<std::string, std::string>>> StoreRecords::Scan(
    RecordKind kind, std::string_view prefix, std::uint32_t limit, storage::ScanOrder order) const {
  return store_->ScanRecords(TableOf(kind), prefix, limit, order);
}

Result<std::vector<std::pair<std::string, std::string>>> StoreRecords::ScanAfter(
    RecordKind kind, std::string_view after, std::uint32_t limit) const {
  return store_->ScanRecordsAfter(TableOf(kind), after, limit);
}

}  // namespace herald::engine
