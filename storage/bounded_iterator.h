// Internal to storage/ (names rocksdb types). BoundedIterator: a rocksdb::Iterator over the keys
// of one column family in [lower, upper), with the bounds given to RocksDB
// (iterate_lower_bound / iterate_upper_bound) so that it never steps beyond them, past
// tombstones of other indexes. The object keeps the bound keys alive for the iterator.
//
// Thread safety: confined to one thread. `db` and `cf` are borrowed and must outlive it, as
// must the snapshot in `base`, if any.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include <memory>
#include <string>

namespace herald::storage {

class BoundedIterator {
 public:
  // Keys >= `lower` and < `upper`; an empty `upper` means no upper bound. `base` carries the
  // other read options (snapshot, fill_cache); its bounds are replaced.
  BoundedIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string lower,
                  std::string upper, rocksdb::ReadOptions base = rocksdb::ReadOptions())
      : lower_key_(std::move(lower)),
        upper_key_(std::move(upper)),
        lower_(lower_key_),
        upper_(upper_key_) {
    base.iterate_lower_bound = &lower_;
    base.iterate_upper_bound = upper_key_.empty() ? nullptr : &upper_;
    it_.reset(db->NewIterator(base, cf));
  }
  BoundedIterator(const BoundedIterator&) = delete;
  BoundedIterator& operator=(const BoundedIterator&) = delete;

  rocksdb::Iterator* operator->() const { return it_.get(); }
  const rocksdb::Slice& lower() const { return lower_; }
  // Precondition: there is an upper bound.
  const rocksdb::Slice& upper() const { return upper_; }
  bool has_upper() const { return !upper_key_.empty(); }

 private:
  // Declared before the slices, which point into them.
  const std::string lower_key_;
  const std::string upper_key_;
  const rocksdb::Slice lower_;
  const rocksdb::Slice upper_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace herald::storage
