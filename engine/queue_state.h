// QueueState: what the broker keeps in memory about one queue — its policy, its local handler
// and its admission (pause, concurrency and rate limit). Made once per queue and never
// removed, so that leases and waiters may point at it.
//
// Thread safety: `name` is immutable; policy() may be read from any thread while a config
// reload replaces it (each caller keeps the copy it got for one operation); `handler` is set
// before the broker starts and only read after; `admission` is confined to the broker's mutex.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "engine/handler.h"
#include "engine/queue_admission.h"
#include "engine/queue_policy.h"

namespace herald::engine {

struct QueueState {
  explicit QueueState(QueuePolicy queue_policy)
      : name(queue_policy.name),
        admission(queue_policy),
        policy_(std::make_shared<const QueuePolicy>(std::move(queue_policy))) {}

  std::shared_ptr<const QueuePolicy> policy() const {
    return policy_.load(std::memory_order_acquire);
  }
  // The policy from now on (same name). Set the admission's limits under the broker's mutex.
  void set_policy(QueuePolicy policy) {
    policy_.store(std::make_shared<const QueuePolicy>(std::move(policy)),
                  std::memory_order_release);
  }

  const std::string name;
  std::shared_ptr<Handler> handler;  // null: remote workers only
  QueueAdmission admission;

 private:
  std::atomic<std::shared_ptr<const QueuePolicy>> policy_;
};

}  // namespace herald::engine
