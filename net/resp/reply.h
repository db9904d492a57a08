// Reply: one server reply as a value tree, covering the RESP2 and RESP3 types. Built by
// ReplyParser; the factories below build expected values in tests.
//
// Which fields are used depends on the type:
//   kSimpleString, kError, kBulk, kBigNumber  str
//   kVerbatim                                 str (the text) and format ("txt", "mkd")
//   kInteger                                  integer
//   kBoolean                                  integer (1 or 0)
//   kDouble                                   number, and str as sent (e.g. "3.14", "inf")
//   kArray, kSet, kPush                       elements
//   kMap                                      pairs (key-value entries, in order)
//   kNull                                     nothing (RESP2 "$-1" and "*-1", RESP3 "_")
// An error's str is its text without the '-', e.g. "ERR unknown command 'x'"; RESP3 blob
// errors ("!") are kError too.
//
// Thread safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace herald::resp {

enum class ReplyType {
  kSimpleString,
  kError,
  kInteger,
  kBulk,
  kNull,
  kArray,
  kMap,
  kSet,
  kPush,
  kDouble,
  kBoolean,
  kVerbatim,
  kBigNumber,
};

// "simple-string", "error", "integer", ...; for messages.
std::string_view ReplyTypeName(ReplyType type);

// One key-value entry of a map (defined below; a std::pair of the still-incomplete Reply
// would not be portable).
struct ReplyEntry;

struct Reply {
  ReplyType type = ReplyType::kNull;
  std::string str;
  std::string format;
  std::int64_t integer = 0;
  double number = 0;
  std::vector<Reply> elements;
  std::vector<ReplyEntry> pairs;

  bool is_error() const { return type == ReplyType::kError; }
  bool is_null() const { return type == ReplyType::kNull; }
  // True for the types that carry text in `str` as their value: simple string, bulk,
  // verbatim, big number.
  bool is_string() const;

  // The value of a map's entry whose key is a string equal to `key`; nullptr if none.
  const Reply* Find(std::string_view key) const;

  // A one-line rendering for test messages and logs, e.g.
  // [bulk "a\r\n", integer 3, {simple "k" => null}].
  std::string ToString() const;

  static Reply SimpleString(std::string text);
  static Reply Error(std::string text);
  static Reply Integer(std::int64_t value);
  static Reply Bulk(std::string bytes);
  static Reply Null();
  static Reply Array(std::vector<Reply> elements);
  static Reply Set(std::vector<Reply> elements);
  static Reply Push(std::vector<Reply> elements);
  static Reply Map(std::vector<ReplyEntry> pairs);
  // `text` is how the double is written, e.g. Double(1.5, "1.5").
  static Reply Double(double value, std::string text);
  static Reply Boolean(bool value);
  static Reply Verbatim(std::string format, std::string text);
  static Reply BigNumber(std::string digits);
};

struct ReplyEntry {
  Reply first;   // the key
  Reply second;  // the value
};

// Deep equality. Doubles compare by value (NaN equals NaN) and ignore how they were written.
bool operator==(const Reply& a, const Reply& b);
bool operator==(const ReplyEntry& a, const ReplyEntry& b);

}  // namespace herald::resp
