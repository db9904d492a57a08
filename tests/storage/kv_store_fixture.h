// The fixture of the KvStore tests (kv_store_test.cc, kv_lists_test.cc, kv_keyspace_test.cc):
// a real Store in a fresh temp dir, with helpers to reopen it and to look at its raw rows.
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "storage/kv_store.h"
#include "storage/store.h"
#include "tests/support/temp_dir.h"

namespace herald::storage {

using Strings = std::vector<std::string>;

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.data_dir = dir_.Sub("db");
    options_.fsync = FsyncMode::kNo;
    options_.logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto opened = Store::Open(options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  KvStore& kv() { return store_->kv(); }
  // Database `n` (SELECT n).
  KvStore& Db(int n) {
    auto db = store_->kv(n);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return *db.value();
  }

  Strings Range(const std::string& key, std::int64_t start, std::int64_t stop) {
    auto r = kv().Range(key, start, stop);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Strings{};
  }
  std::int64_t Push(const std::string& key, Strings values, ListEnd end) {
    auto r = kv().Push(key, values, end);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : -1;
  }
  Strings Pop(const std::string& key, std::uint32_t count, ListEnd end) {
    auto r = kv().Pop(key, count, end);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Strings{};
  }
  std::uint64_t Count() { return *kv().Count(); }

  // The column families of the database, read with the store closed (then opened again).
  std::set<std::string> ColumnFamilies() {
    store_.reset();
    std::vector<std::string> names;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), options_.data_dir, &names).ok());
    Reopen();
    return std::set<std::string>(names.begin(), names.end());
  }

  // The rows of the kv column family as the database holds them, read with the store closed
  // (range deletes hide what they cover).
  std::vector<std::string> RawKvRows() {
    store_.reset();
    rocksdb::DBOptions db_options;
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(db_options, options_.data_dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::Status opened =
        rocksdb::DB::OpenForReadOnly(db_options, options_.data_dir, descriptors, &handles, &raw);
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    std::vector<std::string> rows;
    if (!opened.ok()) return rows;
    std::unique_ptr<rocksdb::DB> db(raw);
    for (auto* h : handles) {
      if (h->GetName() != keys::kKvCf) continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) rows.push_back(it->key().ToString());
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    }
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    return rows;
  }

  testing::TempDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

}  // namespace herald::storage
