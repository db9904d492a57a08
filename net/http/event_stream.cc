#include "net/http/event_stream.h"

#include <boost/json.hpp>

namespace herald::net::http {

namespace json = boost::json;

void EventStream::Record(const engine::JobEvent& event) {
  MutexLock lock(&mu_);
  ring_.push_back(event);
  ring_.back().detail.clear();  // error texts and results stay out of the stream
  if (ring_.size() > kRingSize) ring_.pop_front();
  ++next_seq_;
}

EventStream::Cursor EventStream::Start() const {
  MutexLock lock(&mu_);
  Cursor cursor;
  cursor.next_seq = next_seq_;
  return cursor;
}

std::string EventStream::CountsJson() const {
  json::array queues;
  for (const std::string& name : broker_->Queues()) {
    auto counts = broker_->Counts(name);
    if (!counts.ok()) continue;
    json::object entry;
    entry["name"] = name;
    json::object by_state;
    by_state["waiting"] = counts->waiting;
    by_state["active"] = counts->active;
    by_state["delayed"] = counts->delayed;
    by_state["completed"] = counts->completed;
    by_state["failed"] = counts->failed;
    entry["counts"] = std::move(by_state);
    entry["paused"] = counts->paused;
    queues.push_back(std::move(entry));
  }
  json::object out;
  out["queues"] = std::move(queues);
  return json::serialize(out);
}

std::string EventStream::Next(Cursor* cursor) const {
  std::string out;
  std::string counts = CountsJson();
  if (counts != cursor->last_counts) {
    out += "event: counts\ndata: " + counts + "\n\n";
    cursor->last_counts = std::move(counts);
  }
  json::array jobs;
  {
    MutexLock lock(&mu_);
    std::uint64_t oldest = next_seq_ - ring_.size();
    if (cursor->next_seq < oldest) {
      out +=
          "event: reset\ndata: {\"missed\":" + std::to_string(oldest - cursor->next_seq) + "}\n\n";
      cursor->next_seq = next_seq_;
    }
    std::uint64_t from =
        std::max(cursor->next_seq,
                 next_seq_ - std::min<std::uint64_t>(next_seq_ - cursor->next_seq, kMaxPerMessage));
    for (std::uint64_t seq = from; seq < next_seq_; ++seq) {
      const engine::JobEvent& event = ring_[static_cast<std::size_t>(seq - oldest)];
      json::object entry;
      entry["type"] = engine::JobEventTypeName(event.type);
      entry["queue"] = event.queue;
      entry["id"] = event.id;
      entry["attemptsMade"] = event.attempts_made;
      entry["at"] = event.at_ms;
      jobs.push_back(std::move(entry));
    }
    cursor->next_seq = next_seq_;
  }
  if (!jobs.empty()) out += "event: jobs\ndata: " + json::serialize(jobs) + "\n\n";
  return out;
}

}  // namespace herald::net::http
