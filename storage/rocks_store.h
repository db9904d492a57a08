// RocksStore: the embedded backend of Store (storage/store.h, where its design is described):
// a facade that passes each call to one unit of storage/, wired in store.cc.
//
// Thread safety: thread-safe, as Store.
#pragma once

#include <memory>

#include "storage/store.h"

namespace herald::storage {

class StoreUnits;

class RocksStore final : public Store {
 public:
  explicit RocksStore(std::unique_ptr<StoreUnits> units);
  ~RocksStore() override;

  using Store::kv;  // kv(): database 0

  const StoreOptions& options() const override;
  Status EnsureQueue(std::string_view queue) override;
  bool HasQueue(std::string_view queue) const override;
  std::vector<std::string> ListQueues() const override;
  Result<AddResult> Add(std::string_view queue, NewJob job, std::int64_t now_ms) override;
  Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                         std::int64_t now_ms) override;
  void AddManyAsync(std::string_view queue, std::vector<NewJob> jobs, std::int64_t now_ms,
                    std::function<void(Result<std::vector<AddResult>>)> done) override {
    done(AddMany(queue, std::move(jobs), now_ms));
  }
  bool AddsWaitForCommit() const override { return false; }
  void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                std::function<void(Result<AddResult>)> done) override;
  Result<AddResult> Import(std::string_view queue, Job job) override;
  Result<std::optional<Job>> Take(std::string_view queue, std::int64_t now_ms,
                                  std::string_view worker) override;
  Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max, std::int64_t now_ms,
                                    std::string_view worker) override;
  Result<Job> Complete(std::string_view id, std::string return_value, std::int64_t now_ms) override;
  std::vector<Result<Job>> CompleteMany(std::vector<Completion> completions,
                                        std::int64_t now_ms) override;
  CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                        std::int64_t now_ms, std::string_view worker) override;
  Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                        std::int64_t now_ms) override;
  Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                        AttemptOutcome outcome) override;
  Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms) override;
  Result<Job> Retry(std::string_view id, std::int64_t now_ms) override;
  Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                       std::vector<Job>* retried) override;
  Result<Job> Promote(std::string_view id, std::int64_t now_ms) override;
  Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms, std::uint64_t limit,
                                   std::vector<Job>* promoted) override;
  std::optional<std::int64_t> NextDue(std::string_view queue) const override;
  Status Delete(std::string_view id) override;
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t older_than_ms,
                              std::uint64_t limit, std::vector<Job>* cleaned) override;
  Result<Job> Get(std::string_view id) const override;
  Result<QueueCounts> Counts(std::string_view queue) const override;
  bool SharedWithOtherNodes() const override { return false; }
  bool MayHaveWaiting(std::string_view queue) const override {
    Result<QueueCounts> counts = Counts(queue);
    return counts.ok() && counts->waiting > 0;
  }
  Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                       std::uint32_t count) const override;
  std::uint64_t recovered_active() const override;
  Status SetPaused(std::string_view queue, bool paused) override;
  bool IsPaused(std::string_view queue) const override;
  Status PutRecord(RecordTable table, std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> GetRecord(RecordTable table,
                                               std::string_view key) const override;
  Status DeleteRecord(RecordTable table, std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> ScanRecordsAfter(
      RecordTable table, std::string_view after, std::uint32_t limit) const override;
  Result<std::vector<std::pair<std::string, std::string>>> ScanRecords(
      RecordTable table, std::string_view prefix, std::uint32_t limit,
      ScanOrder order) const override;
  Result<KvStore*> kv(int db) override;
  Status ClearKv() override;
  FsyncMode fsync_mode() const override;
  bool AllDurable() const override;
  void SyncAsync(std::function<void(Status)> done, std::size_t waiters) override;
  std::uint64_t WalSyncs() const override;
  std::uint64_t Writes() const override;
  Status WriteHealth() const override;
  std::uint64_t WriteFailures() const override;
  void SetWorkListener(WorkListener listener) override;
  Status SyncWal() override;
  Status Checkpoint(const std::string& dir) override;
  Status VerifyChecksums() const override;
  std::uint64_t DiskBytes() const override;
  std::uint64_t MemtableBytes() const override;

 private:
  std::unique_ptr<StoreUnits> impl_;
};

}  // namespace herald::storage
