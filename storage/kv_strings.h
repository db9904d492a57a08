// Internal to storage/. KvStrings: the string operations of every database (GET, SET, INCRBY,
// MSET; KvStore in kv_store.h has their contract), on the rows of a KvWritePipeline. A
// string is its header row alone (keys.h: "k|" key -> type and value). SET and MSET replace a
// value of any type; the other operations refuse a list with WrongType.
//
// Thread safety: thread-safe (each write holds the pipeline's mutex through a KvWrite).
// `pipeline` is borrowed and must outlive this object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/kv_store.h"
#include "storage/kv_write_pipeline.h"

namespace herald::storage {

class KvStrings {
 public:
  explicit KvStrings(KvWritePipeline* pipeline) : pipeline_(pipeline) {}

  // The operations of KvStore, on database `db`.
  Result<std::optional<std::string>> Get(int db, std::string_view key);
  Status Set(int db, std::string_view key, std::string_view value, KvWriteGroup* group);
  Result<std::int64_t> IncrBy(int db, std::string_view key, std::int64_t delta,
                              KvWriteGroup* group);
  Status MSet(int db, const std::vector<std::pair<std::string, std::string>>& pairs,
              KvWriteGroup* group);

 private:
  KvWritePipeline* const pipeline_;
};

}  // namespace herald::storage
