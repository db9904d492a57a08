#include "storage/record_tables.h"

#include <rocksdb/write_batch.h>

#include <algorithm>

#include "storage/bounded_iterator.h"
#include "storage/keys.h"

namespace herald::storage {

rocksdb::ColumnFamilyHandle* RecordTables::CfOf(RecordTable table) const {
  switch (table) {
    case RecordTable::kPrefs:
      return database_->prefs();
    case RecordTable::kInbox:
      return database_->inbox();
    case RecordTable::kSent:
      return database_->sent();
    case RecordTable::kTickets:
      return database_->tickets();
    case RecordTable::kMeta:
      return database_->meta();
  }
  return database_->meta();
}

std::string RecordTables::KeyOf(RecordTable table, std::string_view key) {
  return table == RecordTable::kMeta ? keys::MetaRecordKey(key) : std::string(key);
}

Status RecordTables::Put(RecordTable table, std::string_view key, std::string_view value) {
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(FromRocks(batch.Put(CfOf(table), KeyOf(table, key), value), "put record"));
  return database_->Write(&batch, "put record");
}

Result<std::optional<std::string>> RecordTables::Get(RecordTable table,
                                                     std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      database_->db()->Get(rocksdb::ReadOptions(), CfOf(table), KeyOf(table, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  HERALD_RETURN_IF_ERROR(FromRocks(s, "get record"));
  return std::optional<std::string>(std::move(value));
}

Status RecordTables::Delete(RecordTable table, std::string_view key) {
  rocksdb::WriteBatch batch;
  HERALD_RETURN_IF_ERROR(FromRocks(batch.Delete(CfOf(table), KeyOf(table, key)), "delete record"));
  return database_->Write(&batch, "delete record");
}

Result<std::vector<std::pair<std::string, std::string>>> RecordTables::Scan(RecordTable table,
                                                                            std::string_view prefix,
                                                                            std::uint32_t limit,
                                                                            ScanOrder order) const {
  std::string start = KeyOf(table, prefix);
  std::string end = keys::PrefixEnd(start);
  std::size_t strip = table == RecordTable::kMeta ? keys::kMetaRecordPrefix.size() : 0;
  BoundedIterator it(database_->db(), CfOf(table), std::move(start), std::move(end));
  std::vector<std::pair<std::string, std::string>> out;
  auto take = [&]() {
    rocksdb::Slice k = it->key();
    out.emplace_back(std::string(k.data() + strip, k.size() - strip), it->value().ToString());
  };
  bool unlimited = limit == 0;
  if (order == ScanOrder::kNewestFirst) {
    // From the prefix's end backwards (the upper bound hides the end key itself).
    if (it.has_upper()) {
      it->SeekForPrev(it.upper());
    } else {
      it->SeekToLast();
    }
    for (; it->Valid() && (unlimited || out.size() < limit); it->Prev()) take();
  } else {
    for (it->SeekToFirst(); it->Valid() && (unlimited || out.size() < limit); it->Next()) take();
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan records"));
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> RecordTables::ScanAfter(
    RecordTable table, std::string_view after, std::uint32_t limit) const {
  limit = std::clamp<std::uint32_t>(limit, 1, 10000);
  std::string start = KeyOf(table, "");
  std::string end = keys::PrefixEnd(start);
  const std::size_t strip = start.size();
  const std::string from = KeyOf(table, after);
  BoundedIterator it(database_->db(), CfOf(table), std::move(start), std::move(end));
  std::vector<std::pair<std::string, std::string>> out;
  it->Seek(from);
  if (!after.empty() && it->Valid() && it->key() == rocksdb::Slice(from)) it->Next();
  for (; it->Valid() && out.size() < limit; it->Next()) {
    rocksdb::Slice k = it->key();
    out.emplace_back(std::string(k.data() + strip, k.size() - strip), it->value().ToString());
  }
  HERALD_RETURN_IF_ERROR(FromRocks(it->status(), "scan records"));
  return out;
}

}  // namespace herald::storage
