#include "handlers/record_codec.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>

#include "handlers/flat_json.h"

namespace herald::handlers {
namespace {

using namespace std::string_literals;

TEST(RecordCodecTest, ValueIsTheVersionByteThenTheObject) {
  boost::json::object object;
  object["user"] = "u-1";
  object["createdMs"] = 42;
  EXPECT_EQ(EncodeJsonRecord(object), "\x01{\"user\":\"u-1\",\"createdMs\":42}"s);
}

TEST(RecordCodecTest, DecodesWhatItEncoded) {
  boost::json::object object;
  object["text"] = "line one\nline \"two\"";
  object["attempts"] = 3;
  auto decoded = DecodeJsonRecord(EncodeJsonRecord(object), "inbox entry");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(FieldText(*decoded, "text"), "line one\nline \"two\"");
  EXPECT_EQ(FieldInt(*decoded, "attempts"), 3);
}

TEST(RecordCodecTest, UnknownVersionIsCorruptionNamingTheRecord) {
  auto decoded = DecodeJsonRecord("\x02{}"s, "ticket");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(decoded.status().message(), "ticket has an unknown format version");
  EXPECT_FALSE(DecodeJsonRecord("", "ticket").ok());
}

TEST(RecordCodecTest, DamagedJsonIsCorruptionNamingTheRecord) {
  auto decoded = DecodeJsonRecord("\x01{\"user\":"s, "delivery record");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(decoded.status().message().rfind("delivery record: invalid JSON", 0), 0u)
      << decoded.status().message();
}

// Found by record_fuzz: a token that starts like null but is not ("ng", "nul") was an
// exception out of the parser (simdjson's is_null() is a result, not a bool).
TEST(RecordCodecTest, ABrokenNullIsAnErrorNotAnException) {
  for (const char* json : {"{\"queue\":ng}", "{\"a\":nul}", "{\"a\":nullx}", "{\"a\":n}"}) {
    SCOPED_TRACE(json);
    Result<FlatObject> parsed = ParseFlatObject(json);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().message().rfind("invalid JSON", 0), 0u) << parsed.status().message();
    EXPECT_FALSE(DecodeJsonRecord("\x01"s + json, "ticket").ok());
  }
  Result<FlatObject> fine = ParseFlatObject("{\"a\":null}");
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->at("a").kind, JsonField::Kind::kNull);
}

}  // namespace
}  // namespace herald::handlers
