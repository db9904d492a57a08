// EventStream: what GET /api/events/stream sends, shared by every client of it. Job events
// (from the broker's event bus) go into a bounded ring with a sequence number; each client
// keeps the number of the last it was sent and, every tick of its session, gets what came
// since in one `event: jobs` message (at most kMaxPerMessage, the newest), and an
// `event: counts` message when any queue's counts changed. A client that fell further behind
// than the ring gets `event: reset` (reload) and goes on from the newest.
//
//   event: counts
//   data: {"queues":[{"name":"emails","counts":{...},"paused":false}]}
//
//   event: jobs
//   data: [{"type":"completed","queue":"emails","id":"evt_1","attemptsMade":1,"at":1733...}]
//
// Thread safety: thread-safe. `broker` must outlive the stream.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "common/mutex.h"
#include "engine/broker.h"
#include "engine/job_events.h"

namespace herald::net::http {

class EventStream {
 public:
  static constexpr std::size_t kRingSize = 16384;
  static constexpr std::size_t kMaxPerMessage = 2000;

  explicit EventStream(engine::Broker* broker) : broker_(broker) {}

  // From the event bus's thread.
  void Record(const engine::JobEvent& event);

  // What one client is sent next; both fields are the client's own, kept by its session.
  struct Cursor {
    std::uint64_t next_seq = 0;  // the first event it has not been sent
    std::string last_counts;     // the counts JSON it was sent last
  };
  // A cursor at the newest event, with no counts sent yet.
  Cursor Start() const;
  // The messages for `cursor` now ("" when there is nothing new), moving it on.
  std::string Next(Cursor* cursor) const;

 private:
  std::string CountsJson() const;

  engine::Broker* broker_;
  mutable Mutex mu_;
  std::deque<engine::JobEvent> ring_ GUARDED_BY(mu_);
  std::uint64_t next_seq_ GUARDED_BY(mu_) = 0;  // the number the next event gets
};

}  // namespace herald::net::http
