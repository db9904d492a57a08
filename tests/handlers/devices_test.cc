#include "handlers/devices.h"

#include <gtest/gtest.h>

#include "handlers/preferences.h"
#include "handlers/queries.h"
#include "tests/handlers/handler_fixture.h"

namespace herald::handlers {
namespace {

class DevicesTest : public HandlerFixture {};

TEST_F(DevicesTest, AddListAndRemoveTokensPerUser) {
  Devices devices(records_.get());
  EXPECT_TRUE(*devices.Add("user-1", "tok-b", "ios", 2000));
  EXPECT_TRUE(*devices.Add("user-1", "tok-a", "android", 1000));
  EXPECT_TRUE(*devices.Add("user-10", "tok-c", "", 3000));
  auto list = devices.List("user-1");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].token, "tok-a");
  EXPECT_EQ((*list)[0].platform, "android");
  EXPECT_EQ((*list)[0].added_ms, 1000);
  EXPECT_EQ((*list)[1].token, "tok-b");
  // Adding a known token again is not new: it keeps its time and takes the new platform.
  EXPECT_FALSE(*devices.Add("user-1", "tok-a", "web", 9000));
  EXPECT_EQ(devices.List("user-1")->at(0).added_ms, 1000);
  EXPECT_EQ(devices.List("user-1")->at(0).platform, "web");

  EXPECT_TRUE(*devices.Remove("user-1", "tok-a"));
  EXPECT_FALSE(*devices.Remove("user-1", "tok-a"));
  ASSERT_EQ(devices.List("user-1")->size(), 1u);
  EXPECT_EQ(devices.List("user-10")->size(), 1u);
  EXPECT_TRUE(devices.List("nobody")->empty());
}

TEST_F(DevicesTest, ChannelSettingsAndDevicesDoNotSeeEachOther) {
  Devices devices(records_.get());
  Preferences prefs(records_.get());
  ASSERT_TRUE(*devices.Add("user-1", "email", "", 1));
  ASSERT_TRUE(prefs.Set("user-1", "push", false).ok());
  EXPECT_EQ(*prefs.Get("user-1"),
            (std::map<std::string, bool>{{"email", true}, {"inapp", true}, {"push", false}}));
  ASSERT_EQ(devices.List("user-1")->size(), 1u);
  EXPECT_EQ(devices.List("user-1")->at(0).token, "email");
}

TEST_F(DevicesTest, BadInputIsRefusedWithTheReason) {
  Devices devices(records_.get());
  auto refused = [&](std::string_view user, std::string_view token, std::string_view platform) {
    auto added = devices.Add(user, token, platform, 1);
    EXPECT_FALSE(added.ok());
    return added.ok() ? std::string() : added.status().message();
  };
  EXPECT_NE(refused("user-1", "", "").find("1..4096 bytes"), std::string::npos);
  EXPECT_NE(refused("user-1", std::string(4097, 'x'), "").find("1..4096 bytes"), std::string::npos);
  EXPECT_NE(refused("user-1", "has space", "").find("printable ASCII"), std::string::npos);
  EXPECT_NE(refused("user-1", "t\r\n", "").find("printable ASCII"), std::string::npos);
  EXPECT_NE(refused("user-1", "tok", "blackberry").find("unknown platform 'blackberry'"),
            std::string::npos);
  EXPECT_NE(refused("", "tok", "").find("user id"), std::string::npos);
  EXPECT_TRUE(devices.List("user-1")->empty());
}

TEST_F(DevicesTest, AUserHasAtMostThirtyTwoTokens) {
  Devices devices(records_.get());
  for (std::size_t i = 0; i < Devices::kMaxPerUser; ++i) {
    ASSERT_TRUE(devices.Add("user-1", "tok-" + std::to_string(i), "", 1).ok());
  }
  auto more = devices.Add("user-1", "one-more", "", 1);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("remove one first"), std::string::npos);
  // A known token can still be refreshed, and after a removal there is room again.
  EXPECT_TRUE(devices.Add("user-1", "tok-0", "ios", 2).ok());
  ASSERT_TRUE(*devices.Remove("user-1", "tok-3"));
  EXPECT_TRUE(*devices.Add("user-1", "one-more", "", 3));
  EXPECT_EQ(devices.List("user-1")->size(), Devices::kMaxPerUser);
}

TEST_F(DevicesTest, QueriesGiveTheFieldsOfDevicesCommands) {
  NotificationQueries queries(records_.get());
  EXPECT_TRUE(*queries.AddDevice("user-1", "tok-a", "android"));
  auto devices = queries.Devices("user-1");
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  const Fields fields = DeviceFields((*devices)[0]);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], (std::pair<std::string, std::string>{"token", "tok-a"}));
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"platform", "android"}));
  EXPECT_EQ(fields[2].first, "addedAt");
  EXPECT_EQ(fields[2].second.size(), 24u);  // 2026-12-03T10:00:00.000Z
  EXPECT_TRUE(*queries.RemoveDevice("user-1", "tok-a"));
}

}  // namespace
}  // namespace herald::handlers
