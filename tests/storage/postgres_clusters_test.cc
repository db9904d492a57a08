// Several PostgreSQL clusters behind one store by a queue map (OpenPostgresClusters): where
// queues and their jobs go, ids that name their cluster, calls by id and batches across
// clusters, the checks that keep a map fixed, imports, notices from every cluster, records on
// the first. Each cluster is a database of its own on the test's PostgreSQL server (a database
// has its own tables, sequence and notices, as a cluster has); the contract suite
// (store_contract_test.cc) runs against such a map too.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "storage/postgres/postgres_store.h"
#include "tests/storage/store_fixture.h"
#include "tests/support/postgres_server.h"

namespace herald::storage {
namespace {

using namespace std::chrono_literals;

class PostgresClustersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::SharedPostgresServer(&why_not);
    HERALD_SKIP_WITHOUT_POSTGRES(server_, why_not);
    static int maps = 0;
    const std::string prefix = "map" + std::to_string(++maps) + "_";
    for (const char* name : {"east", "west", "north"}) {
      const std::string db = prefix + name;
      ASSERT_EQ(server_->CreateDatabase(db), "");
      dbs_.push_back(db);
    }
  }

  // The map east (queue "emails"), west (queue "tickets"), the other queues by hash.
  PostgresClustersOptions Map(const std::string& node = "n1") {
    PostgresClustersOptions map;
    map.clusters = {{"east", server_->ConnInfo(dbs_[0])}, {"west", server_->ConnInfo(dbs_[1])}};
    map.queues = {{"emails", "east"}, {"tickets", "west"}};
    map.each.node = node;
    map.each.logger = NullLogger();
    return map;
  }

  std::unique_ptr<Store> Open(PostgresClustersOptions map) {
    auto opened = OpenPostgresClusters(std::move(map));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    return opened.ok() ? std::move(opened).value() : nullptr;
  }

  // Jobs of `queue` in database `db`, as the database has them.
  std::string JobsIn(std::size_t db, const std::string& queue) {
    return server_->Psql("SELECT count(*) FROM herald_jobs WHERE queue = '" + queue + "'",
                         dbs_[db]);
  }

  std::string AddTo(Store& store, const std::string& queue, NewJob job = Payload("{}")) {
    auto added = store.Add(queue, std::move(job), now_);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->id : "";
  }

  testing::PostgresServer* server_ = nullptr;
  std::vector<std::string> dbs_;
  std::int64_t now_ = kNow;
};

TEST(ClusterMapTest, QueuesNamedByTheMapGoThereAndTheOthersByTheirNamesHash) {
  PostgresClustersOptions map;
  map.clusters = {{"a", "host=x"}, {"b", "host=y"}, {"c", "host=z"}};
  map.queues = {{"emails", "c"}};
  EXPECT_EQ(ClusterOfQueue(map, "emails"), 2u);
  // FNV-1a, 64 bits: the published test vectors.
  EXPECT_EQ(QueueNameHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(QueueNameHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(QueueNameHash("foobar"), 0x85944171f73967e8ULL);
  for (const std::string queue : {"tickets", "notifications", "q", "x.y:z"}) {
    EXPECT_EQ(ClusterOfQueue(map, queue), QueueNameHash(queue) % 3) << queue;
  }
  map.clusters.resize(1);
  EXPECT_EQ(ClusterOfQueue(map, "emails"), 0u);  // one cluster keeps everything
}

TEST(ClusterMapTest, AMapThatCannotWorkIsRefusedNamingTheProblem) {
  auto refused = [](PostgresClustersOptions map) {
    Status s = ValidateClusterMap(map);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
    return s.message();
  };
  PostgresClustersOptions map;
  EXPECT_NE(refused(map).find("needs 1 to 64 clusters, not 0"), std::string::npos);
  map.clusters = {{"a", "host=x"}, {"a", "host=y"}};
  EXPECT_NE(refused(map).find("cluster 'a' is named twice"), std::string::npos);
  map.clusters = {{"a b", "host=x"}};
  EXPECT_NE(refused(map).find("[A-Za-z0-9_.-]"), std::string::npos);
  map.clusters = {{"a", ""}};
  EXPECT_NE(refused(map).find("cluster 'a' has no conninfo"), std::string::npos);
  map.clusters = {{"a", "host=x"}};
  map.queues = {{"emails", "b"}};
  EXPECT_NE(refused(map).find("mapped to cluster 'b', which the map does not have"),
            std::string::npos);
  map.queues = {{"bad queue", "a"}};
  EXPECT_NE(refused(map).find("store.queues"), std::string::npos);
  map.queues = {{"emails", "a"}};
  EXPECT_TRUE(ValidateClusterMap(map).ok());
}

TEST_F(PostgresClustersTest, EachQueuesJobsLiveOnItsClusterAndIdsNameTheirCluster) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("emails").ok());
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const std::string email = AddTo(*store, "emails");
    const std::string ticket = AddTo(*store, "tickets");
    // Generated ids: n * 2 + position, so east's are even and west's odd; never the same.
    EXPECT_EQ(std::stoull(email) % 2, 0u) << email;
    EXPECT_EQ(std::stoull(ticket) % 2, 1u) << ticket;
    EXPECT_TRUE(ids.insert(email).second && ids.insert(ticket).second);
  }
  EXPECT_EQ(JobsIn(0, "emails"), "5");
  EXPECT_EQ(JobsIn(1, "emails"), "0");
  EXPECT_EQ(JobsIn(1, "tickets"), "5");
  EXPECT_EQ(JobsIn(0, "tickets"), "0");
  for (const std::string& id : ids) {
    auto job = store->Get(id);
    ASSERT_TRUE(job.ok()) << id << ": " << job.status().ToString();
    EXPECT_EQ(job->queue, std::stoull(id) % 2 == 0 ? "emails" : "tickets");
  }
  EXPECT_TRUE(store->Get("424242").status().IsNotFound());
  EXPECT_EQ(store->ListQueues(), (std::vector<std::string>{"emails", "tickets"}));
  auto counts = store->Counts("tickets");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->waiting, 5u);
}

