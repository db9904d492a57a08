#include "engine/toml_values.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace herald::engine {
namespace {

toml::table Parse(std::string_view text) { return std::move(ParseToml(text, "t.toml")).value(); }

TEST(TomlValuesTest, AbsentKeysLeaveTheValueAlone) {
  toml::table table = Parse("other = 1\n");
  std::int64_t n = 7;
  std::uint16_t port = 6380;
  std::string s = "kept";
  bool b = true;
  EXPECT_TRUE(ReadTomlInt(table, "n", "t.toml: x", 0, 10, &n).ok());
  EXPECT_TRUE(ReadTomlInt(table, "port", "t.toml: x", 1, 65535, &port).ok());
  EXPECT_TRUE(ReadTomlString(table, "s", "t.toml: x", &s).ok());
  EXPECT_TRUE(ReadTomlBool(table, "b", "t.toml: x", &b).ok());
  EXPECT_EQ(n, 7);
  EXPECT_EQ(port, 6380);
  EXPECT_EQ(s, "kept");
  EXPECT_TRUE(b);
}

TEST(TomlValuesTest, PresentKeysAreReadIntoTheirTypes) {
  toml::table table = Parse("n = -3\nport = 6390\nseed = 9000000000\ns = \"hi\"\nb = false\n");
  std::int64_t n = 0;
  std::uint16_t port = 0;
  std::uint64_t seed = 0;
  std::string s;
  bool b = true;
  EXPECT_TRUE(ReadTomlInt(table, "n", "w", -5, 5, &n).ok());
  EXPECT_TRUE(ReadTomlInt(table, "port", "w", 1, 65535, &port).ok());
  EXPECT_TRUE(ReadTomlInt(table, "seed", "w", 0, INT64_MAX, &seed).ok());
  EXPECT_TRUE(ReadTomlString(table, "s", "w", &s).ok());
  EXPECT_TRUE(ReadTomlBool(table, "b", "w", &b).ok());
  EXPECT_EQ(n, -3);
  EXPECT_EQ(port, 6390);
  EXPECT_EQ(seed, 9000000000u);
  EXPECT_EQ(s, "hi");
  EXPECT_FALSE(b);
}

TEST(TomlValuesTest, WrongValuesAreRefusedWithWhereKeyAndProblem) {
  toml::table table = Parse("port = 70000\nname = 5\nflag = \"yes\"\nratio = 1.5\n");
  std::uint16_t port = 1;
  std::int64_t ratio = 0;
  std::string name = "kept";
  bool flag = true;
  Status status = ReadTomlInt(table, "port", "t.toml: handlers.smtp", 1, 65535, &port);
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_EQ(status.message(), "t.toml: handlers.smtp.port must be an integer from 1 to 65535");
  EXPECT_EQ(port, 1);
  EXPECT_EQ(ReadTomlInt(table, "ratio", "w", 0, 10, &ratio).message(),
            "w.ratio must be an integer from 0 to 10");
  EXPECT_EQ(ReadTomlString(table, "name", "t.toml: server", &name).message(),
            "t.toml: server.name must be a string");
  EXPECT_EQ(name, "kept");
  EXPECT_EQ(ReadTomlBool(table, "flag", "t.toml: server", &flag).message(),
            "t.toml: server.flag must be true/false");
  EXPECT_TRUE(flag);
}

// Found by config_fuzz: a float far beyond any integer (port = 25e25) was converted to one, which
// is undefined; a float is refused like any other non-integer, whole (2.0) or not.
TEST(TomlValuesTest, FloatsAreNotIntegersHoweverLarge) {
  toml::table table = Parse("port = 25e25\nsmall = 2.0\nnegative = -1e300\n");
  std::uint16_t port = 1;
  std::int64_t small = 0;
  std::int64_t negative = 0;
  EXPECT_EQ(ReadTomlInt(table, "port", "t.toml: handlers.smtp", 1, 65535, &port).message(),
            "t.toml: handlers.smtp.port must be an integer from 1 to 65535");
  EXPECT_EQ(port, 1);
  EXPECT_FALSE(ReadTomlInt(table, "small", "w", 0, 10, &small).ok());
  EXPECT_FALSE(ReadTomlInt(table, "negative", "w", INT64_MIN, INT64_MAX, &negative).ok());
}

TEST(TomlValuesTest, SyntaxErrorsNameTheSourceAndLine) {
  auto parsed = ParseToml("a = 1\nb = = 2\n", "herald.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(parsed.status().IsInvalidArgument());
  EXPECT_EQ(parsed.status().message().rfind("herald.toml:2: ", 0), 0u) << parsed.status().message();
}

TEST(TomlValuesTest, FilesAreReadOrRefusedWithIOError) {
  testing::TempDir dir;
  const std::string path = dir.Sub("c.toml");
  std::ofstream(path) << "[server]\nport = 1\n";
  auto parsed = ParseTomlFile(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)["server"]["port"].value<std::int64_t>(), 1);
  auto missing = ParseTomlFile(dir.Sub("none.toml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_EQ(missing.status().message(), "cannot read " + dir.Sub("none.toml"));
}

}  // namespace
}  // namespace herald::engine
