#include "storage/postgres/pg_change_groups.h"

#include <string_view>
#include <unordered_set>
#include <utility>

namespace herald::storage::postgres {

ChangeGroups::ChangeGroups(RunGroup run, std::size_t max_running, std::size_t max_transitions)
    : run_(std::move(run)), max_running_(max_running), max_transitions_(max_transitions) {}

void ChangeGroups::Run(JobChange* change) {
  Waiting me{change};
  {
    MutexLock lock(&mu_);
    waiting_.push_back(&me);
  }
  while (true) {
    std::vector<Waiting*> group;
    {
      MutexLock lock(&mu_);
      // Waits on the Mutex itself (condition_variable_any), which MutexLock holds around it.
      changed_.wait(mu_, [&]() NO_THREAD_SAFETY_ANALYSIS {
        return me.done || (running_ < max_running_ && !waiting_.empty());
      });
      if (me.done) return;
      group = GatherLocked();
      ++running_;
    }
    std::vector<JobChange*> changes;
    changes.reserve(group.size());
    for (Waiting* w : group) changes.push_back(w->change);
    run_(changes);
    {
      MutexLock lock(&mu_);
      --running_;
      ++groups_run_;
      // A waiting caller may return (and its Waiting go) as soon as the lock is released.
      for (Waiting* w : group) w->done = true;
    }
    changed_.notify_all();
  }
}

std::vector<ChangeGroups::Waiting*> ChangeGroups::GatherLocked() {
  std::vector<Waiting*> group;
  std::unordered_set<std::string_view> ids;
  std::size_t transitions = 0;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const JobChange& change = *(*it)->change;
    if (!group.empty() && transitions + change.transitions.size() > max_transitions_) break;
    bool twice = false;
    for (const JobTransition& t : change.transitions) twice = twice || ids.count(t.id) != 0;
    if (twice && !group.empty()) {
      ++it;  // for a later group, after the one that holds the same job
      continue;
    }
    for (const JobTransition& t : change.transitions) ids.insert(t.id);
    transitions += change.transitions.size();
    group.push_back(*it);
    it = waiting_.erase(it);
  }
  return group;
}

std::uint64_t ChangeGroups::groups_run() const {
  MutexLock lock(&mu_);
  return groups_run_;
}

std::size_t ChangeGroups::waiting() const {
  MutexLock lock(&mu_);
  return waiting_.size();
}

}  // namespace herald::storage::postgres
