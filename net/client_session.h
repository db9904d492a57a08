// ClientSession: the client side of a command, as a handler sees it through CommandContext —
// the client's registry entry, its authentication and protocol, closing after the reply, and
// parking while a blocking command waits. Connection is the session of a TCP client;
// tests/support/command_runner.h has one without a socket.
//
// Parker: the handle of a parked session. Exactly one Resume() (or the session closing) ends
// the park.
//
// Thread safety: a session is confined to its executor (a connection's strand); every method
// but executor() runs there. Parker's methods may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <functional>
#include <memory>

#include "net/resp/reply_writer.h"
#include "net/server_state.h"

namespace herald::net {

class ClientSession;

class Parker {
 public:
  explicit Parker(std::weak_ptr<ClientSession> session) : session_(std::move(session)) {}
  // Writes the reply with `write` on the session's executor and lets it run the next command.
  // Returns false when the park already ended or the session is gone (the caller then still
  // owns whatever it meant to deliver).
  bool Resume(std::function<void(resp::ReplyWriter&)> write);
  // Claims the park without resuming yet (so that a timeout and a wake-up cannot both win).
  bool Claim() { return !done_.exchange(true); }
  // Resumes a park already claimed with Claim().
  void ResumeClaimed(std::function<void(resp::ReplyWriter&)> write);
  bool connection_alive() const { return !session_.expired(); }

 private:
  std::weak_ptr<ClientSession> session_;
  std::atomic<bool> done_{false};
};

class ClientSession {
 public:
  virtual ~ClientSession() = default;

  // The client's entry in the server's registry (CLIENT LIST).
  virtual ClientInfo& info() = 0;
  virtual bool authenticated() const = 0;
  virtual void set_authenticated(bool authenticated) = 0;
  // The RESP version of the replies from now on (HELLO).
  virtual void set_protocol(int protocol) = 0;
  // Closes the session once the replies written so far are sent (QUIT).
  virtual void CloseAfterReply() = 0;
  // Parks the session: it runs no more commands until the Parker resumes it. `on_close` runs
  // on the executor if the client goes away while parked.
  virtual std::shared_ptr<Parker> Park(std::function<void()> on_close) = 0;
  // Where the session runs; Parker posts the resumption there.
  virtual boost::asio::any_io_executor executor() = 0;

 protected:
  friend class Parker;
  // On the executor: the park ended; `write` writes the answer.
  virtual void Resume(std::function<void(resp::ReplyWriter&)> write) = 0;
};

}  // namespace herald::net
