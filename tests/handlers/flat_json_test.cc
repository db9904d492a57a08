#include "handlers/flat_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace herald::handlers {
namespace {

using namespace std::string_literals;
using Kind = JsonField::Kind;

FlatObject Parsed(const std::string& json) {
  Result<FlatObject> parsed = ParseFlatObject(json);
  EXPECT_TRUE(parsed.ok()) << json << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : FlatObject{};
}

// The message of a parse that must fail with InvalidArgument.
std::string ParseError(const std::string& json) {
  Result<FlatObject> parsed = ParseFlatObject(json);
  EXPECT_FALSE(parsed.ok()) << json;
  if (parsed.ok()) return "<parsed>";
  EXPECT_TRUE(parsed.status().IsInvalidArgument()) << parsed.status().ToString();
  return parsed.status().message();
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// ---- values --------------------------------------------------------------------------------

TEST(FlatJsonTest, StringsAreUnescaped) {
  FlatObject object =
      Parsed(R"({"text":"line\nbreak \"quoted\" back\\slash \/ tab\t","accent":"\u00e9",)"
             R"("emoji":"\ud83d\ude00","raw":"é"})");
  EXPECT_EQ(object["text"].kind, Kind::kString);
  EXPECT_EQ(object["text"].text, "line\nbreak \"quoted\" back\\slash / tab\t");
  EXPECT_EQ(object["accent"].text, "\xc3\xa9");
  EXPECT_EQ(object["emoji"].text, "\xf0\x9f\x98\x80");
  EXPECT_EQ(object["raw"].text, "\xc3\xa9");
}

// A string's trailing whitespace was trimmed as a number's raw token is, so a ticket reason or
// an inbox text that ended in a newline lost it when read back.
TEST(FlatJsonTest, AStringKeepsItsTrailingSpacesAndNewlines) {
  FlatObject object = Parsed(R"({"a":"text\n","b":"  padded  ","c":" ","d":"tab\t\r\n"})");
  EXPECT_EQ(object["a"].text, "text\n");
  EXPECT_EQ(object["b"].text, "  padded  ");
  EXPECT_EQ(object["c"].text, " ");
  EXPECT_EQ(object["d"].text, "tab\t\r\n");
}

TEST(FlatJsonTest, AnEscapedNulStaysInTheString) {
  EXPECT_EQ(Parsed(R"({"a":"x\u0000y"})")["a"].text, "x\0y"s);
}

TEST(FlatJsonTest, NumbersKeepTheirJsonTextUnrounded) {
  FlatObject object =
      Parsed(R"({"amount":49.90,"zero":-0,"big":9223372036854775808,"exp":1E+3,"tiny":1e-300,)"
             R"("long":0.1000000000000000055511151231257827})");
  for (const auto& [key, text] : std::vector<std::pair<std::string, std::string>>{
           {"amount", "49.90"},
           {"zero", "-0"},
           {"big", "9223372036854775808"},
           {"exp", "1E+3"},
           {"tiny", "1e-300"},
           {"long", "0.1000000000000000055511151231257827"}}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(object[key].kind, Kind::kNumber);
    EXPECT_EQ(object[key].text, text);
  }
}

TEST(FlatJsonTest, WhitespaceAfterANumberIsNotPartOfItsText) {
  EXPECT_EQ(Parsed("{\"a\": 42 \n\t\r, \"b\":7\n}")["a"].text, "42");
  EXPECT_EQ(Parsed("{\"a\": 42 \n\t\r, \"b\":7\n}")["b"].text, "7");
}

TEST(FlatJsonTest, BooleansAndNullKeepTheirText) {
  FlatObject object = Parsed(R"({"yes":true,"no":false,"none":null})");
  EXPECT_EQ(object["yes"].kind, Kind::kBool);
  EXPECT_EQ(object["yes"].text, "true");
  EXPECT_EQ(object["no"].kind, Kind::kBool);
  EXPECT_EQ(object["no"].text, "false");
  EXPECT_EQ(object["none"].kind, Kind::kNull);
  EXPECT_EQ(object["none"].text, "null");
}

TEST(FlatJsonTest, NestedObjectsAndArraysKeepTheirRawText) {
  FlatObject object = Parsed(R"({"o":{"x":[1, 2],"y":{"z":"\u0041"}},"a":[1, {"b":2}, "c"] ,)"
                             R"("e":{},"l":[]})");
  EXPECT_EQ(object["o"].kind, Kind::kObject);
  EXPECT_EQ(object["o"].text, R"({"x":[1, 2],"y":{"z":"\u0041"}})");
  EXPECT_EQ(object["a"].kind, Kind::kArray);
  EXPECT_EQ(object["a"].text, R"([1, {"b":2}, "c"])");
  EXPECT_EQ(object["e"].text, "{}");
  EXPECT_EQ(object["l"].text, "[]");
}

TEST(FlatJsonTest, ANestedObjectsTextParsesAsAFlatObjectItself) {
  FlatObject outer = Parsed(R"({"data":{"bookingId":"BK-1","amount":49.99,"tags":["a"]}})");
  FlatObject inner = Parsed(outer["data"].text);
  EXPECT_EQ(inner.size(), 3u);
  EXPECT_EQ(inner["bookingId"].text, "BK-1");
  EXPECT_EQ(inner["amount"].text, "49.99");
  EXPECT_EQ(inner["tags"].text, R"(["a"])");
}

// ---- keys and documents --------------------------------------------------------------------

TEST(FlatJsonTest, AnEmptyObjectHasNoFields) {
  EXPECT_TRUE(Parsed("{}").empty());
  EXPECT_TRUE(Parsed(" \n\t{ \r\n }\n ").empty());
}

TEST(FlatJsonTest, KeysAreUnescaped) {
  FlatObject object = Parsed(R"({"a\u0062":1,"with \"quote\"":2,"":3})");
  EXPECT_EQ(object.size(), 3u);
  EXPECT_EQ(object["ab"].text, "1");
  EXPECT_EQ(object["with \"quote\""].text, "2");
  EXPECT_EQ(object[""].text, "3");
}

