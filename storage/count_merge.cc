#include "storage/count_merge.h"

#include <cstdint>
#include <optional>

#include "storage/keys.h"

namespace herald::storage {

bool CountMergeOperator::Merge(const rocksdb::Slice& /*key*/, const rocksdb::Slice* existing_value,
                               const rocksdb::Slice& value, std::string* new_value,
                               rocksdb::Logger* /*logger*/) const {
  std::int64_t sum = 0;
  if (existing_value != nullptr) {
    std::optional<std::int64_t> base = keys::DecodeCount(existing_value->ToStringView());
    if (!base) return false;
    sum = *base;
  }
  std::optional<std::int64_t> delta = keys::DecodeCount(value.ToStringView());
  if (!delta) return false;
  // Wrapping arithmetic: a counter never comes near the limits.
  *new_value = keys::EncodeCount(static_cast<std::int64_t>(static_cast<std::uint64_t>(sum) +
                                                           static_cast<std::uint64_t>(*delta)));
  return true;
}

}  // namespace herald::storage