TEST_F(PostgresClustersTest, CallsByIdFindCallersIdsOnAnyCluster) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("emails").ok());
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  NewJob job = Payload("ticket");
  job.id = "evt-7.tickets";
  ASSERT_EQ(AddTo(*store, "tickets", job), "evt-7.tickets");
  auto taken = store->Take("tickets", now_, "w");
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->id, "evt-7.tickets");
  auto failed = store->FailRetry("evt-7.tickets", "smtp down", now_ + 1000, now_);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_EQ(failed->state, JobState::kDelayed);
  ASSERT_TRUE(store->Promote("evt-7.tickets", now_).ok());
  EXPECT_EQ(store->Get("evt-7.tickets")->state, JobState::kWaiting);
  // An answer that is not NotFound is the answer: no other cluster is asked.
  EXPECT_TRUE(store->Complete("evt-7.tickets", "", now_).status().IsInvalidArgument());
  ASSERT_TRUE(store->Delete("evt-7.tickets").ok());
  Status gone = store->Delete("evt-7.tickets");
  EXPECT_TRUE(gone.IsNotFound()) << gone.ToString();
  EXPECT_NE(gone.message().find("evt-7.tickets"), std::string::npos);
}

TEST_F(PostgresClustersTest, BatchesAcrossClustersKeepTheirOrder) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("emails").ok());
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  NewJob custom = Payload("custom");
  custom.id = "t-custom";
  const std::string e1 = AddTo(*store, "emails");
  const std::string t1 = AddTo(*store, "tickets", custom);
  const std::string e2 = AddTo(*store, "emails");
  const std::string t2 = AddTo(*store, "tickets");
  for (const char* queue : {"emails", "emails", "tickets", "tickets"}) {
    auto taken = store->Take(queue, now_, "w");
    ASSERT_TRUE(taken.ok() && taken->has_value());
  }
  std::vector<Result<Job>> done = store->CompleteMany(
      {{t1, "r-t1"}, {e1, "r-e1"}, {"missing", ""}, {t2, "r-t2"}, {e2, "r-e2"}}, now_);
  ASSERT_EQ(done.size(), 5u);
  EXPECT_TRUE(done[0].ok() && done[0]->id == t1 && done[0]->return_value == "r-t1");
  EXPECT_TRUE(done[1].ok() && done[1]->id == e1 && done[1]->return_value == "r-e1");
  EXPECT_TRUE(done[2].status().IsNotFound()) << done[2].status().ToString();
  EXPECT_TRUE(done[3].ok() && done[3]->id == t2);
  EXPECT_TRUE(done[4].ok() && done[4]->id == e2);
  EXPECT_EQ(store->Counts("emails")->completed, 2u);
  EXPECT_EQ(store->Counts("tickets")->completed, 2u);
}

