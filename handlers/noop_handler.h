// NoopHandler: the "noop" handler kind. Every job succeeds at once with an empty result: for
// measuring the queue itself (bench/compare-redis.sh), and for queues whose jobs only need to
// be recorded.
//
// Thread safety: stateless; any number of workers may share it.
#pragma once

#include "engine/handler.h"

namespace herald::handlers {

class NoopHandler final : public engine::Handler {
 public:
  engine::HandlerOutcome Run(const engine::HandlerJob&) override {
    return engine::HandlerOutcome::Success();
  }
};

}  // namespace herald::handlers
