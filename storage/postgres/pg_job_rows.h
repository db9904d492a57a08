// Internal to storage/postgres. Jobs as rows of herald_jobs (pg_schema.h): reading the records a
// statement returns, and writing any number of jobs in one statement (arrays unnested into
// rows), so that a batch costs one round trip however many jobs it holds.
//
// Thread safety: functions on a connection the caller holds, inside its transaction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/job.h"
#include "storage/postgres/pg_connection.h"

namespace herald::storage::postgres {

// The columns every statement that reads jobs selects, in this order.
inline constexpr std::string_view kJobColumns = "id, record";

// The jobs of `rows` (columns: kJobColumns). Corruption naming the job when a record does not
// decode or names another id.
Result<std::vector<Job>> JobsOf(const PgResult& rows);

// Inserts `jobs` (new ones); a job whose id exists already is skipped. Returns the ids
// inserted. lease_node is `node` for an active job, '' otherwise.
Result<std::vector<std::string>> InsertJobs(PgConnection* conn, const std::vector<const Job*>& jobs,
                                            std::string_view node);

// UpdateJobs, NotifyWork and DeleteJobs hold their statement on the connection: it goes out
// with the transaction's next statement or its COMMIT (PgConnection::Defer).

// Writes `jobs` over their rows (the caller holds their row locks).
Status UpdateJobs(PgConnection* conn, const std::vector<const Job*>& jobs, std::string_view node);

// Tells the other nodes (NOTIFY on kWorkChannel, delivered at commit) of the jobs of `jobs`
// that are waiting or delayed now: one notification per queue, "<node>\n<queue>\n<due_ms>"
// with due_ms 0 when some are waiting, else the earliest due time. Nothing when none are.
Status NotifyWork(PgConnection* conn, const std::vector<const Job*>& jobs, std::string_view node);
inline constexpr std::string_view kWorkChannel = "herald_work";

// Deletes the rows of `ids`.
Status DeleteJobs(PgConnection* conn, const std::vector<std::string>& ids);

}  // namespace herald::storage::postgres
