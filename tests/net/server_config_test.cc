#include "net/server_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "net/server_options.h"

namespace herald::net {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;
using Args = std::vector<std::string>;

class ServerConfigTest : public ::testing::Test {
 protected:
  static ServerOptions Options() {
    ServerOptions options;
    options.io_threads = 3;  // 0 would report the machine's cores
    return options;
  }

  Pairs Get(Args patterns, std::uint16_t port = 6380) const { return config_.Get(patterns, port); }
  std::string GetOne(const std::string& name) const {
    Pairs got = Get({name});
    EXPECT_EQ(got.size(), 1u) << name;
    return got.empty() ? "<none>" : got[0].second;
  }
  // The message of a CONFIG SET that must fail with InvalidArgument.
  std::string SetError(Args name_values) {
    Status status = config_.Set(name_values);
    EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
    return status.message();
  }
  static std::string Failed(const std::string& name, const std::string& why) {
    return "CONFIG SET failed (possibly related to argument '" + name + "') - " + why;
  }

  ServerConfig config_{Options()};
};

// ---- defaults and start values -------------------------------------------------------------

TEST_F(ServerConfigTest, TheLiveValuesStartAsTheDefaultOptions) {
  EXPECT_EQ(config_.idle_timeout_s(), 0u);
  EXPECT_EQ(config_.max_clients(), 10000u);
  EXPECT_EQ(config_.max_bulk_bytes(), 512ull << 20);
  EXPECT_EQ(config_.max_query_buffer(), 1ull << 30);
  EXPECT_TRUE(config_.protected_mode());
  EXPECT_FALSE(config_.password_required());
  EXPECT_EQ(config_.requirepass(), "");
}

TEST_F(ServerConfigTest, WithoutAPasswordAnyPasswordIsAccepted) {
  EXPECT_TRUE(config_.CheckPassword(""));
  EXPECT_TRUE(config_.CheckPassword("anything"));
}

TEST_F(ServerConfigTest, ConfigGetStarReportsEveryParameterWithItsDefaultInNameOrder) {
  EXPECT_EQ(Get({"*"}), (Pairs{{"appendfsync", "everysec"},
                               {"appendonly", "yes"},
                               {"bind", "127.0.0.1"},
                               {"client-query-buffer-limit", "1073741824"},
                               {"databases", "16"},
                               {"io-threads", "3"},
                               {"maxclients", "10000"},
                               {"maxmemory", "0"},
                               {"maxmemory-policy", "noeviction"},
                               {"port", "6380"},
                               {"protected-mode", "yes"},
                               {"proto-max-bulk-len", "536870912"},
                               {"requirepass", ""},
                               {"save", ""},
                               {"timeout", "0"}}));
}

TEST_F(ServerConfigTest, NamesAreEveryParameterOnceLowerCaseAndSorted) {
  std::vector<std::string_view> names = ServerConfig::Names();
  EXPECT_EQ(names.size(), 15u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  for (std::string_view name : names) {
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
  Pairs all = Get({"*"});
  ASSERT_EQ(all.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(all[i].first, names[i]);
}

TEST_F(ServerConfigTest, ThePortIsTheOneTheServerListensOn) {
  EXPECT_EQ(Get({"port"}, 41234), (Pairs{{"port", "41234"}}));
}

TEST_F(ServerConfigTest, ZeroIoThreadsReportsTheNumberOfCores) {
  ServerConfig config{ServerOptions{}};
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(config.Get(Args{"io-threads"}, 6380), (Pairs{{"io-threads", std::to_string(cores)}}));
}

TEST_F(ServerConfigTest, StartOptionsAreReadBack) {
  ServerOptions options;
  options.bind = "0.0.0.0";
  options.io_threads = 8;
  options.requirepass = "s3cret";
  options.protected_mode = false;
  options.max_clients = 64;
  options.max_bulk_bytes = 2 << 20;
  options.max_query_buffer = 4 << 20;
  options.idle_timeout_s = 300;
  options.fsync_mode = "always";
  ServerConfig config(options);
  EXPECT_EQ(config.idle_timeout_s(), 300u);
  EXPECT_EQ(config.max_clients(), 64u);
  EXPECT_EQ(config.max_bulk_bytes(), 2u << 20);
  EXPECT_EQ(config.max_query_buffer(), 4u << 20);
  EXPECT_FALSE(config.protected_mode());
  EXPECT_TRUE(config.password_required());
  EXPECT_EQ(config.requirepass(), "s3cret");
  EXPECT_EQ(
      config.Get(Args{"bind", "io-threads", "appendfsync", "requirepass", "protected-mode",
                      "maxclients", "proto-max-bulk-len", "client-query-buffer-limit", "timeout"},
                 6380),
      (Pairs{{"bind", "0.0.0.0"},
             {"io-threads", "8"},
             {"appendfsync", "always"},
             {"requirepass", "s3cret"},
             {"protected-mode", "no"},
             {"maxclients", "64"},
             {"proto-max-bulk-len", "2097152"},
             {"client-query-buffer-limit", "4194304"},
             {"timeout", "300"}}));
}

TEST_F(ServerConfigTest, APasswordSetAtStartIsTheOnlyOneAccepted) {
  ServerOptions options;
  options.requirepass = "s3cret";
  ServerConfig config(options);
  EXPECT_TRUE(config.CheckPassword("s3cret"));
  EXPECT_FALSE(config.CheckPassword("S3CRET"));
  EXPECT_FALSE(config.CheckPassword("s3cre"));
  EXPECT_FALSE(config.CheckPassword("s3crett"));
  EXPECT_FALSE(config.CheckPassword(""));
}

// ---- CONFIG GET patterns -------------------------------------------------------------------

TEST_F(ServerConfigTest, AnExactNameIsCaseInsensitiveAndAnsweredWithTheNameAsGiven) {
  EXPECT_EQ(Get({"TimeOut"}), (Pairs{{"TimeOut", "0"}}));
  EXPECT_EQ(Get({"MAXCLIENTS"}), (Pairs{{"MAXCLIENTS", "10000"}}));
}

TEST_F(ServerConfigTest, AGlobMatchesNamesCaseSensitively) {
  EXPECT_EQ(
      Get({"max*"}),
      (Pairs{{"maxclients", "10000"}, {"maxmemory", "0"}, {"maxmemory-policy", "noeviction"}}));
  EXPECT_TRUE(Get({"MAX*"}).empty());
  EXPECT_EQ(Get({"?ort"}), (Pairs{{"port", "6380"}}));
  EXPECT_EQ(Get({"[bs]*"}), (Pairs{{"bind", "127.0.0.1"}, {"save", ""}}));
}

TEST_F(ServerConfigTest, AnUnknownNameOrNoPatternMatchesNothing) {
  EXPECT_TRUE(Get({"no-such-parameter"}).empty());
  EXPECT_TRUE(Get({"no-such-*"}).empty());
  EXPECT_TRUE(Get({""}).empty());
  EXPECT_TRUE(Get({}).empty());
}

TEST_F(ServerConfigTest, EachParameterIsReportedOnceInTheOrderFirstMatched) {
  EXPECT_EQ(Get({"timeout", "*out", "TIMEOUT", "port"}),
            (Pairs{{"timeout", "0"}, {"port", "6380"}}));
  EXPECT_EQ(
      Get({"PORT", "p*"}),
      (Pairs{{"PORT", "6380"}, {"protected-mode", "yes"}, {"proto-max-bulk-len", "536870912"}}));
}

// ---- CONFIG SET: each live parameter set and read back -------------------------------------

TEST_F(ServerConfigTest, SetTimeoutHoldsFromNowOn) {
  ASSERT_TRUE(config_.Set(Args{"timeout", "300"}).ok());
  EXPECT_EQ(config_.idle_timeout_s(), 300u);
  EXPECT_EQ(GetOne("timeout"), "300");
  ASSERT_TRUE(config_.Set(Args{"timeout", "0"}).ok());
  EXPECT_EQ(config_.idle_timeout_s(), 0u);
  ASSERT_TRUE(config_.Set(Args{"timeout", "2147483647"}).ok());
  EXPECT_EQ(config_.idle_timeout_s(), 2147483647u);
}

TEST_F(ServerConfigTest, SetMaxclientsHoldsFromNowOn) {
  ASSERT_TRUE(config_.Set(Args{"maxclients", "1"}).ok());
  EXPECT_EQ(config_.max_clients(), 1u);
  ASSERT_TRUE(config_.Set(Args{"maxclients", "4294967295"}).ok());
  EXPECT_EQ(config_.max_clients(), 4294967295u);
  EXPECT_EQ(GetOne("maxclients"), "4294967295");
}

TEST_F(ServerConfigTest, SetProtoMaxBulkLenTakesAMemoryValue) {
  ASSERT_TRUE(config_.Set(Args{"proto-max-bulk-len", "2mb"}).ok());
  EXPECT_EQ(config_.max_bulk_bytes(), 2u << 20);
  EXPECT_EQ(GetOne("proto-max-bulk-len"), "2097152");
}

TEST_F(ServerConfigTest, SetClientQueryBufferLimitTakesAMemoryValue) {
  ASSERT_TRUE(config_.Set(Args{"client-query-buffer-limit", "64MB"}).ok());
  EXPECT_EQ(config_.max_query_buffer(), 64u << 20);
  EXPECT_EQ(GetOne("client-query-buffer-limit"), "67108864");
}

TEST_F(ServerConfigTest, MemoryValuesTakeRedisUnitsInAnyCase) {
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"1048576", 1048576},
           {"1048576b", 1048576},
           {"1048576B", 1048576},
           {"1024kb", 1048576},
           {"1024KB", 1048576},
           {"1024kB", 1048576},
           {"2000k", 2'000'000},
           {"2m", 2'000'000},
           {"1mb", 1048576},
           {"1g", 1'000'000'000},
           {"1Gb", 1ull << 30},
           {"8589934591gb", (1ull << 63) - (1ull << 30)},
       }) {
    SCOPED_TRACE(text);
    ASSERT_TRUE(config_.Set(Args{"proto-max-bulk-len", text}).ok());
    EXPECT_EQ(config_.max_bulk_bytes(), bytes);
  }
}

TEST_F(ServerConfigTest, SetProtectedModeTakesYesOrNoInAnyCase) {
  ASSERT_TRUE(config_.Set(Args{"protected-mode", "no"}).ok());
  EXPECT_FALSE(config_.protected_mode());
  EXPECT_EQ(GetOne("protected-mode"), "no");
  ASSERT_TRUE(config_.Set(Args{"protected-mode", "YES"}).ok());
  EXPECT_TRUE(config_.protected_mode());
  ASSERT_TRUE(config_.Set(Args{"Protected-Mode", "No"}).ok());
  EXPECT_FALSE(config_.protected_mode());
}

TEST_F(ServerConfigTest, SetRequirepassMakesClientsAuthenticateWithIt) {
  ASSERT_TRUE(config_.Set(Args{"requirepass", "s3cret"}).ok());
  EXPECT_TRUE(config_.password_required());
  EXPECT_EQ(config_.requirepass(), "s3cret");
  EXPECT_EQ(GetOne("requirepass"), "s3cret");
  EXPECT_TRUE(config_.CheckPassword("s3cret"));
  EXPECT_FALSE(config_.CheckPassword("wrong"));
  EXPECT_FALSE(config_.CheckPassword(""));
}

TEST_F(ServerConfigTest, SetRequirepassToEmptyRemovesThePassword) {
  ASSERT_TRUE(config_.Set(Args{"requirepass", "s3cret"}).ok());
  ASSERT_TRUE(config_.Set(Args{"requirepass", ""}).ok());
  EXPECT_FALSE(config_.password_required());
  EXPECT_EQ(config_.requirepass(), "");
  EXPECT_TRUE(config_.CheckPassword("anything"));
}

TEST_F(ServerConfigTest, APasswordMayHoldAnyBytes) {
  const std::string password("p\0ss word\r\n", 11);
  ASSERT_TRUE(config_.Set(Args{"requirepass", password}).ok());
  EXPECT_TRUE(config_.CheckPassword(password));
  EXPECT_FALSE(config_.CheckPassword("p"));
}

TEST_F(ServerConfigTest, SeveralPairsAreAppliedTogether) {
  ASSERT_TRUE(
      config_
          .Set(Args{"timeout", "5", "maxclients", "7", "protected-mode", "no", "requirepass", "pw"})
          .ok());
  EXPECT_EQ(config_.idle_timeout_s(), 5u);
  EXPECT_EQ(config_.max_clients(), 7u);
  EXPECT_FALSE(config_.protected_mode());
  EXPECT_TRUE(config_.password_required());
}

TEST_F(ServerConfigTest, NoPairsChangeNothing) {
  ASSERT_TRUE(config_.Set(Args{}).ok());
  EXPECT_EQ(Get({"*"}), ServerConfig(Options()).Get(Args{"*"}, 6380));
}

TEST_F(ServerConfigTest, TheStartOptionsStayAsTheServerStarted) {
  ASSERT_TRUE(config_.Set(Args{"timeout", "9", "requirepass", "pw"}).ok());
  EXPECT_EQ(config_.initial().idle_timeout_s, 0u);
  EXPECT_EQ(config_.initial().requirepass, "");
  EXPECT_EQ(config_.initial().io_threads, 3u);
}

// ---- CONFIG SET: refusals ------------------------------------------------------------------

TEST_F(ServerConfigTest, AnUnknownParameterIsRefusedNamingIt) {
  EXPECT_EQ(SetError({"no-such-parameter", "1"}),
            "Unknown option or number of arguments for CONFIG SET - 'no-such-parameter'");
  EXPECT_EQ(SetError({"time*", "1"}),
            "Unknown option or number of arguments for CONFIG SET - 'time*'");
}

TEST_F(ServerConfigTest, AnImmutableParameterIsRefusedNamingItAsGiven) {
  for (const char* name : {"appendfsync", "appendonly", "bind", "databases", "io-threads",
                           "maxmemory", "maxmemory-policy", "port", "save"}) {
    EXPECT_EQ(SetError({name, "1"}), Failed(name, "can't set immutable config"));
  }
  EXPECT_EQ(SetError({"PORT", "7000"}), Failed("PORT", "can't set immutable config"));
}

TEST_F(ServerConfigTest, BindAndPortKeepTheirStartValuesAfterARefusedSet) {
  EXPECT_FALSE(config_.Set(Args{"bind", "0.0.0.0"}).ok());
  EXPECT_FALSE(config_.Set(Args{"port", "1"}).ok());
  EXPECT_EQ(GetOne("bind"), "127.0.0.1");
  EXPECT_EQ(Get({"port"}, 6380), (Pairs{{"port", "6380"}}));
}

TEST_F(ServerConfigTest, AParameterGivenTwiceIsRefusedNamingTheSecond) {
  EXPECT_EQ(SetError({"timeout", "1", "TIMEOUT", "2"}), Failed("TIMEOUT", "duplicate parameter"));
  EXPECT_EQ(config_.idle_timeout_s(), 0u);
}

TEST_F(ServerConfigTest, ANonIntegerTimeoutIsRefusedNamingTheParameter) {
  for (const char* text : {"abc", "1.5", " 1", "1 ", "+1", "01", "-0", "", "1e3"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"timeout", text}),
              Failed("timeout", "argument couldn't be parsed into an integer"));
  }
}

