#include "engine/take_waiters.h"

#include <limits>

namespace herald::engine {

TakeWaiters::Id TakeWaiters::Add(std::shared_ptr<Waiter> waiter) {
  const Id id = next_id_++;
  if (waiter->deadline_ms != 0) deadlines_.emplace(waiter->deadline_ms, id);
  for (QueueState* queue : waiter->queues) fifos_[queue].push_back(id);
  waiters_.emplace(id, std::move(waiter));
  return id;
}

void TakeWaiters::Erase(std::map<Id, std::shared_ptr<Waiter>>::iterator it) {
  if (it->second->deadline_ms != 0) deadlines_.erase({it->second->deadline_ms, it->first});
  waiters_.erase(it);
  // Every id still queued is stale now.
  if (waiters_.empty()) fifos_.clear();
}

std::shared_ptr<TakeWaiters::Waiter> TakeWaiters::PopFirst(const QueueState* queue, Id* id) {
  auto fifo = fifos_.find(queue);
  while (fifo != fifos_.end() && !fifo->second.empty()) {
    const Id first = fifo->second.front();
    fifo->second.pop_front();
    auto it = waiters_.find(first);
    if (it == waiters_.end()) continue;
    std::shared_ptr<Waiter> waiter = std::move(it->second);
    *id = first;
    if (waiter->deadline_ms != 0) deadlines_.erase({waiter->deadline_ms, first});
    waiters_.erase(it);
    return waiter;
  }
  return nullptr;
}

void TakeWaiters::PutBack(Id id, std::shared_ptr<Waiter> waiter) {
  if (waiter->deadline_ms != 0) deadlines_.emplace(waiter->deadline_ms, id);
  for (QueueState* queue : waiter->queues) fifos_[queue].push_front(id);
  waiters_.emplace(id, std::move(waiter));
}

bool TakeWaiters::Cancel(Id id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return false;
  Erase(it);
  return true;
}

std::vector<std::shared_ptr<TakeWaiters::Waiter>> TakeWaiters::TakeExpired(std::int64_t now_ms) {
  std::vector<std::shared_ptr<Waiter>> expired;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    auto it = waiters_.find(deadlines_.begin()->second);
    expired.push_back(it->second);
    Erase(it);
  }
  return expired;
}

std::vector<std::shared_ptr<TakeWaiters::Waiter>> TakeWaiters::TakeAll() {
  std::vector<std::shared_ptr<Waiter>> all;
  all.reserve(waiters_.size());
  for (auto& [id, waiter] : waiters_) all.push_back(std::move(waiter));
  waiters_.clear();
  deadlines_.clear();
  fifos_.clear();
  return all;
}

bool TakeWaiters::HasWaiters(const QueueState* queue) const {
  if (waiters_.empty()) return false;
  auto fifo = fifos_.find(queue);
  return fifo != fifos_.end() && !fifo->second.empty();
}

std::int64_t TakeWaiters::NextDeadlineMs() const {
  return deadlines_.empty() ? std::numeric_limits<std::int64_t>::max() : deadlines_.begin()->first;
}

}  // namespace herald::engine
