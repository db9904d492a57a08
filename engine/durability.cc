#include "engine/durability.h"

#include <future>

namespace herald::engine {

Status Durability::AwaitAll() const {
  if (AllDurable()) return Status::Ok();
  std::promise<Status> synced;
  std::future<Status> result = synced.get_future();
  store_->SyncAsync([&synced](Status status) { synced.set_value(std::move(status)); });
  return result.get();
}

}  // namespace herald::engine
