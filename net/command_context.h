// CommandContext: what a command handler sees of its client — the reply writer, the server's
// shared state, the client's session (client_session.h) — and how a blocking command parks the
// session until an answer arrives from another thread.
//
// Thread safety: confined to the thread running the handler (the session's strand, or a
// write-pool thread while the session waits). Parker::Resume may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/broker.h"
#include "engine/keyspace.h"
#include "net/client_session.h"
#include "net/resp/reply_writer.h"
#include "net/server_state.h"

namespace herald::net {

// An ADDJOB whose write a connection hands to the store together with the ADDJOBs after it
// (Connection: when each add alone would wait for a commit of its own).
struct DeferredAdd {
  std::string queue;
  std::string payload;
  engine::JobOptions options;
};

class CommandContext {
 public:
  // `kv_group` (may be null) collects the list and string writes of the commands of one read
  // batch; the connection commits it before their replies are sent.
  // `session` and `writer` are borrowed for the handler's call.
  CommandContext(ServerState* server, ClientSession* session, resp::ReplyWriter* writer,
                 engine::KvWriteGroup* kv_group = nullptr)
      : server_(server), session_(session), writer_(writer), kv_group_(kv_group) {}

  resp::ReplyWriter& reply() { return *writer_; }
  ServerState& server() { return *server_; }
  // Pass to every KvStore write: null (durable on return) or the read batch's group.
  engine::KvWriteGroup* kv_group() { return kv_group_; }
  ClientInfo& client() { return session_->info(); }
  // The database the connection has selected (SELECT), and its lists and strings.
  int db() { return client().db.load(std::memory_order_relaxed); }
  void set_db(int db) { client().db.store(db, std::memory_order_relaxed); }
  engine::KvStore& kv() { return server_->kv(db()); }
  int protocol() const { return writer_->protocol(); }
  // This reply and the session's next ones (HELLO).
  void set_protocol(int protocol) {
    writer_->set_protocol(protocol);
    session_->set_protocol(protocol);
  }
  bool authenticated() const { return session_->authenticated(); }
  void set_authenticated(bool authenticated) { session_->set_authenticated(authenticated); }
  // Closes the connection once the replies written so far are sent (QUIT).
  void CloseAfterReply() { session_->CloseAfterReply(); }
  // Parks the connection: no more commands are read until the Parker resumes it.
  // `on_close` runs on the strand if the client disconnects while parked.
  std::shared_ptr<Parker> Park(std::function<void()> on_close) {
    return session_->Park(std::move(on_close));
  }
  boost::asio::any_io_executor executor() { return session_->executor(); }

  // Shortcuts for the common replies.
  void Ok() { writer_->SimpleString("OK"); }
  void Error(std::string_view message) { writer_->Error(message); }
  // "ERR wrong number of arguments for 'x' command"
  void WrongArity(std::string_view command);
  // "ERR syntax error"
  void SyntaxError() { writer_->Error("ERR syntax error"); }
  // A Status as a Redis error ("ERR ...", "WRONGTYPE ...", "NOJOB ..."); see status_reply.h.
  void StatusError(const Status& status, std::string_view not_found_code = "ERR");

  // Where ADDJOB puts its add instead of writing it and replying (the connection answers it
  // with the run of adds it belongs to), or null: ADDJOB adds at once.
  std::vector<DeferredAdd>* deferred_adds() { return deferred_adds_; }
  void set_deferred_adds(std::vector<DeferredAdd>* adds) { deferred_adds_ = adds; }

 private:
  ServerState* server_;
  ClientSession* session_;
  resp::ReplyWriter* writer_;
  engine::KvWriteGroup* kv_group_;
  std::vector<DeferredAdd>* deferred_adds_ = nullptr;
};

}  // namespace herald::net