TEST_F(ServerConfigTest, AValueErrorNamesTheParameterInLowerCase) {
  EXPECT_EQ(SetError({"TIMEOUT", "x"}),
            Failed("timeout", "argument couldn't be parsed into an integer"));
}

TEST_F(ServerConfigTest, AnIntegerBeyond64BitsIsNotAnInteger) {
  EXPECT_EQ(SetError({"timeout", "9223372036854775808"}),
            Failed("timeout", "argument couldn't be parsed into an integer"));
  EXPECT_EQ(SetError({"maxclients", "-9223372036854775809"}),
            Failed("maxclients", "argument couldn't be parsed into an integer"));
}

TEST_F(ServerConfigTest, ATimeoutOutsideZeroToIntMaxIsRefusedWithTheRange) {
  for (const char* text : {"-1", "2147483648", "9223372036854775807"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"timeout", text}),
              Failed("timeout", "argument must be between 0 and 2147483647 inclusive"));
  }
  EXPECT_EQ(config_.idle_timeout_s(), 0u);
}

TEST_F(ServerConfigTest, MaxclientsOutsideOneToUintMaxIsRefusedWithTheRange) {
  for (const char* text : {"0", "-1", "4294967296"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"maxclients", text}),
              Failed("maxclients", "argument must be between 1 and 4294967295 inclusive"));
  }
  EXPECT_EQ(config_.max_clients(), 10000u);
}

