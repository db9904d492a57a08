#include "storage/kv_strings.h"

#include <limits>
#include <set>

#include "common/redis_int.h"
#include "storage/keys.h"
#include "storage/kv_numbers.h"
#include "storage/kv_write.h"

namespace herald::storage {

Result<std::optional<std::string>> KvStrings::Get(int db, std::string_view key) {
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, pipeline_->ReadMeta(db, key));
  if (meta.type == KvType::kNone) return std::optional<std::string>();
  if (meta.type != KvType::kString) return WrongTypeError();
  return std::optional<std::string>(std::move(meta.value));
}

Status KvStrings::Set(int db, std::string_view key, std::string_view value, KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, "set", KvWrite::Keys::kMayCreate);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
  HERALD_RETURN_IF_ERROR(write.RemoveValue(key, meta));
  write.Put(keys::KvMetaKey(key), keys::EncodeKvString(value));
  if (meta.type == KvType::kNone) ++write.KeyCount();
  return write.Commit();
}

Result<std::int64_t> KvStrings::IncrBy(int db, std::string_view key, std::int64_t delta,
                                       KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, "incrby", KvWrite::Keys::kMayCreate);
  HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
  if (meta.type == KvType::kList) return WrongTypeError();
  std::int64_t current = 0;
  if (meta.type == KvType::kString) {
    const std::optional<std::int64_t> parsed = ParseRedisInt(meta.value);
    if (!parsed) return Status::InvalidArgument("value is not an integer or out of range");
    current = *parsed;
  }
  if ((delta < 0 && current < 0 && delta < std::numeric_limits<std::int64_t>::min() - current) ||
      (delta > 0 && current > 0 && delta > std::numeric_limits<std::int64_t>::max() - current)) {
    return Status::InvalidArgument("increment or decrement would overflow");
  }
  const std::int64_t next = current + delta;
  write.Put(keys::KvMetaKey(key), keys::EncodeKvString(std::to_string(next)));
  if (meta.type == KvType::kNone) ++write.KeyCount();
  HERALD_RETURN_IF_ERROR(write.Commit());
  return next;
}

Status KvStrings::MSet(int db, const std::vector<std::pair<std::string, std::string>>& pairs,
                       KvWriteGroup* group) {
  KvWrite write(pipeline_, db, group, "mset", KvWrite::Keys::kMayCreate);
  // Every read before the first write, so an error leaves nothing half-applied.
  std::vector<std::pair<std::string_view, keys::KvMeta>> old;
  std::set<std::string_view> seen;
  for (const auto& [key, value] : pairs) {
    if (!seen.insert(key).second) continue;
    HERALD_ASSIGN_OR_RETURN(keys::KvMeta meta, write.ReadMeta(key));
    old.emplace_back(key, std::move(meta));
  }
  HERALD_RETURN_IF_ERROR(write.RemoveValues(old));
  for (const auto& [key, meta] : old) {
    if (meta.type == KvType::kNone) ++write.KeyCount();
  }
  for (const auto& [key, value] : pairs) {
    write.Put(keys::KvMetaKey(key), keys::EncodeKvString(value));
  }
  return write.Commit();
}

}  // namespace herald::storage
