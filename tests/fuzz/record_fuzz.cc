// libFuzzer target: every decoder of what Herald reads back from its store or from a file it
// is given (tests/fuzz/README.md). The first byte picks the decoder; the rest is the value.
//
// Checked beyond "no crash, no sanitizer report": a job record that decodes encodes to bytes
// that decode to the same job (and encode the same again); list nodes that look valid answer
// every accessor within their bounds and pop exactly their elements; the handlers' JSON
// records, the backup manifest and export lines are refused with a message or accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backups.h"
#include "engine/job_export.h"
#include "handlers/record_codec.h"
#include "storage/job.h"
#include "storage/keys.h"
#include "storage/list_node.h"

namespace {

using namespace herald;

void Check(bool condition) {
  if (!condition) std::abort();
}

void Job(std::string_view bytes) {
  Result<storage::Job> job = storage::DecodeJob(bytes);
  if (!job.ok()) {
    Check(!job.status().message().empty());
    return;
  }
  const std::string encoded = storage::EncodeJob(*job);
  Result<storage::Job> again = storage::DecodeJob(encoded);
  Check(again.ok());
  Check(storage::EncodeJob(*again) == encoded);
  Check(again->id == job->id && again->payload == job->payload && again->state == job->state &&
        again->attempts_made == job->attempts_made && again->history.size() == job->history.size());
}

void ListNode(std::string_view bytes) {
  if (!storage::list_node::LooksValid(bytes)) return;
  const std::uint32_t count = storage::list_node::Count(bytes);
  (void)storage::list_node::Link(bytes, storage::ListEnd::kLeft);
  (void)storage::list_node::Link(bytes, storage::ListEnd::kRight);
  std::vector<std::string_view> elements;
  const bool whole = storage::list_node::Elements(bytes, &elements);
  if (whole) Check(elements.size() == count);
  for (std::uint32_t i = 0; i < count && i < 256; ++i) {
    std::size_t at = 0;
    std::string_view value;
    if (!storage::list_node::Element(bytes, i, &at, &value)) break;
    Check(at < bytes.size() && value.data() >= bytes.data() &&
          value.data() + value.size() <= bytes.data() + bytes.size());
    if (whole) Check(value == elements[i]);
  }
  std::string node(bytes);
  std::string popped;
  std::uint32_t pops = 0;
  while (storage::list_node::Pop(&node, storage::ListEnd::kLeft, &popped)) {
    if (whole) Check(pops < count && popped == elements[pops]);
    ++pops;
  }
  if (whole) Check(pops == count);
}

void Keys(std::string_view bytes) {
  (void)storage::keys::DecodeFormatVersion(bytes);
  (void)storage::keys::DecodeSeqLimit(bytes);
  (void)storage::keys::DecodeQueueRow(bytes);
  if (std::optional<storage::keys::Lease> lease = storage::keys::DecodeLease(bytes)) {
    Check(lease->id.size() <= bytes.size());
  }
  (void)storage::keys::DecodeCount(bytes);
  (void)storage::keys::DecodeFlag(bytes);
  (void)storage::keys::DecodeKvMeta(bytes);
  (void)storage::keys::TimeOfIndexKey(bytes);
}

void JsonRecord(std::string_view bytes) {
  Result<handlers::FlatObject> object = handlers::DecodeJsonRecord(bytes, "record");
  if (!object.ok()) Check(object.status().message().find("record") != std::string::npos);
}

void Manifest(std::string_view bytes) {
  Result<engine::BackupManifest> manifest = engine::ManifestFromJson(bytes);
  if (manifest.ok()) {
    Result<engine::BackupManifest> again =
        engine::ManifestFromJson(engine::ManifestToJson(*manifest));
    Check(again.ok());
  }
}

void ExportLine(std::string_view bytes) {
  Result<engine::ExportLine> line = engine::ParseExportLine(bytes);
  if (!line.ok()) Check(!line.status().message().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      Job(bytes);
      break;
    case 1:
      ListNode(bytes);
      break;
    case 2:
      Keys(bytes);
      break;
    case 3:
      JsonRecord(bytes);
      break;
    case 4:
      Manifest(bytes);
      break;
    case 5:
      ExportLine(bytes);
      break;
  }
  return 0;
}
