#include "tools/herald/remote_worker.h"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/handler_call.h"
#include "net/client/client.h"

namespace herald::tools {

using client::Client;
using resp::Reply;

namespace {

// "herald-worker:<host>:<pid>:<index>", a CLIENT SETNAME name (no spaces).
std::string WorkerName(std::uint32_t index) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string name = std::string("herald-worker:") + (host[0] ? host : "host") + ":" +
                     std::to_string(getpid()) + ":" + std::to_string(index);
  for (char& c : name) {
    if (c == ' ' || c == '\n' || c == '\r') c = '_';
  }
  return name;
}

// Whether a NACK reason would read as the PERMANENT flag (a lone word after the id).
bool IsPermanentWord(std::string_view reason) {
  constexpr std::string_view kWord = "permanent";
  if (reason.size() != kWord.size()) return false;
  for (std::size_t i = 0; i < reason.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(reason[i])) != kWord[i]) return false;
  }
  return true;
}

}  // namespace

Status ParseHostPort(const std::string& text, std::string* host, std::uint16_t* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("expected host:port, got '" + text + "'");
  }
  const std::string port_text = text.substr(colon + 1);
  std::uint32_t value = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || value > 65535) {
      return Status::InvalidArgument("bad port in '" + text + "'");
    }
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return Status::InvalidArgument("bad port in '" + text + "'");
  *host = text.substr(0, colon);
  *port = static_cast<std::uint16_t>(value);
  return Status::Ok();
}

RemoteWorker::RemoteWorker(RemoteWorkerOptions options,
                           std::map<std::string, std::shared_ptr<engine::Handler>> handlers,
                           std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)), handlers_(std::move(handlers)), logger_(std::move(logger)) {}

void RemoteWorker::Run(std::stop_token stop) {
  std::vector<std::jthread> threads;
  for (std::uint32_t i = 0; i < options_.threads; ++i) {
    threads.emplace_back([this, stop, i] { Loop(stop, i); });
  }
  // jthreads join here; each notices `stop` within one poll.
}