TEST_F(PostgresClustersTest, CompleteAndTakeAcrossClustersCompletesThenTakes) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("emails").ok());
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  const std::string email = AddTo(*store, "emails");
  const std::string ticket = AddTo(*store, "tickets");
  const std::string next_email = AddTo(*store, "emails");
  ASSERT_TRUE(store->Take("emails", now_, "w")->has_value());
  // The job is east's, the next queue west's: two writes, the take after the completion.
  CompleteAndTakeResult r = store->CompleteAndTake({email, "sent"}, "tickets", now_, "w");
  ASSERT_TRUE(r.completed.ok()) << r.completed.status().ToString();
  EXPECT_EQ(r.completed->state, JobState::kCompleted);
  ASSERT_TRUE(r.next.has_value());
  EXPECT_EQ(r.next->id, ticket);
  // The same cluster: as one store does it.
  r = store->CompleteAndTake({ticket, ""}, "emails", now_, "w");
  ASSERT_TRUE(r.completed.ok());
  ASSERT_TRUE(r.next.has_value());
  EXPECT_EQ(r.next->id, next_email);
  // A completion that fails takes nothing.
  r = store->CompleteAndTake({"nope", ""}, "emails", now_, "w");
  EXPECT_TRUE(r.completed.status().IsNotFound());
  EXPECT_FALSE(r.next.has_value());
}

TEST_F(PostgresClustersTest, ADatabaseKeepsItsPlaceInTheMap) {
  { ASSERT_TRUE(Open(Map())); }
  // The two entries swapped: each database says which it is.
  PostgresClustersOptions swapped = Map();
  std::swap(swapped.clusters[0].conninfo, swapped.clusters[1].conninfo);
  auto refused = OpenPostgresClusters(std::move(swapped));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalidArgument());
  EXPECT_NE(refused.status().message().find("cluster 'east': this database is cluster 'west' (2 "
                                            "of 2) of its cluster map, but the configuration "
                                            "names it 'east' (1 of 2)"),
            std::string::npos)
      << refused.status().ToString();
  // Two entries of one map on one database.
  PostgresClustersOptions twice = Map();
  twice.clusters[1].conninfo = twice.clusters[0].conninfo;
  EXPECT_TRUE(OpenPostgresClusters(std::move(twice)).status().IsInvalidArgument());
  // A third cluster added later: the ids made so far were of a map of two.
  PostgresClustersOptions grown = Map();
  grown.clusters.push_back({"north", server_->ConnInfo(dbs_[2])});
  EXPECT_TRUE(OpenPostgresClusters(std::move(grown)).status().IsInvalidArgument());
  // One database alone, without the map.
  PostgresStoreOptions alone;
  alone.conninfo = server_->ConnInfo(dbs_[0]);
  alone.node = "n1";
  alone.logger = NullLogger();
  EXPECT_TRUE(OpenPostgresStore(alone).status().IsInvalidArgument());
  // The map as it was opens.
  EXPECT_TRUE(Open(Map()));
}

TEST_F(PostgresClustersTest, ADatabaseWithJobsMadeWithoutAMapIsNotGivenAPlaceInOne) {
  PostgresStoreOptions alone;
  alone.conninfo = server_->ConnInfo(dbs_[0]);
  alone.node = "n1";
  alone.logger = NullLogger();
  {
    auto single = OpenPostgresStore(alone);
    ASSERT_TRUE(single.ok()) << single.status().ToString();
    ASSERT_TRUE((*single)->EnsureQueue("emails").ok());
    ASSERT_TRUE((*single)->Add("emails", Payload("old"), now_).ok());
  }
  // As a database of a build before the map has it: no place recorded.
  server_->Psql("DELETE FROM herald_cluster", dbs_[0]);
  auto refused = OpenPostgresClusters(Map());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("holds jobs of a Herald without a cluster map"),
            std::string::npos)
      << refused.status().ToString();
  // It opens alone again (and records that place).
  EXPECT_TRUE(OpenPostgresStore(alone).ok());
}

