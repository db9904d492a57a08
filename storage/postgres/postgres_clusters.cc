// The store over several PostgreSQL clusters (OpenPostgresClusters in postgres_store.h): each
// call goes to the cluster of its queue, or of its job id.
#include <set>

#include "storage/postgres/postgres_store.h"
#include "storage/postgres/postgres_store_impl.h"

namespace herald::storage::postgres {
namespace {

bool ValidClusterName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

// Calls `done` with the first error of `count` arrivals (OK when none), at the last one.
class Countdown {
 public:
  Countdown(std::size_t count, std::function<void(Status)> done)
      : left_(count), done_(std::move(done)) {}

  void Arrive(Status status) {
    std::function<void(Status)> done;
    Status first;
    {
      MutexLock lock(&mu_);
      if (!status.ok() && first_.ok()) first_ = std::move(status);
      if (--left_ > 0) return;
      done = std::move(done_);
      first = first_;
    }
    done(std::move(first));
  }

 private:
  Mutex mu_;
  std::size_t left_ GUARDED_BY(mu_);
  std::function<void(Status)> done_ GUARDED_BY(mu_);
  Status first_ GUARDED_BY(mu_);
};

class PostgresClusters final : public Store {
 public:
  PostgresClusters(PostgresClustersOptions options,
                   std::vector<std::unique_ptr<PostgresStore>> stores)
      : options_(std::move(options)), stores_(std::move(stores)) {}

  using Store::kv;

  // Refuses queues kept by a cluster the map no longer puts them on, when they hold jobs.
  Status CheckPlacement() const {
    for (std::size_t at = 0; at < stores_.size(); ++at) {
      for (const std::string& queue : stores_[at]->ListQueues()) {
        const std::size_t mapped = ClusterOfQueue(options_, queue);
        if (mapped == at) continue;
        HERALD_ASSIGN_OR_RETURN(QueueCounts counts, stores_[at]->Counts(queue));
        const std::uint64_t jobs =
            counts.waiting + counts.active + counts.delayed + counts.completed + counts.failed;
        const std::string where = "queue " + Quote(queue) + " is kept by cluster '" + NameOf(at) +
                                  "', but the map puts it on '" + NameOf(mapped) + "'";
        if (jobs > 0) {
          return Status::InvalidArgument(where + ", and its " + std::to_string(jobs) +
                                         " jobs would be left behind: name it in store.queues (" +
                                         queue + " = \"" + NameOf(at) + "\")");
        }
        Log().warn("store: {} (it holds no jobs: the map's cluster serves it)", where);
      }
    }
    return Status::Ok();
  }

  const StoreOptions& options() const override { return stores_.front()->options(); }

  // ---- Queues: on the queue's cluster ---------------------------------------------------
  Status EnsureQueue(std::string_view queue) override { return For(queue).EnsureQueue(queue); }
  bool HasQueue(std::string_view queue) const override { return For(queue).HasQueue(queue); }
  std::vector<std::string> ListQueues() const override {
    std::set<std::string> names;
    for (const auto& store : stores_) {
      for (std::string& name : store->ListQueues()) names.insert(std::move(name));
    }
    return {names.begin(), names.end()};
  }

  Result<AddResult> Add(std::string_view queue, NewJob job, std::int64_t now_ms) override {
    return For(queue).Add(queue, std::move(job), now_ms);
  }
  Result<std::vector<AddResult>> AddMany(std::string_view queue, std::vector<NewJob> jobs,
                                         std::int64_t now_ms) override {
    return For(queue).AddMany(queue, std::move(jobs), now_ms);
  }
  void AddAsync(std::string_view queue, NewJob job, std::int64_t now_ms,
                std::function<void(Result<AddResult>)> done) override {
    For(queue).AddAsync(queue, std::move(job), now_ms, std::move(done));
  }

  void AddManyAsync(std::string_view queue, std::vector<NewJob> jobs, std::int64_t now_ms,
                    std::function<void(Result<std::vector<AddResult>>)> done) override {
    For(queue).AddManyAsync(queue, std::move(jobs), now_ms, std::move(done));
  }
  bool AddsWaitForCommit() const override { return true; }

