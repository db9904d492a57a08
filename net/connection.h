// Connection: one RESP client. Reads requests, parses them incrementally, runs each command
// through the table, and writes all replies of one read batch together (pipelining). Blocking
// commands park the connection; it keeps reading (to notice a disconnect, within the query
// buffer limit) but runs nothing until resumed.
//
// Durable replies. The commands of a batch run on the strand under a SyncDeferral: their writes
// reach the WAL without a sync each. The batch's replies are then sealed and wait until the
// writes they confirm are durable: the list and string rows go out through the KvCommitter
// (with the other clients' of the same moment), and in `always` mode one WAL sync, shared with
// every writer of that moment (engine::Durability::AfterSync), covers the batch. A batch that
// wrote nothing waits too when anything written by anybody is not durable yet, since its
// replies may show it (Redis sends every reply of an event-loop iteration after its fsync).
// Nothing runs on the connection while its replies wait; requests that arrive are read. When
// the sync fails, every reply of a write command of the batch becomes that error. A command
// that parks in the middle of a pipeline seals the replies before it; its own reply, when it
// is resumed, starts the next batch.
//
// Runs of adds. Where each add alone waits for a commit of its own (the postgres store:
// Broker::adds_wait_for_commits), the ADDJOBs that follow each other in the input are handed
// to the store together (Broker::AddManyAsync, one call per queue; the adds of every
// connection in flight share a commit), up to kMaxRunOfAdds: the connection runs nothing
// else meanwhile and, once all are answered, writes their replies in order and goes on with
// the next command. No I/O thread waits for the database.
//
// Thread safety: confined to its strand; kept alive by its pending operations (shared_ptr).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/client_session.h"
#include "net/command_context.h"
#include "net/dispatch.h"
#include "net/kv_committer.h"
#include "net/resp/reply_writer.h"
#include "net/resp/request_parser.h"
#include "net/server_state.h"

namespace herald::net {

class Connection final : public ClientSession, public std::enable_shared_from_this<Connection> {
 public:
  // `committer` may be null (each batch commits its list and string writes itself); it must
  // outlive the connection.
  Connection(boost::asio::ip::tcp::socket socket, ServerState* server,
             KvCommitter* committer = nullptr);
  ~Connection();

  void Start();
  // Closes the socket from any thread (server shutdown).
  void Stop();

  // ClientSession (on the strand).
  ClientInfo& info() override { return *info_; }
  bool authenticated() const override { return authenticated_; }
  void set_authenticated(bool authenticated) override { authenticated_ = authenticated; }
  void set_protocol(int protocol) override;
  void CloseAfterReply() override { close_after_flush_ = true; }
  std::shared_ptr<Parker> Park(std::function<void()> on_close) override;
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }

 private:
  void DoRead();
  void OnRead(boost::system::error_code ec, std::size_t n);
  // Runs the complete commands in the input (unless parked or waiting for a sync), then ends
  // the batch.
  void Process();
  void Execute(std::vector<std::string>& args, engine::KvWriteGroup* kv_group);
  // Sends the replies of the batch, at once or (sealed) once its writes and everything they
  // may show are durable. `kv_group` (may be null) holds the batch's list and string writes.
  void EndBatch(engine::KvWriteGroup* kv_group);
  // The sealed replies' writes are durable (or not: `synced` is the error, and each write
  // command's reply becomes it); sends them and goes on with the input read meanwhile.
  void OnSynced(const Status& synced);
  void Flush();
  void OnWritten(boost::system::error_code ec, std::size_t n);
  void Close();
  // Whether the command in `args` is an ADDJOB that joins the run of adds (it would be
  // deferred, not refused).
  bool JoinsRunOfAdds(std::vector<std::string>& args);
  // Hands the run of adds to the broker; the connection waits (busy_) for their answers.
  void StartRunOfAdds();
  struct RunOfAdds;
  // On the strand: the run's answers, written in order; then the input goes on.
  void EndRunOfAdds(const RunOfAdds& run);
  void Resume(std::function<void(resp::ReplyWriter&)> write) override;
  // (Re)starts the idle timeout's wait: wait_ms, or (negative) the whole timeout in force now
  // (none when the timeout is 0).
  void ArmIdleTimer(std::int64_t wait_ms = -1);
  // On the strand, when the idle timer is due: closes the client, or waits for what is left.
  void OnIdleTimer();

  boost::asio::ip::tcp::socket socket_;
  ServerState* server_;
  KvCommitter* committer_;
  engine::Durability* durability_;
  ClockTimers::Id idle_timer_ = ClockTimers::kNone;  // on server_->timers()
  std::shared_ptr<ClientInfo> info_;
  resp::RequestParser parser_;
  std::array<char, 16 * 1024> read_chunk_;
  std::string input_;  // bytes read and not yet parsed, from input_pos_
  std::size_t input_pos_ = 0;
  // A reply of a write command: where it is in batch_ (then sealed_).
  struct WriteReply {
    std::size_t begin;
    std::size_t end;
  };
  std::string batch_;  // replies of the commands run since the last seal (writer_ writes here)
  std::vector<WriteReply> batch_writes_;
  std::string sealed_;  // replies waiting for their writes to be durable
  std::vector<WriteReply> sealed_writes_;
  std::string output_;   // replies ready to be written
  std::string writing_;  // replies being written
  resp::ReplyWriter writer_;
  std::vector<std::string> args_;
  const bool runs_of_adds_;        // adds wait for commits: ADDJOBs are run together
  std::vector<DeferredAdd> adds_;  // the run being gathered
  bool reading_ = false;
  bool write_in_flight_ = false;
  bool busy_ = false;          // a command is parked
  bool parked_write_ = false;  // the parked command writes (BLPOP, GETJOB)
  bool syncing_ = false;       // sealed_ waits for the committer or a WAL sync
  bool close_after_flush_ = false;
  bool closed_ = false;
  bool authenticated_ = false;
  std::function<void()> on_close_;  // of the parked command
  std::shared_ptr<Parker> parker_;
};

}  // namespace herald::net
