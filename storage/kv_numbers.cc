#include "storage/kv_numbers.h"

#include <limits>

namespace herald::storage {

bool NormaliseRange(std::int64_t len, std::int64_t* start, std::int64_t* stop) {
  if (*start < 0) *start += len;
  if (*stop < 0) *stop += len;
  if (*start < 0) *start = 0;
  if (*start > *stop || *start >= len) return false;
  if (*stop >= len) *stop = len - 1;
  return true;
}

}  // namespace herald::storage
