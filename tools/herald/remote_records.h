// RemoteRecords: the records of a `herald worker`'s handlers (delivery log, inbox, tickets,
// preferences and device tokens) kept by the broker it works for, through the broker's RECORD
// commands (net/commands/record_commands.cc), so that INBOX, SENT, TICKETS and /api/users on the
// broker show every delivery wherever its handler ran.
//
// Each call borrows one of its connections (opened on demand, AUTH when a password is set, at
// most one per calling thread at a time) and gives it back; a call whose connection broke is
// sent once more on a new one (every call is idempotent: a put of the same value, a delete, a
// read). The broker answers a PUT or DEL once it is durable under its fsync mode, so a delivery
// recorded before the job's acknowledgement is kept even when the worker dies in between.
// A scan reads at most 10000 records (the broker's bound): a larger `limit`, or 0 (all), is
// InvalidArgument.
//
// Thread safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "engine/records.h"

namespace herald::client {
class Client;
}

namespace herald::resp {
struct Reply;
}

namespace herald::tools {

struct RemoteRecordsOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6380;
  std::string password;  // AUTH when set
  // Bound on connecting and on each wait for the broker. Default: 10 s.
  std::chrono::milliseconds timeout{10000};
};

class RemoteRecords final : public engine::Records {
 public:
  explicit RemoteRecords(RemoteRecordsOptions options);
  ~RemoteRecords() override;

  Status Put(engine::RecordKind kind, std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> Get(engine::RecordKind kind,
                                         std::string_view key) const override;
  Status Delete(engine::RecordKind kind, std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> Scan(
      engine::RecordKind kind, std::string_view prefix, std::uint32_t limit,
      engine::ScanOrder order) const override;

 private:
  // Sends `args` and returns the broker's reply; an error reply becomes a Status naming it.
  Result<resp::Reply> Call(const std::vector<std::string>& args) const EXCLUDES(mu_);
  Result<std::unique_ptr<client::Client>> Borrow() const EXCLUDES(mu_);
  void GiveBack(std::unique_ptr<client::Client> connection) const EXCLUDES(mu_);

  const RemoteRecordsOptions options_;
  mutable Mutex mu_;
  mutable std::vector<std::unique_ptr<client::Client>> idle_ GUARDED_BY(mu_);
};

}  // namespace herald::tools
