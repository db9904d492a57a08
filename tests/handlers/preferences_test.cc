#include "handlers/preferences.h"

#include <gtest/gtest.h>

#include "handlers/queries.h"
#include "tests/handlers/handler_fixture.h"

namespace herald::handlers {
namespace {

class PreferencesTest : public HandlerFixture {};

TEST_F(PreferencesTest, EveryChannelIsOnByDefault) {
  Preferences prefs(records_.get());
  auto all = prefs.Get("user-1");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, (std::map<std::string, bool>{{"email", true}, {"inapp", true}, {"push", true}}));
  EXPECT_TRUE(*prefs.Enabled("user-1", Channel::kEmail));
}

TEST_F(PreferencesTest, SetOffIsReadBackPerChannelAndUser) {
  Preferences prefs(records_.get());
  ASSERT_TRUE(prefs.Set("user-1", "email", false).ok());
  ASSERT_TRUE(prefs.Set("user-1", Channel::kPush, false).ok());
  ASSERT_TRUE(prefs.Set("user-1", "push", true).ok());
  EXPECT_EQ(*prefs.Get("user-1"),
            (std::map<std::string, bool>{{"email", false}, {"inapp", true}, {"push", true}}));
  EXPECT_FALSE(*prefs.Enabled("user-1", Channel::kEmail));
  // Another user, and a user whose id extends this one's, are unaffected.
  EXPECT_TRUE(*prefs.Enabled("user-2", Channel::kEmail));
  EXPECT_TRUE(*prefs.Enabled("user-10", Channel::kEmail));
  EXPECT_TRUE(prefs.Get("user-10")->at("email"));
}

TEST_F(PreferencesTest, InAppAcceptsItsSpellings) {
  Preferences prefs(records_.get());
  ASSERT_TRUE(prefs.Set("u", "in-app", false).ok());
  EXPECT_FALSE(*prefs.Enabled("u", Channel::kInApp));
  ASSERT_TRUE(prefs.Set("u", "INAPP", true).ok());
  EXPECT_TRUE(*prefs.Enabled("u", Channel::kInApp));
}

TEST_F(PreferencesTest, UnknownChannelIsInvalidArgument) {
  Preferences prefs(records_.get());
  Status status = prefs.Set("u", "sms", false);
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_NE(status.message().find("'sms'"), std::string::npos) << status.message();
}

TEST_F(PreferencesTest, BadUserIdIsInvalidArgument) {
  Preferences prefs(records_.get());
  EXPECT_TRUE(prefs.Set("", "email", false).IsInvalidArgument());
  EXPECT_TRUE(prefs.Set(std::string("a\0b", 3), "email", false).IsInvalidArgument());
  EXPECT_TRUE(prefs.Get(std::string(300, 'x')).status().IsInvalidArgument());
}

TEST_F(PreferencesTest, SurvivesReopeningTheStore) {
  ASSERT_TRUE(Preferences(records_.get()).Set("user-1", "email", false).ok());
  records_.reset();
  store_.reset();
  storage::StoreOptions options;
  options.data_dir = dir_.Sub("db");
  options.logger = logger_;
  auto store = storage::Store::Open(options);
  ASSERT_TRUE(store.ok());
  store_ = std::move(store).value();
  records_ = std::make_unique<engine::StoreRecords>(store_.get());
  EXPECT_FALSE(*Preferences(records_.get()).Enabled("user-1", Channel::kEmail));
}

TEST_F(PreferencesTest, QueriesSetAndGetLikePrefsCommands) {
  NotificationQueries queries(records_.get());
  auto off = ParseOnOff("OFF");
  ASSERT_TRUE(off.ok());
  ASSERT_TRUE(queries.SetPreference("user-1", "push", *off).ok());
  EXPECT_EQ(*queries.GetPreferences("user-1"),
            (std::map<std::string, bool>{{"email", true}, {"inapp", true}, {"push", false}}));
  EXPECT_TRUE(ParseOnOff("maybe").status().IsInvalidArgument());
  EXPECT_TRUE(*ParseOnOff("on"));
}

}  // namespace
}  // namespace herald::handlers