TEST_F(PostgresClustersTest, AQueueWithJobsOnAnotherClusterThanTheMapSaysIsRefused) {
  {
    auto store = Open(Map());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->EnsureQueue("emails").ok());
    ASSERT_TRUE(store->EnsureQueue("tickets").ok());
    AddTo(*store, "emails");
  }
  PostgresClustersOptions moved = Map();
  moved.queues = {{"emails", "west"}, {"tickets", "east"}};
  auto refused = OpenPostgresClusters(std::move(moved));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "queue 'emails' is kept by cluster 'east', but the map puts it on 'west', and its "
                "1 jobs would be left behind: name it in store.queues (emails = \"east\")"),
            std::string::npos)
      << refused.status().ToString();
  // "tickets" has no jobs: moving it is allowed, and the map's cluster serves it.
  PostgresClustersOptions only_tickets = Map();
  only_tickets.queues = {{"emails", "east"}, {"tickets", "east"}};
  auto store = Open(std::move(only_tickets));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  AddTo(*store, "tickets");
  EXPECT_EQ(JobsIn(0, "tickets"), "1");
}

TEST_F(PostgresClustersTest, ImportsKeepIdsUniqueAcrossTheMap) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->EnsureQueue("emails").ok());
  ASSERT_TRUE(store->EnsureQueue("tickets").ok());
  // 1001 is odd: an id west makes. Imported into east's queue, west must never make it.
  Job exported;
  exported.id = "1001";
  exported.payload = "from elsewhere";
  exported.max_attempts = 1;
  exported.created_ms = now_;
  auto imported = store->Import("emails", exported);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_TRUE(imported->created);
  for (int i = 0; i < 20; ++i) EXPECT_GT(std::stoull(AddTo(*store, "tickets")), 1001u);
  EXPECT_EQ(store->Get("1001")->queue, "emails");  // found though west is asked first
  // An id another cluster has: nothing imported, as one store would do.
  NewJob named = Payload("ticket");
  named.id = "shared-id";
  AddTo(*store, "tickets", named);
  Job again;
  again.id = "shared-id";
  again.payload = "other";
  again.max_attempts = 1;
  again.created_ms = now_;
  auto skipped = store->Import("emails", again);
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(skipped->created);
  EXPECT_EQ(JobsIn(0, "emails"), "1");
}

TEST_F(PostgresClustersTest, WorkOfOtherNodesIsHeardFromEveryCluster) {
  auto mine = Open(Map("n1"));
  auto theirs = Open(Map("n2"));
  ASSERT_TRUE(mine && theirs);
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> heard;
  mine->SetWorkListener([&](std::string_view queue, std::int64_t) {
    std::lock_guard<std::mutex> lock(mu);
    heard.emplace(queue);
    cv.notify_all();
  });
  ASSERT_TRUE(theirs->EnsureQueue("emails").ok());
  ASSERT_TRUE(theirs->EnsureQueue("tickets").ok());
  AddTo(*theirs, "emails");
  AddTo(*theirs, "tickets");
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(
      cv.wait_for(lock, 10s, [&] { return heard.count("emails") && heard.count("tickets"); }));
  lock.unlock();
  mine->SetWorkListener(nullptr);
}

TEST_F(PostgresClustersTest, RecordsLiveOnTheFirstCluster) {
  auto store = Open(Map());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->PutRecord(RecordTable::kTickets, "t-1", "open").ok());
  EXPECT_EQ(store->GetRecord(RecordTable::kTickets, "t-1")->value_or(""), "open");
  EXPECT_EQ(server_->Psql("SELECT count(*) FROM herald_records", dbs_[0]), "1");
  EXPECT_EQ(server_->Psql("SELECT count(*) FROM herald_records", dbs_[1]), "0");
}

TEST_F(PostgresClustersTest, AClusterThatCannotBeReachedIsNamed) {
  PostgresClustersOptions map = Map();
  map.clusters[1].conninfo = "host=127.0.0.1 port=1 dbname=x connect_timeout=2";
  auto refused = OpenPostgresClusters(std::move(map));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsIOError()) << refused.status().ToString();
  EXPECT_EQ(refused.status().message().rfind("cluster 'west': ", 0), 0u)
      << refused.status().ToString();
}

}  // namespace
}  // namespace herald::storage
