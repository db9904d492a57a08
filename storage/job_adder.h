// Internal to storage/ (names rocksdb types). JobAdder: Store::Add, AddMany and AddAsync. An
// add is planned (ids checked, custom ids held, sequence numbers allocated, one WriteBatch
// made), written, then applied to the queue's memory; AddAsync lets the group commit call back
// once the write is durable instead of waiting for it.
//
// Thread safety: thread-safe. Every pointer is borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/database.h"
#include "storage/id_locks.h"
#include "storage/index_scanner.h"
#include "storage/job_change.h"
#include "storage/job_reader.h"
#include "storage/queue_registry.h"
#include "storage/sequence_allocator.h"
#include "storage/store.h"

namespace herald::storage {

class JobAdder {
 public:
  JobAdder(Database* database, const QueueRegistry* registry, IdLocks* id_locks,
           const JobReader* reader, SequenceAllocator* sequence, const IndexScanner* scanner)
      : database_(database),
        registry_(registry),
        id_locks_(id_locks),
        reader_(reader),
        sequence_(sequence),
        scanner_(scanner) {}

  // As Store::Add, AddMany and AddAsync (store.h).
  Result<AddResult> Add(std::string_view queue, NewJob job, std::int64_t now_ms);
  Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                         std::int64_t now_ms);
  void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                std::function<void(Result<AddResult>)> done);
  // As Store::Import.
  Result<AddResult> Import(std::string_view queue, Job job);

 private:
  // An add planned and its batch made, not written yet.
  struct PlannedAdd {
    QueueState* qs = nullptr;
    IdLocks::Guard guard;  // the custom ids, held until the write is done
    // The generated ids, held until the heads know the jobs: a refill may find the written
    // jobs before that and a Take claim one; the lock makes that Take wait for this add's
    // insert (which the Take's own change then erases), so no entry outlives the take.
    IdLocks::Guard generated_guard;
    rocksdb::WriteBatch batch;
    std::vector<Change> changes;
    std::vector<AddResult> results;
  };
  Result<std::unique_ptr<PlannedAdd>> PlanAdd(std::string_view queue, std::vector<NewJob> jobs,
                                              std::int64_t now_ms);
  // After the write of `plan` (`written` its status): the queue's heads and counts.
  Result<std::vector<AddResult>> FinishAdd(PlannedAdd* plan, Status written);

  Database* const database_;
  const QueueRegistry* const registry_;
  IdLocks* const id_locks_;
  const JobReader* const reader_;
  SequenceAllocator* const sequence_;
  const IndexScanner* const scanner_;
};

}  // namespace herald::storage
