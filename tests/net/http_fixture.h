// HttpFixture: the RESP server of ServerFixture plus the HTTP server with the API routes on its
// I/O threads, on a free loopback port, and an HttpClient connected to it. Tests change
// http_options_ / api_ / ServerOptions and call RestartHttp() (or StartAll()) to apply them.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "common/background_runner.h"
#include "net/http/api_routes.h"
#include "net/http/event_stream.h"
#include "net/http/failure_index.h"
#include "net/http/http_server.h"
#include "net/http/queue_activity.h"
#include "net/http/router.h"
#include "net/http/stats_history.h"
#include "tests/net/server_fixture.h"
#include "tests/support/http_client.h"

namespace herald::net::http {

class HttpFixture : public ServerFixture {
 protected:
  void SetUp() override { StartAll(ServerOptions{}); }
  void TearDown() override { StopAll(); }

  void StartAll(ServerOptions options) {
    activity_ = std::make_unique<QueueActivity>();
    StartServer(std::move(options));
    events_ = std::make_unique<EventStream>(broker_.get());
    failures_ = std::make_unique<FailureIndex>(broker_.get());
    ASSERT_TRUE(broker_->events()
                    .Subscribe([activity = activity_.get(), events = events_.get(),
                                failures = failures_.get()](const engine::JobEvent& event) {
                      activity->Record(event);
                      events->Record(event);
                      failures->Record(event);
                    })
                    .ok());
    failures_->Start();
    StartHttp();
  }

  void StartHttp() {
    router_ = std::make_unique<Router>();
    runner_ = std::make_unique<BackgroundRunner>();
    api_.state = state_.get();
    api_.activity = activity_.get();
    api_.runner = runner_.get();
    history_ = std::make_unique<StatsHistory>(&broker_->records(), activity_.get(), &clock_);
    api_.history = history_.get();
    api_.failures = failures_.get();
    AddQueueRoutes(router_.get(), &api_);
    AddEventRoutes(router_.get(), &api_);
    AddBulkRoutes(router_.get(), &api_);
    AddMetricsRoutes(router_.get(), &api_);
    router_->Freeze();
    http_options_.port = 0;
    http_ = std::make_unique<HttpServer>(state_.get(), router_.get(), http_options_,
                                         &server_->io_context(), spdlog::default_logger());
    http_->ServeEventStream(events_.get());
    api_.http_stats = &http_->stats();
    api_.http_connections = [http = http_.get()] { return http->connections(); };
    Status status = http_->Start();
    ASSERT_TRUE(status.ok()) << status.ToString();
    http_client_ = std::make_unique<testing::HttpClient>(http_->port());
  }

  void StopHttp() {
    http_client_.reset();
    if (http_) http_->Stop();
    http_.reset();
    runner_.reset();
    history_.reset();
    router_.reset();
  }

  void RestartHttp() {
    StopHttp();
    StartHttp();
  }

  void StopAll() {
    StopHttp();
    if (failures_) failures_->Stop();
    StopServer();  // the broker (and its event bus) stops before the activity goes
    failures_.reset();
    events_.reset();
    activity_.reset();
  }

  testing::HttpAnswer Get(const std::string& target) { return http_client_->Get(target); }
  testing::HttpAnswer Post(const std::string& target, const std::string& body = {}) {
    return http_client_->Post(target, body);
  }
  testing::HttpAnswer Send(const std::string& method, const std::string& target,
                           const std::string& body = {}) {
    return http_client_->Request(method, target, body);
  }

  std::string AddJob(const std::string& queue, const std::string& payload,
                     engine::JobOptions options = {}) {
    auto added = broker_->Add(queue, payload, options);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? added->id : "";
  }

  HttpOptions http_options_;
  ApiContext api_;
  std::unique_ptr<QueueActivity> activity_;
  std::unique_ptr<EventStream> events_;
  std::unique_ptr<FailureIndex> failures_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<BackgroundRunner> runner_;
  std::unique_ptr<StatsHistory> history_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<testing::HttpClient> http_client_;
};

}  // namespace herald::net::http