  Result<AddResult> Import(std::string_view queue, Job job) override {
    // A job of that id on another cluster is the one kept, as on one cluster.
    for (std::size_t at = 0; at < stores_.size(); ++at) {
      if (at == ClusterOfQueue(options_, queue)) continue;
      Result<Job> there = stores_[at]->Get(job.id);
      if (there.ok()) return AddResult{job.id, false, there->state};
      if (!there.status().IsNotFound()) return there.status();
    }
    // The cluster whose generated ids could be this decimal id makes bigger ones from now on.
    if (std::optional<std::size_t> maker = MakerOf(job.id);
        maker && *maker != ClusterOfQueue(options_, queue)) {
      HERALD_RETURN_IF_ERROR(stores_[*maker]->ContinueIdsAbove(job.id));
    }
    return For(queue).Import(queue, std::move(job));
  }

  Result<std::optional<Job>> Take(std::string_view queue, std::int64_t now_ms,
                                  std::string_view worker) override {
    return For(queue).Take(queue, now_ms, worker);
  }
  Result<std::vector<Job>> TakeMany(std::string_view queue, std::size_t max, std::int64_t now_ms,
                                    std::string_view worker) override {
    return For(queue).TakeMany(queue, max, now_ms, worker);
  }

  // ---- Transitions by id: the id's cluster first --------------------------------------------
  Result<Job> Complete(std::string_view id, std::string return_value,
                       std::int64_t now_ms) override {
    return ById(id, [&](Store& s) { return s.Complete(id, return_value, now_ms); });
  }

  std::vector<Result<Job>> CompleteMany(std::vector<Completion> completions,
                                        std::int64_t now_ms) override {
    const std::size_t n = completions.size();
    std::vector<Result<Job>> out(n, Status::Internal("not completed"));
    std::vector<std::vector<std::size_t>> orders(n);
    std::vector<std::size_t> step(n, 0);
    std::vector<std::size_t> pending(n);
    for (std::size_t i = 0; i < n; ++i) {
      orders[i] = OrderFor(completions[i].id);
      pending[i] = i;
    }
    // Rounds: each completion still NotFound goes on to its next cluster, one batch a cluster.
    while (!pending.empty()) {
      std::map<std::size_t, std::vector<std::size_t>> by_cluster;
      for (std::size_t i : pending) by_cluster[orders[i][step[i]]].push_back(i);
      std::vector<std::size_t> again;
      for (const auto& [at, indexes] : by_cluster) {
        std::vector<Completion> batch;
        batch.reserve(indexes.size());
        for (std::size_t i : indexes) batch.push_back(completions[i]);
        std::vector<Result<Job>> done = stores_[at]->CompleteMany(std::move(batch), now_ms);
        for (std::size_t k = 0; k < indexes.size(); ++k) {
          const std::size_t i = indexes[k];
          const bool not_found = !done[k].ok() && done[k].status().IsNotFound();
          if (step[i] == 0 || !not_found) out[i] = std::move(done[k]);  // the first NotFound
          if (not_found && ++step[i] < orders[i].size()) again.push_back(i);
        }
      }
      pending = std::move(again);
    }
    return out;
  }

  CompleteAndTakeResult CompleteAndTake(Completion done, std::string_view next_queue,
                                        std::int64_t now_ms, std::string_view worker) override {
    // One write when the job is of the next queue's cluster (a worker on one queue).
    Store& next = For(next_queue);
    CompleteAndTakeResult together = next.CompleteAndTake(done, next_queue, now_ms, worker);
    if (together.completed.ok() || !together.completed.status().IsNotFound()) return together;
    CompleteAndTakeResult out{Status::Internal("not completed"), std::nullopt};
    out.completed = ById(
        done.id, [&](Store& s) { return s.Complete(done.id, done.return_value, now_ms); }, &next);
    if (!out.completed.ok()) return out;
    Result<std::optional<Job>> taken = next.Take(next_queue, now_ms, worker);
    if (taken.ok()) out.next = std::move(*taken);
    return out;
  }

