// QueueState: what the broker keeps in memory about one queue — its policy, its local handler
// and its admission (pause, concurrency and rate limit). Made once per queue and never
// removed, so that leases and waiters may point at it.
//
// Thread safety: `policy` is immutable; `handler` is set before the broker starts and only read
// after; `admission` is confined to the broker's mutex.
#pragma once

#include <memory>
#include <utility>

#include "engine/handler.h"
#include "engine/queue_admission.h"
#include "engine/queue_policy.h"

namespace herald::engine {

struct QueueState {
  explicit QueueState(QueuePolicy queue_policy)
      : policy(std::move(queue_policy)), admission(policy) {}

  const QueuePolicy policy;
  std::shared_ptr<Handler> handler;  // null: remote workers only
  QueueAdmission admission;
};

}  // namespace herald::engine