TEST(FlatJsonTest, ALaterDuplicateKeyWins) {
  FlatObject object = Parsed(R"({"a":1,"b":"x","a":"two"})");
  EXPECT_EQ(object.size(), 2u);
  EXPECT_EQ(object["a"].kind, Kind::kString);
  EXPECT_EQ(object["a"].text, "two");
}

TEST(FlatJsonTest, ALargeStringIsReadWhole) {
  const std::string big(1 << 20, 'x');
  EXPECT_EQ(Parsed("{\"big\":\"" + big + "\"}")["big"].text, big);
}

TEST(FlatJsonTest, ADocumentThatIsNotAnObjectIsRefused) {
  for (const char* json : {"[]", "[1,2]", "42", "\"text\"", "true", "null", "}", "not json"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(ParseError(json), "expected a JSON object");
  }
}

void ExpectInvalidJson(const std::string& json) {
  SCOPED_TRACE(json);
  const std::string error = ParseError(json);
  EXPECT_TRUE(StartsWith(error, "invalid JSON: ")) << error;
}

TEST(FlatJsonTest, BadStructureIsInvalidJson) {
  for (const char* json : {"", "   ", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}",
                           "{\"a\":1", "{\"a\":[1,2}", "{\"a\":{\"b\":1}"}) {
    ExpectInvalidJson(json);
  }
  ExpectInvalidJson("{\"a\":1}\0"s);
}

TEST(FlatJsonTest, BadTokensAreInvalidJson) {
  for (const char* json : {"{\"a\":tru}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":NaN}",
                           "{\"a\":+1}", "{\"a\":0x10}"}) {
    ExpectInvalidJson(json);
  }
}

TEST(FlatJsonTest, BadStringsAreInvalidJson) {
  for (const char* json : {"{\"a\":\"unterminated}", "{\"a\":\"\xff\"}", "{\"a\":\"\\x41\"}",
                           "{\"a\":\"\\ud800\"}", "{\"\xc3\":1}"}) {
    ExpectInvalidJson(json);
  }
}

TEST(FlatJsonTest, AnythingAfterTheObjectIsRefused) {
  EXPECT_EQ(ParseError("{}{}"), "invalid JSON: trailing content");
  EXPECT_EQ(ParseError("{\"a\":1} {\"b\":2}"), "invalid JSON: trailing content");
  for (const char* json : {"{} x", "{\"a\":1} 2", "{}[]", "{} null"}) {
    SCOPED_TRACE(json);
    EXPECT_TRUE(StartsWith(ParseError(json), "invalid JSON: ")) << ParseError(json);
  }
}

TEST(FlatJsonTest, AnIntegerBeyond64BitsIsRefused) {
  for (const char* json :
       {R"({"a":123456789012345678901234567890})", R"({"a":-9223372036854775809})"}) {
    SCOPED_TRACE(json);
    EXPECT_TRUE(StartsWith(ParseError(json), "invalid JSON: ")) << ParseError(json);
  }
}

// Only the top level is read: a deep value is kept as text, without descending into it.
TEST(FlatJsonTest, ADeeplyNestedValueIsKeptWholeAsItsRawText) {
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  FlatObject object = Parsed("{\"a\":" + deep + ",\"b\":1}");
  EXPECT_EQ(object["a"].kind, Kind::kArray);
  EXPECT_EQ(object["a"].text, deep);
  EXPECT_EQ(object["b"].text, "1");
}

// ---- FieldText and FieldInt ----------------------------------------------------------------

TEST(FlatJsonTest, FieldTextIsTheTextOrEmptyWhenAbsentOrNull) {
  FlatObject object = Parsed(R"({"s":"v","n":12.5,"b":false,"z":null,"o":{"k":1}})");
  EXPECT_EQ(FieldText(object, "s"), "v");
  EXPECT_EQ(FieldText(object, "n"), "12.5");
  EXPECT_EQ(FieldText(object, "b"), "false");
  EXPECT_EQ(FieldText(object, "o"), R"({"k":1})");
  EXPECT_EQ(FieldText(object, "z"), "");
  EXPECT_EQ(FieldText(object, "missing"), "");
}

TEST(FlatJsonTest, FieldIntReadsAnIntegerNumber) {
  FlatObject object =
      Parsed(R"({"n":42,"neg":-7,"zero":0,"max":9223372036854775807,"min":-9223372036854775808})");
  EXPECT_EQ(FieldInt(object, "n"), 42);
  EXPECT_EQ(FieldInt(object, "neg"), -7);
  EXPECT_EQ(FieldInt(object, "zero", 5), 0);
  EXPECT_EQ(FieldInt(object, "max"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(FieldInt(object, "min"), std::numeric_limits<std::int64_t>::min());
}

TEST(FlatJsonTest, FieldIntFallsBackWhenAbsentOrNotAnInteger) {
  FlatObject object =
      Parsed(R"({"s":"42","f":1.5,"e":1e3,"over":9223372036854775808,"b":true,"z":null,"a":[1],)"
             R"("o":{"n":1}})");
  for (const char* key : {"s", "f", "e", "over", "b", "z", "a", "o", "missing"}) {
    SCOPED_TRACE(key);
    EXPECT_EQ(FieldInt(object, key, -99), -99);
  }
  EXPECT_EQ(FieldInt(object, "missing"), 0);  // the default fallback
}

}  // namespace
}  // namespace herald::handlers
