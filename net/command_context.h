// CommandContext: what a command handler sees of its connection — the reply writer, the
// server's shared state, the client's own state — and how a blocking command parks the
// connection until an answer arrives from another thread.
//
// Thread safety: confined to the thread running the handler (the connection's strand, or a
// write-pool thread while the connection waits). Parker::Resume may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "net/resp/reply_writer.h"
#include "net/server_state.h"
#include "storage/kv_store.h"

namespace herald::net {

class Connection;

// The handle of a parked connection. Exactly one Resume() (or the connection closing) ends
// the park.
class Parker {
 public:
  explicit Parker(std::weak_ptr<Connection> connection) : connection_(std::move(connection)) {}
  // Writes the reply with `write` on the connection's strand and lets it read the next
  // command. Returns false when the park already ended or the connection is gone (the caller
  // then still owns whatever it meant to deliver).
  bool Resume(std::function<void(resp::ReplyWriter&)> write);
  // Claims the park without resuming yet (so that a timeout and a wake-up cannot both win).
  bool Claim() { return !done_.exchange(true); }
  // Resumes a park already claimed with Claim().
  void ResumeClaimed(std::function<void(resp::ReplyWriter&)> write);
  bool connection_alive() const { return !connection_.expired(); }

 private:
  std::weak_ptr<Connection> connection_;
  std::atomic<bool> done_{false};
};

class CommandContext {
 public:
  // `kv_group` (may be null) collects the list and string writes of the commands of one read
  // batch; the connection commits it before their replies are sent.
  CommandContext(ServerState* server, Connection* connection, resp::ReplyWriter* writer,
                 storage::KvWriteGroup* kv_group = nullptr)
      : server_(server), connection_(connection), writer_(writer), kv_group_(kv_group) {}

  resp::ReplyWriter& reply() { return *writer_; }
  ServerState& server() { return *server_; }
  // Pass to every KvStore write: null (durable on return) or the read batch's group.
  storage::KvWriteGroup* kv_group() { return kv_group_; }
  ClientInfo& client();
  // The database the connection has selected (SELECT), and its lists and strings.
  int db() { return client().db.load(std::memory_order_relaxed); }
  void set_db(int db) { client().db.store(db, std::memory_order_relaxed); }
  storage::KvStore& kv() { return server_->kv(db()); }
  int protocol() const;
  void set_protocol(int protocol);
  bool authenticated() const;
  void set_authenticated(bool authenticated);
  // Closes the connection once the replies written so far are sent (QUIT).
  void CloseAfterReply();
  // Parks the connection: no more commands are read until the Parker resumes it.
  // `on_close` runs on the strand if the client disconnects while parked.
  std::shared_ptr<Parker> Park(std::function<void()> on_close);
  boost::asio::any_io_executor executor();

  // Shortcuts for the common replies.
  void Ok() { writer_->SimpleString("OK"); }
  void Error(std::string_view message) { writer_->Error(message); }
  // "ERR wrong number of arguments for 'x' command"
  void WrongArity(std::string_view command);
  // "ERR syntax error"
  void SyntaxError() { writer_->Error("ERR syntax error"); }
  // A Status as a Redis error ("ERR ...", "WRONGTYPE ...", "NOJOB ..."); see status_reply.h.
  void StatusError(const Status& status, std::string_view not_found_code = "ERR");

 private:
  ServerState* server_;
  Connection* connection_;
  resp::ReplyWriter* writer_;
  storage::KvWriteGroup* kv_group_;
};

}  // namespace herald::net
