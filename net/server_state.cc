#include "net/server_state.h"

#include <unistd.h>

#include <fstream>

namespace herald::net {

std::uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

Status ServerState::SetConfig(std::span<const std::string> name_values) {
  const std::uint32_t idle_before = config_.idle_timeout_s();
  HERALD_RETURN_IF_ERROR(config_.Set(name_values));
  if (config_.idle_timeout_s() != idle_before) {
    for (const auto& info : Clients()) {
      std::function<void()> recheck;
      {
        MutexLock lock(&info->mu);
        recheck = info->recheck_idle;
      }
      if (recheck) recheck();
    }
  }
  return Status::Ok();
}

void ServerState::ResetStats() {
  connections_received = 0;
  commands_processed = 0;
  rejected_connections = 0;
  protocol_errors = 0;
  net_input_bytes = 0;
  net_output_bytes = 0;
  for (std::size_t slot = 0; slot < table_->slots(); ++slot) {
    CommandStats& stats = command_stats_[slot];
    stats.calls = 0;
    stats.usec = 0;
    stats.rejected_calls = 0;
    stats.failed_calls = 0;
  }
}

std::shared_ptr<ClientInfo> ServerState::RegisterClient(std::string addr, std::int64_t now_ms) {
  auto info = std::make_shared<ClientInfo>();
  info->addr = std::move(addr);
  info->created_ms = now_ms;
  info->last_active_ms = now_ms;
  MutexLock lock(&clients_mu_);
  info->id = next_client_id_++;
  clients_[info->id] = info;
  return info;
}

void ServerState::UnregisterClient(std::uint64_t id) {
  {
    MutexLock lock(&clients_mu_);
    clients_.erase(id);
    if (!clients_.empty()) return;
  }
  clients_gone_cv_.notify_all();
}

bool ServerState::WaitForNoClients(std::chrono::milliseconds limit) {
  MutexLock lock(&clients_mu_);
  return clients_gone_cv_.wait_for(clients_mu_, limit,
                                   [this]() REQUIRES(clients_mu_) { return clients_.empty(); });
}

std::vector<std::shared_ptr<ClientInfo>> ServerState::Clients() const {
  MutexLock lock(&clients_mu_);
  std::vector<std::shared_ptr<ClientInfo>> out;
  out.reserve(clients_.size());
  for (const auto& [id, info] : clients_) out.push_back(info);
  return out;
}

std::uint64_t ServerState::AddListWaiter(std::shared_ptr<ListWaiter> waiter) {
  MutexLock lock(&lists_mu_);
  std::uint64_t id = next_list_waiter_++;
  for (const std::string& key : waiter->keys) {
    list_waiters_by_key_[{waiter->db, key}].push_back(id);
  }
  list_waiters_[id] = std::move(waiter);
  return id;
}

void ServerState::CancelListWaiter(std::uint64_t id) {
  MutexLock lock(&lists_mu_);
  list_waiters_.erase(id);  // ids left in the per-key deques are skipped when met
}

void ServerState::ServeListWaiters(int db, const std::string& key) {
  const std::pair<int, std::string> where(db, key);
  engine::KvStore& store = kv(db);
  MutexLock serve(&serve_mu_);
  while (true) {
    std::shared_ptr<ListWaiter> waiter;
    std::uint64_t id = 0;
    {
      MutexLock lock(&lists_mu_);
      auto it = list_waiters_by_key_.find(where);
      if (it == list_waiters_by_key_.end()) return;
      while (!it->second.empty() && !waiter) {
        id = it->second.front();
        auto found = list_waiters_.find(id);
        if (found == list_waiters_.end()) {
          it->second.pop_front();
          continue;
        }
        waiter = found->second;
      }
      if (!waiter) {
        list_waiters_by_key_.erase(it);
        return;
      }
    }
    auto popped = store.Pop(key, 1, waiter->end);
    if (!popped.ok() || popped->empty()) return;  // nothing left (or not a list): keep waiting
    {
      MutexLock lock(&lists_mu_);
      list_waiters_.erase(id);
      auto it = list_waiters_by_key_.find(where);
      if (it != list_waiters_by_key_.end() && !it->second.empty() && it->second.front() == id) {
        it->second.pop_front();
      }
    }
    if (!waiter->deliver(key, popped->front())) {
      // The client left between parking and now: the element goes back where it was.
      auto pushed = store.Push(key, {popped->front()}, waiter->end);
      (void)pushed;
    }
  }
}

}  // namespace herald::net
