// Connection: one RESP client. Reads requests, parses them incrementally, runs each command
// through the table, and writes all replies of one read batch together (pipelining). Blocking
// commands park the connection; it keeps reading (to notice a disconnect, within the query
// buffer limit) but runs nothing until resumed.
//
// Thread safety: confined to its strand; kept alive by its pending operations (shared_ptr).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

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
  // `write_pool` may be null (writes run on the strand); `committer` may be null (each batch
  // commits its list and string writes itself). Both must outlive the connection.
  Connection(boost::asio::ip::tcp::socket socket, ServerState* server,
             boost::asio::thread_pool* write_pool, KvCommitter* committer = nullptr);
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
  // Runs the complete commands in the input, then flushes.
  void Process();
  void Execute(std::vector<std::string>& args, engine::KvWriteGroup* kv_group);
  // The writes of the batch whose replies start at `replies_before` were committed (or not:
  // the replies are replaced by the error); sends the replies, then (resume) goes on with the
  // input that arrived meanwhile.
  void OnCommitted(const Status& committed, std::size_t replies_before, bool resume = true);
  void RunOffloaded(ResolvedCommand command, std::vector<std::string> args);
  void Flush();
  void OnWritten(boost::system::error_code ec, std::size_t n);
  void Close();
  void Resume(std::function<void(resp::ReplyWriter&)> write) override;
  // (Re)starts the idle timeout's wait: wait_ms, or (negative) the whole timeout in force now
  // (none when the timeout is 0).
  void ArmIdleTimer(std::int64_t wait_ms = -1);

  boost::asio::ip::tcp::socket socket_;
  ServerState* server_;
  boost::asio::thread_pool* write_pool_;
  KvCommitter* committer_;
  boost::asio::steady_timer idle_timer_;
  std::shared_ptr<ClientInfo> info_;
  resp::RequestParser parser_;
  std::array<char, 16 * 1024> read_chunk_;
  std::string input_;  // bytes read and not yet parsed, from input_pos_
  std::size_t input_pos_ = 0;
  std::string output_;   // replies waiting to be written
  std::string writing_;  // replies being written
  resp::ReplyWriter writer_;
  std::vector<std::string> args_;
  bool reading_ = false;
  bool write_in_flight_ = false;
  bool busy_ = false;        // a command is parked or running on the write pool
  bool committing_ = false;  // replies wait for the committer
  bool close_after_flush_ = false;
  bool closed_ = false;
  bool authenticated_ = false;
  std::function<void()> on_close_;  // of the parked command
  std::shared_ptr<Parker> parker_;
};

}  // namespace herald::net
