// IoDeadline: runs one asynchronous Asio operation at a time on a private io_context until it
// completes, a deadline passes or a stop is requested. The clients (SmtpClient, HttpPoster)
// are synchronous for their callers but must never hang: Asio's synchronous socket calls have
// no timeouts, so each step is started asynchronously and waited for here.
//
// On timeout or stop, `cancel` is called (it closes the socket or cancels the resolver) and
// the operation is run to its (aborted) completion before Wait returns, so no handler touches
// the caller's buffers afterwards.
//
// Thread safety: confined to the thread that owns the io_context.
#pragma once

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <stop_token>
#include <utility>

namespace herald::handlers {

class IoDeadline {
 public:
  enum class Wait : unsigned char { kDone, kTimedOut, kStopped };

  IoDeadline(boost::asio::io_context* io, std::stop_token stop) : io_(io), stop_(std::move(stop)) {}

  // Runs until `*done` is set by the operation's handler, or `deadline`, or a stop request.
  Wait Run(bool* done, std::chrono::steady_clock::time_point deadline,
           const std::function<void()>& cancel) {
    io_->restart();
    // The stop token is polled: a stop_callback could not safely touch the socket from another
    // thread, and 50 ms is well within any shutdown grace.
    constexpr auto kPoll = std::chrono::milliseconds(50);
    while (!*done) {
      const auto now = std::chrono::steady_clock::now();
      Wait reason = Wait::kDone;
      if (stop_.stop_requested()) {
        reason = Wait::kStopped;
      } else if (now >= deadline) {
        reason = Wait::kTimedOut;
      }
      if (reason != Wait::kDone) {
        cancel();
        io_->restart();
        while (!*done && io_->run_one() > 0) {
        }
        return reason;
      }
      io_->run_one_until(std::min(deadline, now + kPoll));
      if (io_->stopped() && !*done) io_->restart();
    }
    return Wait::kDone;
  }

 private:
  boost::asio::io_context* io_;
  std::stop_token stop_;
};

}  // namespace herald::handlers
