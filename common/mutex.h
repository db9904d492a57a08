// Mutex and MutexLock with Clang thread-safety annotations, so that GUARDED_BY fields are
// checked by the clang build (-Wthread-safety). Under GCC the annotations compile away.
//
// Thread safety: Mutex is what it says; MutexLock is a scoped guard confined to one thread.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define HERALD_TSA(x) __attribute__((x))
#else
#define HERALD_TSA(x)
#endif

#define CAPABILITY(x) HERALD_TSA(capability(x))
#define SCOPED_CAPABILITY HERALD_TSA(scoped_lockable)
#define GUARDED_BY(x) HERALD_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) HERALD_TSA(pt_guarded_by(x))
#define REQUIRES(...) HERALD_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) HERALD_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) HERALD_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) HERALD_TSA(locks_excluded(__VA_ARGS__))
#define LOCK_RETURNED(x) HERALD_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS HERALD_TSA(no_thread_safety_analysis)

namespace herald {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For std::condition_variable_any and std::unique_lock.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace herald