void RemoteWorker::Loop(std::stop_token stop, std::uint32_t index) {
  const std::vector<std::string> take = {"GETJOB", "TIMEOUT", std::to_string(options_.poll_ms),
                                         "LEASE", std::to_string(options_.lease_ms)};
  std::vector<std::string> from = {"FROM"};
  for (const auto& [queue, handler] : handlers_) from.push_back(queue);
  const auto io_timeout = std::chrono::milliseconds(options_.poll_ms + 10000);
  std::unique_ptr<Client> client;
  auto backoff = std::chrono::milliseconds(100);
  // The job whose handler succeeded last, acknowledged by the next GETJOB (ACK id RESULT r):
  // one round trip and one write per job in the steady loop.
  std::optional<std::pair<std::string, std::string>> ack;
  auto warn_not_active = [&](const std::string& id) {
    logger_->warn(
        "worker {}: ACKJOB {} not recorded: the job is no longer active (lease "
        "expired?)",
        index, id);
  };
  while (true) {
    if (stop.stop_requested()) {
      // The last job's acknowledgement still goes out.
      if (ack && client && client->is_open()) {
        std::optional<std::string_view> result;
        if (!ack->second.empty()) result = ack->second;
        auto recorded = client->AckJob(ack->first, result);
        if (!recorded.ok() || recorded->is_error()) {
          logger_->warn("worker {}: ACKJOB {} not recorded: {}", index, ack->first,
                        recorded.ok() ? recorded->str : recorded.status().message());
        } else if (recorded->integer == 0) {
          warn_not_active(ack->first);
        }
      }
      return;
    }
    if (!client || !client->is_open()) {
      auto connected = Client::Connect(options_.host, options_.port, io_timeout);
      if (!connected.ok()) {
        logger_->warn("worker {}: cannot reach {}:{}: {}; retrying", index, options_.host,
                      options_.port, connected.status().message());
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      client = std::move(connected).value();
      backoff = std::chrono::milliseconds(100);
      if (!options_.password.empty()) {
        auto auth = client->Auth(options_.password);
        if (!auth.ok() || auth->is_error()) {
          logger_->error("worker {}: AUTH refused", index);
          client.reset();
          std::this_thread::sleep_for(std::chrono::milliseconds(1000));
          continue;
        }
      }
      // The broker records who ran each attempt by the client's name: host, process, thread.
      auto named = client->Command({"CLIENT", "SETNAME", WorkerName(index)});
      if (!named.ok() || named->is_error()) {
        logger_->warn("worker {}: CLIENT SETNAME refused; attempts show the address only", index);
      }
    }
    std::vector<std::string> getjob = take;
    if (ack) {
      getjob.insert(getjob.end(), {"ACK", ack->first});
      if (!ack->second.empty()) getjob.insert(getjob.end(), {"RESULT", ack->second});
    }
    getjob.insert(getjob.end(), from.begin(), from.end());
    auto reply = client->Command(getjob);
    if (!reply.ok()) {
      // The acknowledgement is sent again on the next connection (if it was recorded before
      // the connection broke, the broker then answers that the job is not active).
      logger_->warn("worker {}: GETJOB failed: {}; reconnecting", index, reply.status().message());
      client.reset();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    if (reply->is_error()) {
      if (ack && reply->str.rfind("NOJOB", 0) == 0) {
        warn_not_active(ack->first);
        ack.reset();  // nothing was taken: ask again without it
        continue;
      }
      logger_->error("worker {}: GETJOB refused: {}", index, reply->str);
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
      continue;
    }
    ack.reset();
    for (std::size_t i = 0; i < reply->elements.size(); ++i) {
      const Reply& entry = reply->elements[i];
      if (entry.elements.size() < 4) continue;
      const std::string& queue = entry.elements[0].str;
      const std::string& id = entry.elements[1].str;
      const std::string& payload = entry.elements[2].str;
      auto found = handlers_.find(queue);
      if (found == handlers_.end()) continue;
      // The lease is the handler's timeout: past it the job is no longer this worker's.
      const engine::HandlerCall call(found->second.get(),
                                     std::chrono::milliseconds(options_.lease_ms));
      engine::HandlerOutcome outcome = call.Run(
          {id, queue, payload, static_cast<std::uint32_t>(entry.elements[3].integer), 0, {}, stop});
      const bool success = outcome.kind == engine::HandlerOutcome::Kind::kSuccess;
      if (success) ++completed_;
      if (success && i + 1 == reply->elements.size()) {
        // The handler's return value (e.g. a ticket id) is the job's result, as the broker's
        // own workers record it; it goes with the next GETJOB.
        ack.emplace(id, std::move(outcome.text));
        break;
      }
      const char* verb = success ? "ACKJOB" : "NACK";
      Result<Reply> recorded = Reply::Null();
      if (success) {
        std::optional<std::string_view> result;
        if (!outcome.text.empty()) result = outcome.text;
        recorded = client->AckJob(id, result);
      } else {
        // A permanent failure (e.g. an SMTP 5xx) is not retried, as on the broker's own
        // workers: NACK id reason PERMANENT.
        const bool permanent = outcome.kind == engine::HandlerOutcome::Kind::kPermanent;
        std::string reason = std::move(outcome.text);
        if (!permanent && IsPermanentWord(reason)) reason = "handler failed: " + reason;
        std::vector<std::string> nack = {"NACK", id, std::move(reason)};
        if (permanent) nack.emplace_back("PERMANENT");
        recorded = client->Command(nack);
        ++failed_;
      }
      if (!recorded.ok() || recorded->is_error()) {
        logger_->warn("worker {}: {} {} not recorded: {}", index, verb, id,
                      recorded.ok() ? recorded->str : recorded.status().message());
      } else if (success && recorded->integer == 0) {
        warn_not_active(id);
      }
    }
  }
}

}  // namespace herald::tools