TEST_F(ServerConfigTest, TextThatIsNotAMemoryValueIsRefused) {
  for (const char* text : {"abc", "1.5mb", "-1", "-1mb", "1tb", "1 mb", " 1mb", "1mb ", "mbb",
                           "0x100000", "18446744073709551616"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"proto-max-bulk-len", text}),
              Failed("proto-max-bulk-len", "argument must be a memory value"));
  }
  EXPECT_EQ(config_.max_bulk_bytes(), 512u << 20);
}

TEST_F(ServerConfigTest, MemoryValuesAbove64BitsAreRefused) {
  // 2^34 GiB and 2^54 KiB are 2^64 bytes. (2^33 GiB = 2^63 fits, and is out of range.)
  for (const char* text : {"17179869184gb", "18014398509481984kb"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"client-query-buffer-limit", text}),
              Failed("client-query-buffer-limit", "argument must be a memory value"));
  }
}

TEST_F(ServerConfigTest, AMemoryValueBelowOneMebibyteOrAboveInt64IsRefusedWithTheRange) {
  const std::string range = "argument must be between 1048576 and 9223372036854775807 inclusive";
  for (const char* text : {"0", "", "1048575", "1023kb", "1m", "9223372036854775808",
                           "18446744073709551615", "8589934592gb"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"proto-max-bulk-len", text}), Failed("proto-max-bulk-len", range));
    EXPECT_EQ(SetError({"client-query-buffer-limit", text}),
              Failed("client-query-buffer-limit", range));
  }
  ASSERT_TRUE(config_.Set(Args{"proto-max-bulk-len", "9223372036854775807"}).ok());
  EXPECT_EQ(config_.max_bulk_bytes(), 9223372036854775807u);
}

