// CurlTransfer: one libcurl easy handle with a multi handle of its own, reused for many
// transfers so that libcurl keeps the connection open between them (an SMTP session, an HTTP
// keep-alive connection, a TLS session), up to the idle time set by the caller
// (CURLOPT_MAXAGE_CONN). The handlers deliver through it: SMTP with STARTTLS, SMTPS and AUTH,
// https webhooks, Firebase Cloud Messaging.
//
// Run() performs the transfer set up on easy() and waits for it in curl_multi_poll, which a
// stop request interrupts (curl_multi_wakeup from a std::stop_callback), so a worker asked to
// stop leaves at once. Besides the overall deadline it enforces a step timeout: the transfer
// is abandoned when nothing was sent or received for that long (a relay that accepted the
// connection and then went silent).
//
// CurlPool keeps idle CurlTransfers; each worker takes one for a delivery and gives it back,
// so a burst of 1000 emails reuses a few sessions instead of opening 1000.
//
// Thread safety: a CurlTransfer is used by one thread at a time (the one holding its lease);
// CurlPool is thread-safe.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace herald::handlers {

struct CurlRun {
  CURLcode code = CURLE_OK;
  bool stopped = false;       // a stop was requested; the transfer was abandoned
  bool deadline = false;      // the overall deadline passed
  bool step_timeout = false;  // nothing moved for the step timeout
  std::string error;          // libcurl's error text, when code is not CURLE_OK
};

class CurlTransfer {
 public:
  // Called by the debug callback for what libcurl reports moving on the wire (headers in
  // and out; protocol lines for SMTP). Set before each Run with set_trace (Run clears it);
  // null: none.
  using Trace = void (*)(void* context, curl_infotype type, const char* data, std::size_t size);

  // IOError when libcurl cannot make the handles.
  static Result<std::unique_ptr<CurlTransfer>> Create();
  ~CurlTransfer();
  CurlTransfer(const CurlTransfer&) = delete;
  CurlTransfer& operator=(const CurlTransfer&) = delete;

  // The easy handle to set up before Run. Options set for an earlier transfer stay set, so a
  // caller sets every option it uses each time (curl_easy_reset is not called: it would not
  // close the connection, but would lose the cached TLS session).
  CURL* easy() { return easy_; }

  void set_trace(Trace trace, void* context) {
    trace_ = trace;
    trace_context_ = context;
  }

  // Performs the transfer. `step_timeout` zero or negative: none.
  CurlRun Run(std::chrono::steady_clock::time_point deadline,
              std::chrono::milliseconds step_timeout, std::stop_token stop);

 private:
  CurlTransfer() = default;
  static int OnDebug(CURL*, curl_infotype type, char* data, std::size_t size, void* self);

  CURL* easy_ = nullptr;
  CURLM* multi_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
  Trace trace_ = nullptr;
  void* trace_context_ = nullptr;
  std::chrono::steady_clock::time_point last_activity_;
};

class CurlPool {
 public:
  // Keeps at most `max_idle` idle transfers (more are closed when given back).
  explicit CurlPool(std::size_t max_idle = 16) : max_idle_(max_idle) {}

  class Lease {
   public:
    Lease(CurlPool* pool, std::unique_ptr<CurlTransfer> transfer)
        : pool_(pool), transfer_(std::move(transfer)) {}
    ~Lease();
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    CurlTransfer* operator->() { return transfer_.get(); }
    CurlTransfer& operator*() { return *transfer_; }
    // The connection is in an unknown state (e.g. a transfer abandoned half-way): close it
    // instead of reusing it.
    void Discard() { transfer_.reset(); }

   private:
    CurlPool* pool_;
    std::unique_ptr<CurlTransfer> transfer_;
  };

  // An idle transfer, or a new one. IOError when libcurl cannot make one.
  Result<Lease> Take();

 private:
  void GiveBack(std::unique_ptr<CurlTransfer> transfer);

  const std::size_t max_idle_;
  Mutex mu_;
  std::vector<std::unique_ptr<CurlTransfer>> idle_ GUARDED_BY(mu_);
};

// One curl_slist, freed on destruction.
class CurlList {
 public:
  CurlList() = default;
  ~CurlList() { curl_slist_free_all(list_); }
  CurlList(const CurlList&) = delete;
  CurlList& operator=(const CurlList&) = delete;
  void Append(const std::string& item) {
    if (curl_slist* grown = curl_slist_append(list_, item.c_str())) list_ = grown;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace herald::handlers