  Result<Job> FailRetry(std::string_view id, std::string error, std::int64_t due_ms,
                        std::int64_t now_ms) override {
    return ById(id, [&](Store& s) { return s.FailRetry(id, error, due_ms, now_ms); });
  }
  Result<Job> FailFinal(std::string_view id, std::string error, std::int64_t now_ms,
                        AttemptOutcome outcome) override {
    return ById(id, [&](Store& s) { return s.FailFinal(id, error, now_ms, outcome); });
  }
  Result<Job> Requeue(std::string_view id, std::string reason, std::int64_t now_ms) override {
    return ById(id, [&](Store& s) { return s.Requeue(id, reason, now_ms); });
  }
  Result<Job> Retry(std::string_view id, std::int64_t now_ms) override {
    return ById(id, [&](Store& s) { return s.Retry(id, now_ms); });
  }
  Result<Job> Promote(std::string_view id, std::int64_t now_ms) override {
    return ById(id, [&](Store& s) { return s.Promote(id, now_ms); });
  }
  Status Delete(std::string_view id) override {
    Result<bool> deleted = ById(id, [&](Store& s) -> Result<bool> {
      HERALD_RETURN_IF_ERROR(s.Delete(id));
      return true;
    });
    return deleted.status();
  }

  // ---- Bulk changes and reads of a queue ----------------------------------------------------
  Result<std::uint64_t> RetryAllFailed(std::string_view queue, std::int64_t now_ms,
                                       std::vector<Job>* retried) override {
    return For(queue).RetryAllFailed(queue, now_ms, retried);
  }
  Result<std::uint64_t> PromoteDue(std::string_view queue, std::int64_t now_ms, std::uint64_t limit,
                                   std::vector<Job>* promoted) override {
    return For(queue).PromoteDue(queue, now_ms, limit, promoted);
  }
  std::optional<std::int64_t> NextDue(std::string_view queue) const override {
    return For(queue).NextDue(queue);
  }
  Result<std::uint64_t> Clean(std::string_view queue, JobState state, std::int64_t older_than_ms,
                              std::uint64_t limit, std::vector<Job>* cleaned) override {
    return For(queue).Clean(queue, state, older_than_ms, limit, cleaned);
  }
  Result<Job> Get(std::string_view id) const override {
    return ById(id, [&](Store& s) { return s.Get(id); });
  }
  bool SharedWithOtherNodes() const override { return true; }
  bool MayHaveWaiting(std::string_view queue) const override {
    return For(queue).MayHaveWaiting(queue);
  }
  Result<QueueCounts> Counts(std::string_view queue) const override {
    return For(queue).Counts(queue);
  }
  Result<JobPage> List(std::string_view queue, JobState state, std::string_view cursor,
                       std::uint32_t count) const override {
    return For(queue).List(queue, state, cursor, count);
  }
  std::uint64_t recovered_active() const override {
    return Sum([](const Store& s) { return s.recovered_active(); });
  }
  Status SetPaused(std::string_view queue, bool paused) override {
    return For(queue).SetPaused(queue, paused);
  }
  bool IsPaused(std::string_view queue) const override { return For(queue).IsPaused(queue); }

  // ---- Records, lists and strings: the first cluster's ------------------------------------
  Status PutRecord(RecordTable table, std::string_view key, std::string_view value) override {
    return First().PutRecord(table, key, value);
  }
  Result<std::optional<std::string>> GetRecord(RecordTable table,
                                               std::string_view key) const override {
    return First().GetRecord(table, key);
  }
  Status DeleteRecord(RecordTable table, std::string_view key) override {
    return First().DeleteRecord(table, key);
  }
  Result<Records> ScanRecordsAfter(RecordTable table, std::string_view after,
                                   std::uint32_t limit) const override {
    return First().ScanRecordsAfter(table, after, limit);
  }
  Result<Records> ScanRecords(RecordTable table, std::string_view prefix, std::uint32_t limit,
                              ScanOrder order) const override {
    return First().ScanRecords(table, prefix, limit, order);
  }
  Result<KvStore*> kv(int db) override { return First().kv(db); }
  Status ClearKv() override { return First().ClearKv(); }

