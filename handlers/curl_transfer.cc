#include "handlers/curl_transfer.h"

#include <algorithm>
#include <mutex>

namespace herald::handlers {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// libcurl's global set-up, once per process, before the first handle (thread-safe since
// 7.84, made once here anyway so that older builds are safe too).
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Result<std::unique_ptr<CurlTransfer>> CurlTransfer::Create() {
  InitCurlOnce();
  std::unique_ptr<CurlTransfer> transfer(new CurlTransfer());
  transfer->easy_ = curl_easy_init();
  transfer->multi_ = curl_multi_init();
  if (transfer->easy_ == nullptr || transfer->multi_ == nullptr) {
    return Status::IOError("libcurl could not make a transfer handle");
  }
  return transfer;
}

CurlTransfer::~CurlTransfer() {
  // The multi handle owns the connection cache: cleaning it up closes the kept connections
  // (an SMTP session says QUIT, bounded by the server response timeout the caller set).
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
}

int CurlTransfer::OnDebug(CURL*, curl_infotype type, char* data, std::size_t size, void* self) {
  auto* transfer = static_cast<CurlTransfer*>(self);
  if (type != CURLINFO_TEXT) transfer->last_activity_ = Clock::now();
  if (transfer->trace_ != nullptr) transfer->trace_(transfer->trace_context_, type, data, size);
  return 0;
}

CurlRun CurlTransfer::Run(Clock::time_point deadline, milliseconds step_timeout,
                          std::stop_token stop) {
  CurlRun run;
  error_[0] = '\0';
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  // The debug callback is how the step timeout sees progress, and how the SMTP client learns
  // which command a reply answers; nothing is printed.
  curl_easy_setopt(easy_, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(easy_, CURLOPT_DEBUGFUNCTION, &CurlTransfer::OnDebug);
  curl_easy_setopt(easy_, CURLOPT_DEBUGDATA, this);

  Clock::time_point now = Clock::now();
  if (stop.stop_requested()) {
    run.stopped = true;
    return run;
  }
  if (now >= deadline) {
    run.deadline = true;
    return run;
  }
  last_activity_ = now;
  const std::stop_callback wake(stop, [this] { curl_multi_wakeup(multi_); });
  curl_multi_add_handle(multi_, easy_);
  for (;;) {
    int running = 0;
    const CURLMcode performed = curl_multi_perform(multi_, &running);
    if (performed != CURLM_OK) {
      run.code = CURLE_FAILED_INIT;
      run.error = curl_multi_strerror(performed);
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
        if (message->msg == CURLMSG_DONE) run.code = message->data.result;
      }
      if (run.code != CURLE_OK) {
        run.error = error_[0] != '\0' ? std::string(error_) : curl_easy_strerror(run.code);
      }
      break;
    }
    if (stop.stop_requested()) {
      run.stopped = true;
      break;
    }
    now = Clock::now();
    if (now >= deadline) {
      run.deadline = true;
      break;
    }
    Clock::time_point wake_at = deadline;
    if (step_timeout.count() > 0) {
      const Clock::time_point step_end = last_activity_ + step_timeout;
      if (now >= step_end) {
        run.step_timeout = true;
        break;
      }
      wake_at = std::min(wake_at, step_end);
    }
    // curl_multi_poll also returns for libcurl's own timers and for curl_multi_wakeup.
    const auto wait = std::chrono::duration_cast<milliseconds>(wake_at - now).count() + 1;
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::min<long long>(wait, 1000)), nullptr);
  }
  // What closing a connection says (an SMTP QUIT) is not part of this run's trace.
  trace_ = nullptr;
  // Removing an unfinished transfer closes its connection without a goodbye, so a silent peer
  // costs nothing more.
  curl_multi_remove_handle(multi_, easy_);
  return run;
}

CurlPool::Lease::~Lease() {
  if (transfer_ != nullptr && pool_ != nullptr) pool_->GiveBack(std::move(transfer_));
}

Result<CurlPool::Lease> CurlPool::Take() {
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<CurlTransfer> transfer = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(transfer));
    }
  }
  HERALD_ASSIGN_OR_RETURN(std::unique_ptr<CurlTransfer> transfer, CurlTransfer::Create());
  return Lease(this, std::move(transfer));
}

void CurlPool::GiveBack(std::unique_ptr<CurlTransfer> transfer) {
  {
    MutexLock lock(&mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(std::move(transfer));
      return;
    }
  }
  transfer.reset();  // closes its connection, outside the lock
}

}  // namespace herald::handlers
