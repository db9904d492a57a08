// Golden bytes of the handlers' record layouts (handlers/record_keys.h): what is on disk must
// never change by accident.
#include "handlers/record_keys.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::handlers::keys {
namespace {

using namespace std::string_literals;

// A time whose eight bytes are all different, so that their order shows.
constexpr std::int64_t kMs = 0x0102030405060708;
const std::string kMsBytes = "\x01\x02\x03\x04\x05\x06\x07\x08"s;

TEST(RecordKeysTest, Be64IsBigEndianAndClampsNegativeToZero) {
  std::string out;
  AppendBe64(&out, kMs);
  EXPECT_EQ(out, kMsBytes);
  EXPECT_EQ(ReadBe64(out), kMs);
  out.clear();
  AppendBe64(&out, -5);
  EXPECT_EQ(out, std::string(8, '\0'));
}

TEST(RecordKeysTest, Be64OrderIsTimeOrder) {
  std::string earlier;
  std::string later;
  AppendBe64(&earlier, 255);
  AppendBe64(&later, 256);
  EXPECT_LT(earlier, later);
}

TEST(RecordKeysTest, PrefKeysAreUserNulChannel) {
  EXPECT_EQ(PrefKey("u-1", "email"), "u-1\0email"s);
  EXPECT_EQ(PrefPrefix("u-1"), "u-1\0"s);
  // One user's prefix never covers another user whose id it starts.
  EXPECT_NE(PrefKey("u-10", "email").rfind(PrefPrefix("u-1"), 0), 0u);
}

TEST(RecordKeysTest, DeviceKeysSitApartFromChannelSettings) {
  EXPECT_EQ(DeviceKey("u-1", "tok:A"), "\0du-1\0tok:A"s);
  EXPECT_EQ(DevicePrefix("u-1"), "\0du-1\0"s);
  // A user's channel prefix never covers a device key, whatever the user id.
  EXPECT_NE(DeviceKey("u-1", "email").rfind(PrefPrefix("u-1"), 0), 0u);
  EXPECT_NE(DeviceKey("u-10", "t").rfind(DevicePrefix("u-1"), 0), 0u);
}

TEST(RecordKeysTest, InboxKeys) {
  EXPECT_EQ(InboxUserPrefix("u-1"), "mu-1\0"s);
  EXPECT_EQ(InboxMessageKey("u-1", kMs, "evt-1"), "mu-1\0"s + kMsBytes + "evt-1");
  EXPECT_EQ(InboxEventKey("evt-1", "u-1"), "eevt-1\0u-1"s);
}

TEST(RecordKeysTest, SentKeysAndTheirParse) {
  EXPECT_EQ(SentEventKey("evt-1", "email"), "eevt-1\0email"s);
  EXPECT_EQ(SentUserPrefix("u-1"), "uu-1\0"s);
  const std::string key = SentUserKey("u-1", kMs, "evt-1", "push");
  EXPECT_EQ(key, "uu-1\0"s + kMsBytes + "evt-1\0push"s);
  auto parsed = ParseSentUserKey(key, SentUserPrefix("u-1").size());
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->event_id, "evt-1");
  EXPECT_EQ(parsed->channel, "push");
}

TEST(RecordKeysTest, SentUserKeyThatIsCutShortDoesNotParse) {
  const std::size_t prefix = SentUserPrefix("u-1").size();
  EXPECT_FALSE(ParseSentUserKey("uu-1\0"s + "\x01\x02"s, prefix).has_value());
  EXPECT_FALSE(ParseSentUserKey("uu-1\0"s + kMsBytes + "no-channel", prefix).has_value());
}

TEST(RecordKeysTest, FcmSentKeys) { EXPECT_EQ(FcmSentKey("evt-1", "tok:A"), "fevt-1\0tok:A"s); }

TEST(RecordKeysTest, TicketKeys) {
  EXPECT_EQ(TicketPrefix(), "t");
  EXPECT_EQ(TicketKey(kMs, "T-1"), "t"s + kMsBytes + "T-1");
  EXPECT_EQ(TicketEventKey("evt-1"), "eevt-1");
}

TEST(RecordKeysTest, ValuesCarryTheVersionByte) {
  EXPECT_EQ(Versioned("{}"), "\x01{}"s);
  EXPECT_EQ(Unversioned("\x01{}"s), std::optional<std::string_view>("{}"));
  EXPECT_FALSE(Unversioned("").has_value());
  EXPECT_FALSE(Unversioned("\x02{}"s).has_value());
}

}  // namespace
}  // namespace herald::handlers::keys