  // ---- Durability and health: every cluster's ---------------------------------------------
  FsyncMode fsync_mode() const override { return First().fsync_mode(); }
  bool AllDurable() const override {
    return std::all_of(stores_.begin(), stores_.end(),
                       [](const auto& s) { return s->AllDurable(); });
  }
  void SyncAsync(std::function<void(Status)> done, std::size_t waiters) override {
    auto countdown = std::make_shared<Countdown>(stores_.size(), std::move(done));
    for (const auto& store : stores_) {
      store->SyncAsync([countdown](Status s) { countdown->Arrive(std::move(s)); }, waiters);
    }
  }
  std::uint64_t WalSyncs() const override {
    return Sum([](const Store& s) { return s.WalSyncs(); });
  }
  std::uint64_t Writes() const override {
    return Sum([](const Store& s) { return s.Writes(); });
  }
  Status WriteHealth() const override {
    for (std::size_t at = 0; at < stores_.size(); ++at) {
      Status health = stores_[at]->WriteHealth();
      if (!health.ok()) return health.WithPrefix("cluster '" + NameOf(at) + "'");
    }
    return Status::Ok();
  }
  std::uint64_t WriteFailures() const override {
    return Sum([](const Store& s) { return s.WriteFailures(); });
  }
  void SetWorkListener(WorkListener listener) override {
    for (const auto& store : stores_) store->SetWorkListener(listener);
  }

  Status SyncWal() override {
    for (const auto& store : stores_) HERALD_RETURN_IF_ERROR(store->SyncWal());
    return Status::Ok();
  }
  Status Checkpoint(const std::string& dir) override { return First().Checkpoint(dir); }
  Status VerifyChecksums() const override { return First().VerifyChecksums(); }
  std::uint64_t DiskBytes() const override {
    return Sum([](const Store& s) { return s.DiskBytes(); });
  }
  std::uint64_t MemtableBytes() const override {
    return Sum([](const Store& s) { return s.MemtableBytes(); });
  }

 private:
  PostgresStore& For(std::string_view queue) const {
    return *stores_[ClusterOfQueue(options_, queue)];
  }
  PostgresStore& First() const { return *stores_.front(); }
  const std::string& NameOf(std::size_t at) const { return options_.clusters[at].name; }
  spdlog::logger& Log() const { return *First().options().logger; }

  // The cluster whose generated ids include `id` (a decimal number); nullopt for another id.
  std::optional<std::size_t> MakerOf(std::string_view id) const {
    if (!IsGeneratedId(id) || id.size() > 19) return std::nullopt;
    return static_cast<std::size_t>(std::stoull(std::string(id)) % stores_.size());
  }

  // The clusters to ask for a job, in order: the one that made its id first.
  std::vector<std::size_t> OrderFor(std::string_view id) const {
    std::vector<std::size_t> order;
    order.reserve(stores_.size());
    const std::optional<std::size_t> maker = MakerOf(id);
    if (maker) order.push_back(*maker);
    for (std::size_t at = 0; at < stores_.size(); ++at) {
      if (at != maker) order.push_back(at);
    }
    return order;
  }

  // call(cluster) on the clusters in OrderFor(id) (skipping `skip`) until an answer is not
  // NotFound; the first NotFound when every one says so.
  template <typename Call>
  auto ById(std::string_view id, Call call, const Store* skip = nullptr) const
      -> decltype(call(std::declval<Store&>())) {
    std::optional<decltype(call(std::declval<Store&>()))> first;
    for (std::size_t at : OrderFor(id)) {
      if (stores_[at].get() == skip) continue;
      auto answer = call(*stores_[at]);
      if (answer.ok() || !answer.status().IsNotFound()) return answer;
      if (!first) first.emplace(std::move(answer));
    }
    if (!first) return Status::NotFound("job " + std::string(id) + " not found");
    return std::move(*first);
  }

