// libFuzzer target: the event validator (EMIT, POST /events, the mock events), the handlers'
// event parser and flat JSON reader, and the HTTP JSON body reader (tests/fuzz/README.md).
//
// Checked beyond "no crash, no sanitizer report": a refusal always says what is wrong; an
// accepted event has a type, an id and a queue its contract names; the handlers accept what the
// router accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/event_router.h"
#include "handlers/event.h"
#include "handlers/flat_json.h"
#include "net/http/json_body.h"

namespace {

using namespace herald;

void Check(bool condition) {
  if (!condition) std::abort();
}

const engine::EventRouter& Router() {
  static const engine::EventRouter router(engine::DefaultEventContracts());
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  Result<engine::RoutedEvent> routed = Router().Route(json);
  if (routed.ok()) {
    Check(!routed->event_type.empty() && !routed->event_id.empty());
    const engine::EventContract* contract = Router().Find(routed->event_type);
    Check(contract != nullptr && contract->queue == routed->queue);
    Check(handlers::ParseEvent(json).ok());
  } else {
    Check(!routed.status().message().empty());
    (void)handlers::ParseEvent(json);
  }
  (void)handlers::ParseFlatObject(json);
  Result<boost::json::value> body = net::http::ParseJsonBody(json);
  if (!body.ok()) Check(!body.status().message().empty());
  return 0;
}
