// Internal to storage/ (names rocksdb types). CountMergeOperator: the merge operator of the
// queue column families, for the job counters ("m|n|<state>", keys.h). Each change of a job
// writes, in its own batch, a merge of -1 into the counter of the state it leaves and +1 into
// the one it enters; RocksDB sums them (in memtable flushes, compactions and reads), so the
// counters are exact after any crash and opening a queue reads five keys instead of every job.
// A value or operand that is not 8 bytes makes the merge fail (reported as corruption), which
// recovery answers by counting the queue again.
//
// Thread safety: stateless.
#pragma once

#include <rocksdb/merge_operator.h>

namespace herald::storage {

class CountMergeOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice& key, const rocksdb::Slice* existing_value,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger* logger) const override;
  const char* Name() const override { return "HeraldCountAdd"; }
};

}  // namespace herald::storage