  template <typename Read>
  std::uint64_t Sum(Read read) const {
    std::uint64_t total = 0;
    for (const auto& store : stores_) total += read(*store);
    return total;
  }

  const PostgresClustersOptions options_;
  const std::vector<std::unique_ptr<PostgresStore>> stores_;
};

}  // namespace
}  // namespace herald::storage::postgres

namespace herald::storage {

std::uint64_t QueueNameHash(std::string_view queue) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : queue) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::size_t ClusterOfQueue(const PostgresClustersOptions& options, std::string_view queue) {
  const std::size_t clusters = options.clusters.size();
  if (clusters <= 1) return 0;
  if (auto named = options.queues.find(queue); named != options.queues.end()) {
    for (std::size_t at = 0; at < clusters; ++at) {
      if (options.clusters[at].name == named->second) return at;
    }
  }
  return static_cast<std::size_t>(QueueNameHash(queue) % clusters);
}

Status ValidateClusterMap(const PostgresClustersOptions& options) {
  if (options.clusters.empty() || options.clusters.size() > kMaxPostgresClusters) {
    return Status::InvalidArgument("a cluster map needs 1 to " +
                                   std::to_string(kMaxPostgresClusters) + " clusters, not " +
                                   std::to_string(options.clusters.size()));
  }
  std::set<std::string, std::less<>> names;
  for (const PostgresCluster& cluster : options.clusters) {
    if (!postgres::ValidClusterName(cluster.name)) {
      return Status::InvalidArgument("cluster name " + Quote(cluster.name) +
                                     " must be 1 to 64 bytes of [A-Za-z0-9_.-]");
    }
    if (!names.insert(cluster.name).second) {
      return Status::InvalidArgument("cluster '" + cluster.name + "' is named twice");
    }
    if (cluster.conninfo.empty()) {
      return Status::InvalidArgument("cluster '" + cluster.name + "' has no conninfo");
    }
  }
  for (const auto& [queue, cluster] : options.queues) {
    HERALD_RETURN_IF_ERROR(ValidateQueueName(queue).WithPrefix("store.queues"));
    if (names.count(cluster) == 0) {
      return Status::InvalidArgument("queue " + Quote(queue) + " is mapped to cluster '" + cluster +
                                     "', which the map does not have");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Store>> OpenPostgresClusters(PostgresClustersOptions options) {
  HERALD_RETURN_IF_ERROR(ValidateClusterMap(options));
  std::vector<std::unique_ptr<postgres::PostgresStore>> stores;
  const auto count = static_cast<std::uint32_t>(options.clusters.size());
  for (std::uint32_t at = 0; at < count; ++at) {
    PostgresStoreOptions each = options.each;
    each.conninfo = options.clusters[at].conninfo;
    each.cluster_name = options.clusters[at].name;
    each.cluster_position = at;
    each.clusters = count;
    Result<std::unique_ptr<Store>> opened = OpenPostgresStore(std::move(each));
    if (!opened.ok()) {
      return opened.status().WithPrefix("cluster '" + options.clusters[at].name + "'");
    }
    if (count == 1) return std::move(opened).value();
    stores.emplace_back(static_cast<postgres::PostgresStore*>(opened->release()));
  }
  std::string names;
  for (const PostgresCluster& cluster : options.clusters) {
    names += (names.empty() ? "" : ", ") + cluster.name;
  }
  std::string placed;
  for (const auto& [queue, cluster] : options.queues) {
    placed += (placed.empty() ? "" : ", ") + queue + " on " + cluster;
  }
  std::shared_ptr<spdlog::logger> log = options.each.logger;
  auto map = std::make_unique<postgres::PostgresClusters>(std::move(options), std::move(stores));
  HERALD_RETURN_IF_ERROR(map->CheckPlacement());
  log->info("store: a map of {} postgres clusters ({}); {}{}the other queues by hash of the name",
            count, names, placed, placed.empty() ? "" : "; ");
  return std::unique_ptr<Store>(std::move(map));
}

}  // namespace herald::storage
