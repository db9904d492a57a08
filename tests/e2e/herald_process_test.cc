// Starts the real herald binary on loopback and checks its life cycle from outside.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace herald::testing {
namespace {

using namespace std::chrono_literals;

class HeraldProcessTest : public ::testing::Test {
 protected:
  std::vector<std::string> Args(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        HERALD_BINARY,         "--data-dir",  dir_.Sub("data"),          "--port",
        std::to_string(port_), "--http-port", std::to_string(http_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  TempDir dir_;
  int port_ = FreePort();
  int http_port_ = FreePort();
};

TEST_F(HeraldProcessTest, PrintsBannerAndExitsZeroOnSigterm) {
  ChildProcess herald(Args({"--fsync", "always"}), dir_.Sub("out.log"));
  ASSERT_TRUE(herald.WaitForOutput("herald ready", 20s)) << herald.Output();
  std::string out = herald.Output();
  EXPECT_NE(out.find(std::to_string(port_)), std::string::npos) << out;
  EXPECT_NE(out.find("always"), std::string::npos) << out;
  EXPECT_NE(out.find(dir_.Sub("data")), std::string::npos) << out;
  herald.Signal(SIGTERM);
  EXPECT_EQ(herald.Wait(20s), 0) << herald.Output();
  EXPECT_NE(herald.Output().find("herald stopped"), std::string::npos);
}

TEST_F(HeraldProcessTest, RefusesBadFsyncModeWithClearError) {
  ChildProcess herald(Args({"--fsync", "sometimes"}), dir_.Sub("out.log"));
  EXPECT_NE(herald.Wait(20s), 0);
  EXPECT_NE(herald.Output().find("fsync"), std::string::npos) << herald.Output();
}

TEST_F(HeraldProcessTest, RefusesPublicBindWithoutPassword) {
  ChildProcess herald(Args({"--bind", "0.0.0.0"}), dir_.Sub("out.log"));
  EXPECT_EQ(herald.Wait(20s), 2);
  EXPECT_NE(herald.Output().find("without a password"), std::string::npos) << herald.Output();
}

TEST_F(HeraldProcessTest, ReadsServerSettingsFromConfigFile) {
  std::string config = dir_.Sub("herald.toml");
  FILE* f = fopen(config.c_str(), "w");
  fprintf(f, "[server]\nworkers = 3\nfsync = \"no\"\ntimeout = 7\n");
  fclose(f);
  ChildProcess herald(Args({"--config", config}), dir_.Sub("out.log"));
  ASSERT_TRUE(herald.WaitForOutput("herald ready", 20s)) << herald.Output();
  EXPECT_NE(herald.Output().find("workers    3"), std::string::npos) << herald.Output();
  EXPECT_NE(herald.Output().find("timeout    7 s idle"), std::string::npos) << herald.Output();
  herald.Signal(SIGINT);
  EXPECT_EQ(herald.Wait(20s), 0);
}

TEST_F(HeraldProcessTest, RefusesStoreSettingsThatCannotWork) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[store]\nbackend = \"mysql\"\n", "store backend must be embedded or postgres"},
      {"[store]\nbackend = \"postgres\"\n", "needs store.conninfo (or --store-conninfo)"},
      {"[store]\nbackend = \"postgres\"\nconninfo = \"host=127.0.0.1\"\nconnections = 0\n",
       "store connections must be between 1 and 256"},
      {"[store]\nbackend = \"postgres\"\nconninfo = \"host=127.0.0.1\"\nheartbeat_ms = "
       "1000\nnode_timeout_ms = 1500\n",
       "node_timeout_ms at least twice it"},
      {"[store]\nnode = 7\n", "store.node"},
      {"[store]\nbackend = \"postgres\"\nconninfo = \"host=a\"\n[[store.clusters]]\nname = "
       "\"x\"\nconninfo = \"host=b\"\n",
       "store.conninfo (or --store-conninfo) and store.clusters both name the database"},
      {"[store]\nbackend = \"postgres\"\n[[store.clusters]]\nname = \"x\"\nconninfo = "
       "\"host=b\"\n[store.queues]\nemails = \"y\"\n",
       "store: queue 'emails' is mapped to cluster 'y', which the map does not have"},
      {"[store]\nbackend = \"postgres\"\n[[store.clusters]]\nname = \"x\"\nconninfo = "
       "\"host=b\"\n[[store.clusters]]\nname = \"x\"\nconninfo = \"host=c\"\n",
       "cluster 'x' is named twice"},
      {"[store]\nbackend = \"postgres\"\n[[store.clusters]]\nname = \"x\"\nhost = \"b\"\n",
       "store.clusters[0]: unknown key 'host' (name and conninfo)"},
      {"[store]\nbackend = \"postgres\"\nconninfo = \"host=a\"\n[store.queues]\nemails = "
       "\"x\"\n",
       "store.queues places queues on store.clusters, which are not given"},
  };
  int n = 0;
  for (const auto& [toml, expected] : cases) {
    const std::string config = WriteFile(dir_.Sub("bad" + std::to_string(++n) + ".toml"), toml);
    ChildProcess herald(Args({"--config", config}), dir_.Sub("bad" + std::to_string(n) + ".log"));
    EXPECT_EQ(herald.Wait(20s), 2) << toml;
    EXPECT_NE(herald.Output().find(expected), std::string::npos) << toml << herald.Output();
  }
}

TEST_F(HeraldProcessTest, SaysSoWhenThePostgresStoreCannotBeReached) {
  // Nothing listens on that port: the store is not opened, and the log says where and why.
  const int nobody = FreePort();
  ChildProcess herald(
      Args({"--store-conninfo",
            "host=127.0.0.1 port=" + std::to_string(nobody) + " dbname=herald connect_timeout=2",
            "--store-node", "n1"}),
      dir_.Sub("out.log"));
  EXPECT_EQ(herald.Wait(30s), 1);
  EXPECT_NE(herald.Output().find("cannot open the store postgres (node n1)"), std::string::npos)
      << herald.Output();
  EXPECT_NE(herald.Output().find("Connection refused"), std::string::npos) << herald.Output();
}

TEST_F(HeraldProcessTest, RefusesATimeoutOutOfRange) {
  std::string config = dir_.Sub("herald.toml");
  FILE* f = fopen(config.c_str(), "w");
  fprintf(f, "[server]\ntimeout = -1\n");
  fclose(f);
  ChildProcess from_file(Args({"--config", config}), dir_.Sub("file.log"));
  EXPECT_EQ(from_file.Wait(20s), 2);
  EXPECT_NE(from_file.Output().find("server.timeout must be an integer in range"),
            std::string::npos)
      << from_file.Output();
  ChildProcess from_flag(Args({"--timeout", "4000000000"}), dir_.Sub("flag.log"));
  EXPECT_EQ(from_flag.Wait(20s), 2);
  EXPECT_NE(from_flag.Output().find("timeout must be between 0 and 2147483647 seconds"),
            std::string::npos)
      << from_flag.Output();
}

}  // namespace
}  // namespace herald::testing
