// Internal to storage/postgres. AddBatcher: the adds waiting for the database, handed all at
// once to `run` on the batcher's own thread, so that the adds of every caller ready at the same
// moment share one transaction and its commit (as the embedded store's adds share a WAL sync).
// While `run` works on one group, the next one gathers.
//
// Thread safety: thread-safe. `run` is called on the batcher's thread only.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/store.h"

namespace herald::storage::postgres {

// One caller's adds (Add, AddMany or AddAsync), and where their outcome goes.
struct PendingAdd {
  std::string queue;
  std::vector<NewJob> jobs;
  std::int64_t now_ms = 0;
  std::function<void(Result<std::vector<AddResult>>)> done;
};

class AddBatcher {
 public:
  // Runs a group: calls each add's `done` exactly once.
  using RunGroup = std::function<void(std::vector<PendingAdd>* group)>;

  // At most `max_pending_jobs` jobs wait; an add beyond is refused with Busy.
  AddBatcher(RunGroup run, std::size_t max_pending_jobs);
  ~AddBatcher();  // runs what waits, then stops
  AddBatcher(const AddBatcher&) = delete;
  AddBatcher& operator=(const AddBatcher&) = delete;

  // Queues `add`; its `done` is called on the batcher's thread (or at once with Busy).
  void Enqueue(PendingAdd add);
  // Queues the adds and waits for their outcome. From the batcher's own thread (a `done` that
  // adds), the adds run alone at once: the thread can't wait for itself.
  Result<std::vector<AddResult>> AddAndWait(std::string queue, std::vector<NewJob> jobs,
                                            std::int64_t now_ms);

 private:
  void Loop(std::stop_token stop);

  const RunGroup run_;
  const std::size_t max_pending_jobs_;
  Mutex mu_;
  std::condition_variable_any ready_;
  std::vector<PendingAdd> pending_ GUARDED_BY(mu_);
  std::size_t pending_jobs_ GUARDED_BY(mu_) = 0;
  std::jthread thread_;  // last: starts once the rest exists
};

}  // namespace herald::storage::postgres
