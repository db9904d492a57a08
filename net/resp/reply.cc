#include "net/resp/reply.h"

#include <cmath>

namespace herald::resp {
namespace {

void AppendQuoted(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char c : text) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f) {
          out->append("\\x");
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0xf]);
        } else {
          out->push_back(c);
        }
      }
    }
  }
  out->push_back('"');
}

void Render(const Reply& reply, std::string* out) {
  switch (reply.type) {
    case ReplyType::kSimpleString:
      out->append("simple ");
      AppendQuoted(out, reply.str);
      return;
    case ReplyType::kError:
      out->append("error ");
      AppendQuoted(out, reply.str);
      return;
    case ReplyType::kInteger:
      out->append("integer " + std::to_string(reply.integer));
      return;
    case ReplyType::kBulk:
      out->append("bulk ");
      AppendQuoted(out, reply.str);
      return;
    case ReplyType::kNull:
      out->append("null");
      return;
    case ReplyType::kDouble:
      out->append("double " + reply.str);
      return;
    case ReplyType::kBoolean:
      out->append(reply.integer != 0 ? "true" : "false");
      return;
    case ReplyType::kVerbatim:
      out->append("verbatim " + reply.format + ":");
      AppendQuoted(out, reply.str);
      return;
    case ReplyType::kBigNumber:
      out->append("bignum " + reply.str);
      return;
    case ReplyType::kArray:
    case ReplyType::kSet:
    case ReplyType::kPush: {
      const char* open = reply.type == ReplyType::kArray ? "["
                         : reply.type == ReplyType::kSet ? "~["
                                                         : ">[";
      out->append(open);
      for (std::size_t i = 0; i < reply.elements.size(); ++i) {
        if (i > 0) out->append(", ");
        Render(reply.elements[i], out);
      }
      out->push_back(']');
      return;
    }
    case ReplyType::kMap:
      out->push_back('{');
      for (std::size_t i = 0; i < reply.pairs.size(); ++i) {
        if (i > 0) out->append(", ");
        Render(reply.pairs[i].first, out);
        out->append(" => ");
        Render(reply.pairs[i].second, out);
      }
      out->push_back('}');
      return;
  }
}

}  // namespace

std::string_view ReplyTypeName(ReplyType type) {
  switch (type) {
    case ReplyType::kSimpleString:
      return "simple-string";
    case ReplyType::kError:
      return "error";
    case ReplyType::kInteger:
      return "integer";
    case ReplyType::kBulk:
      return "bulk";
    case ReplyType::kNull:
      return "null";
    case ReplyType::kArray:
      return "array";
    case ReplyType::kMap:
      return "map";
    case ReplyType::kSet:
      return "set";
    case ReplyType::kPush:
      return "push";
    case ReplyType::kDouble:
      return "double";
    case ReplyType::kBoolean:
      return "boolean";
    case ReplyType::kVerbatim:
      return "verbatim";
    case ReplyType::kBigNumber:
      return "big-number";
  }
  return "unknown";
}

bool Reply::is_string() const {
  return type == ReplyType::kSimpleString || type == ReplyType::kBulk ||
         type == ReplyType::kVerbatim || type == ReplyType::kBigNumber;
}

const Reply* Reply::Find(std::string_view key) const {
  for (const auto& [k, v] : pairs) {
    if (k.is_string() && k.str == key) return &v;
  }
  return nullptr;
}

std::string Reply::ToString() const {
  std::string out;
  Render(*this, &out);
  return out;
}

Reply Reply::SimpleString(std::string text) {
  Reply reply;
  reply.type = ReplyType::kSimpleString;
  reply.str = std::move(text);
  return reply;
}

Reply Reply::Error(std::string text) {
  Reply reply;
  reply.type = ReplyType::kError;
  reply.str = std::move(text);
  return reply;
}

Reply Reply::Integer(std::int64_t value) {
  Reply reply;
  reply.type = ReplyType::kInteger;
  reply.integer = value;
  return reply;
}

Reply Reply::Bulk(std::string bytes) {
  Reply reply;
  reply.type = ReplyType::kBulk;
  reply.str = std::move(bytes);
  return reply;
}

Reply Reply::Null() { return Reply(); }

Reply Reply::Array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = ReplyType::kArray;
  reply.elements = std::move(elements);
  return reply;
}

Reply Reply::Set(std::vector<Reply> elements) {
  Reply reply = Array(std::move(elements));
  reply.type = ReplyType::kSet;
  return reply;
}

Reply Reply::Push(std::vector<Reply> elements) {
  Reply reply = Array(std::move(elements));
  reply.type = ReplyType::kPush;
  return reply;
}

Reply Reply::Map(std::vector<ReplyEntry> pairs) {
  Reply reply;
  reply.type = ReplyType::kMap;
  reply.pairs = std::move(pairs);
  return reply;
}

Reply Reply::Double(double value, std::string text) {
  Reply reply;
  reply.type = ReplyType::kDouble;
  reply.number = value;
  reply.str = std::move(text);
  return reply;
}

Reply Reply::Boolean(bool value) {
  Reply reply;
  reply.type = ReplyType::kBoolean;
  reply.integer = value ? 1 : 0;
  return reply;
}

Reply Reply::Verbatim(std::string format, std::string text) {
  Reply reply;
  reply.type = ReplyType::kVerbatim;
  reply.format = std::move(format);
  reply.str = std::move(text);
  return reply;
}

Reply Reply::BigNumber(std::string digits) {
  Reply reply;
  reply.type = ReplyType::kBigNumber;
  reply.str = std::move(digits);
  return reply;
}

bool operator==(const Reply& a, const Reply& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case ReplyType::kNull:
      return true;
    case ReplyType::kInteger:
    case ReplyType::kBoolean:
      return a.integer == b.integer;
    case ReplyType::kDouble:
      return a.number == b.number || (std::isnan(a.number) && std::isnan(b.number));
    case ReplyType::kVerbatim:
      return a.format == b.format && a.str == b.str;
    case ReplyType::kSimpleString:
    case ReplyType::kError:
    case ReplyType::kBulk:
    case ReplyType::kBigNumber:
      return a.str == b.str;
    case ReplyType::kArray:
    case ReplyType::kSet:
    case ReplyType::kPush:
      return a.elements == b.elements;
    case ReplyType::kMap:
      return a.pairs == b.pairs;
  }
  return false;
}

bool operator==(const ReplyEntry& a, const ReplyEntry& b) {
  return a.first == b.first && a.second == b.second;
}

}  // namespace herald::resp
