// BoundedIterator on a real RocksDB in a temporary directory: it sees exactly the keys in
// [lower, upper) forwards and backwards, no upper bound when upper is empty, and the snapshot
// given in its read options.
#include "storage/bounded_iterator.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/scoped_snapshot.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {
namespace {

class BoundedIteratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.path(), &raw).ok());
    db_.reset(raw);
    for (const char* key : {"a1", "a2", "b1", "b2", "b3", "c1"}) Put(key);
  }

  void Put(const std::string& key) {
    ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), key, "v").ok());
  }

  std::vector<std::string> Forwards(BoundedIterator& it) {
    std::vector<std::string> keys;
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok());
    return keys;
  }

  std::vector<std::string> Backwards(BoundedIterator& it) {
    std::vector<std::string> keys;
    for (it->SeekToLast(); it->Valid(); it->Prev()) keys.push_back(it->key().ToString());
    EXPECT_TRUE(it->status().ok());
    return keys;
  }

  rocksdb::ColumnFamilyHandle* cf() { return db_->DefaultColumnFamily(); }

  herald::testing::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(BoundedIteratorTest, SeesOnlyTheKeysInTheRange) {
  BoundedIterator it(db_.get(), cf(), "b", "c");
  EXPECT_EQ(Forwards(it), (std::vector<std::string>{"b1", "b2", "b3"}));
  EXPECT_EQ(Backwards(it), (std::vector<std::string>{"b3", "b2", "b1"}));
  EXPECT_EQ(it.lower().ToString(), "b");
  ASSERT_TRUE(it.has_upper());
  EXPECT_EQ(it.upper().ToString(), "c");
}

TEST_F(BoundedIteratorTest, SeekForPrevOfTheUpperBoundFindsTheLastKeyBelowIt) {
  BoundedIterator it(db_.get(), cf(), "a", "b2");
  it->SeekForPrev(it.upper());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key().ToString(), "b1");
}

TEST_F(BoundedIteratorTest, AnEmptyUpperMeansNoUpperBound) {
  BoundedIterator it(db_.get(), cf(), "b2", "");
  EXPECT_FALSE(it.has_upper());
  EXPECT_EQ(Forwards(it), (std::vector<std::string>{"b2", "b3", "c1"}));
  EXPECT_EQ(Backwards(it), (std::vector<std::string>{"c1", "b3", "b2"}));
}

TEST_F(BoundedIteratorTest, ReadsAtTheSnapshotOfItsReadOptions) {
  ScopedSnapshot snapshot(db_.get());
  Put("b4");
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.get();
  BoundedIterator at_snapshot(db_.get(), cf(), "b", "c", ro);
  EXPECT_EQ(Forwards(at_snapshot), (std::vector<std::string>{"b1", "b2", "b3"}));
  BoundedIterator now(db_.get(), cf(), "b", "c");
  EXPECT_EQ(Forwards(now), (std::vector<std::string>{"b1", "b2", "b3", "b4"}));
}

}  // namespace
}  // namespace herald::storage
