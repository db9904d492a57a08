// libFuzzer target: the RESP request and reply parsers (tests/fuzz/README.md).
//
// The first byte picks a chunk size; the rest is fed to RequestParser and ReplyParser whole
// and in chunks. Checked: nothing crashes, `consumed` never exceeds the input, kNeedMore
// takes all input, and the chunked feed yields exactly what the whole feed yields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp/reply_parser.h"
#include "net/resp/request_parser.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// Everything a parser produced from a stream, rendered as one string for comparison.
template <typename Parser, typename Value, typename Render>
std::string Run(Parser& parser, std::string_view input, std::size_t chunk, Render render) {
  std::string out;
  std::string buffer;
  for (std::size_t pos = 0; pos < input.size();) {
    const std::size_t n = chunk < input.size() - pos ? chunk : input.size() - pos;
    buffer.append(input.substr(pos, n));
    pos += n;
    while (!buffer.empty()) {
      Value value;
      const std::size_t size = buffer.size();
      const herald::resp::ParseResult result = parser.Parse(buffer, &value);
      Check(result.consumed <= size);
      buffer.erase(0, result.consumed);
      if (result.failed()) return out + "error:" + result.error;
      if (result.need_more()) {
        Check(result.consumed == size);
        break;
      }
      out += render(value);
    }
  }
  return out;
}

std::string RenderArgs(const std::vector<std::string>& args) {
  std::string out = "[";
  for (const std::string& arg : args) out += std::to_string(arg.size()) + ":" + arg;
  return out + "]";
}

std::string RenderReply(const herald::resp::Reply& reply) { return reply.ToString() + ";"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  herald::resp::ParserLimits limits;
  limits.max_inline_length = 256;
  limits.max_bulk_length = 1024;
  limits.max_multibulk_length = 64;
  herald::resp::RequestParser whole_requests(limits);
  herald::resp::RequestParser chunked_requests(limits);
  Check(Run<herald::resp::RequestParser, std::vector<std::string>>(whole_requests, input,
                                                                   input.size() + 1, RenderArgs) ==
        Run<herald::resp::RequestParser, std::vector<std::string>>(chunked_requests, input, chunk,
                                                                   RenderArgs));

  herald::resp::ReplyParserLimits reply_limits;
  reply_limits.max_bulk_length = 1024;
  reply_limits.max_line_length = 256;
  reply_limits.max_aggregate_length = 64;
  reply_limits.max_depth = 16;
  herald::resp::ReplyParser whole_replies(reply_limits);
  herald::resp::ReplyParser chunked_replies(reply_limits);
  Check(Run<herald::resp::ReplyParser, herald::resp::Reply>(whole_replies, input, input.size() + 1,
                                                            RenderReply) ==
        Run<herald::resp::ReplyParser, herald::resp::Reply>(chunked_replies, input, chunk,
                                                            RenderReply));
  return 0;
}