TEST_F(ServerConfigTest, ProtectedModeOtherThanYesOrNoIsRefused) {
  for (const char* text : {"maybe", "1", "0", "true", "", "yes "}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(SetError({"protected-mode", text}),
              Failed("protected-mode", "argument must be 'yes' or 'no'"));
  }
  EXPECT_TRUE(config_.protected_mode());
}

TEST_F(ServerConfigTest, OneBadValueAppliesNoneOfThePairs) {
  EXPECT_EQ(SetError({"timeout", "10", "requirepass", "pw", "maxclients", "0"}),
            Failed("maxclients", "argument must be between 1 and 4294967295 inclusive"));
  EXPECT_EQ(config_.idle_timeout_s(), 0u);
  EXPECT_FALSE(config_.password_required());
  EXPECT_EQ(config_.max_clients(), 10000u);
}

TEST_F(ServerConfigTest, NamesAreCheckedBeforeAnyValue) {
  EXPECT_EQ(SetError({"timeout", "abc", "port", "1"}),
            Failed("port", "can't set immutable config"));
  EXPECT_EQ(SetError({"timeout", "abc", "no-such", "1"}),
            "Unknown option or number of arguments for CONFIG SET - 'no-such'");
}

// ---- bind ----------------------------------------------------------------------------------

TEST(LoopbackBindRuleTest, EveryAddressOf127Slash8AndIpv6LoopbackInAnyFormIsLoopback) {
  for (const char* bind : {"127.0.0.0", "127.0.0.1", "127.255.255.255", "::1", "0:0:0:0:0:0:0:1"}) {
    EXPECT_TRUE(IsLoopbackBind(bind)) << bind;
  }
}

TEST(LoopbackBindRuleTest, NeighboursOfTheLoopbackRangeAndHostNamesAreNotLoopback) {
  for (const char* bind : {"126.255.255.255", "128.0.0.0", "::2", "[::1]", "localhost:6380",
                           "127.0.0.1:6380", "127.0.0.256", " localhost"}) {
    EXPECT_FALSE(IsLoopbackBind(bind)) << bind;
  }
}

}  // namespace
}  // namespace herald::net
