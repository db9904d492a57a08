#include "engine/backups.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace herald::engine {
namespace {

using storage::NewJob;
using storage::Store;
using storage::StoreOptions;
using testing::TempDir;

class BackupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.data_dir = dir_.Sub("data");
    options.fsync = storage::FsyncMode::kAlways;
    store_ = std::move(Store::Open(options)).value();
    ASSERT_TRUE(store_->EnsureQueue("emails").ok());
    ASSERT_TRUE(store_->EnsureQueue("tickets").ok());
    for (int i = 0; i < 10; ++i) Add("emails", "e" + std::to_string(i));
    Add("tickets", "t-1");
    Add("tickets", "t-2");
    // One active (taken, never finished) and one completed.
    ASSERT_TRUE(store_->Take("tickets", 1000)->has_value());
    ASSERT_TRUE(store_->Take("tickets", 1000)->has_value());
    ASSERT_TRUE(store_->Complete("t-2", "sent", 1001).ok());
    ASSERT_TRUE(store_->SetPaused("emails", true).ok());
    clock_.Set(1'700'000'000'000);
    backups_ = std::make_unique<Backups>(store_.get(), &clock_, spdlog::default_logger());
  }

  void Add(const std::string& queue, const std::string& id) {
    NewJob job;
    job.id = id;
    job.payload = "payload of " + id;
    ASSERT_TRUE(store_->Add(queue, job, 1000).ok());
  }

  TempDir dir_;
  testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Backups> backups_;
};

TEST_F(BackupsTest, WriteMakesACheckpointAndAManifestOfWhatTheCopyHolds) {
  auto manifest = backups_->Write(dir_.Sub("backup"));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->version, kBackupFormatVersion);
  EXPECT_EQ(manifest->created_ms, 1'700'000'000'000);
  EXPECT_EQ(manifest->fsync, "always");
  EXPECT_EQ(manifest->active_at_backup, 1u);
  ASSERT_EQ(manifest->queues.size(), 2u);
  EXPECT_EQ(manifest->queues[0].name, "emails");
  EXPECT_EQ(manifest->queues[0].counts.waiting, 10u);
  EXPECT_TRUE(manifest->queues[0].counts.paused);
  EXPECT_EQ(manifest->queues[1].name, "tickets");
  EXPECT_EQ(manifest->queues[1].counts.waiting, 1u);  // t-1, active at the backup
  EXPECT_EQ(manifest->queues[1].counts.completed, 1u);
  EXPECT_EQ(manifest->queues[1].counts.active, 0u);
  EXPECT_EQ(manifest->jobs(), 12u);
  std::uint64_t bytes = 0;
  for (const BackupFile& file : manifest->files) {
    EXPECT_EQ(std::filesystem::file_size(dir_.Sub("backup/db/" + file.name)), file.size);
    EXPECT_NE(file.name, "LOCK");
    bytes += file.size;
  }
  EXPECT_EQ(bytes, manifest->bytes);
  auto written = ManifestFromJson(testing::ReadFile(dir_.Sub("backup/manifest.json")));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(ManifestToJson(*written), ManifestToJson(*manifest));

  // The live store is untouched: t-1 is still active there.
  EXPECT_EQ(store_->Counts("tickets")->active, 1u);
  // The copy opens with the same jobs.
  StoreOptions copy;
  copy.data_dir = dir_.Sub("backup/db");
  auto opened = Store::Open(copy);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)->Get("e3")->payload, "payload of e3");
  EXPECT_EQ((*opened)->Get("t-1")->attempts_made, 1u);
  EXPECT_TRUE((*opened)->VerifyChecksums().ok());

  // Never into a directory that holds something.
  auto again = backups_->Write(dir_.Sub("backup"));
  EXPECT_TRUE(again.status().IsInvalidArgument());
  EXPECT_NE(again.status().message().find("is not empty"), std::string::npos);
}

TEST_F(BackupsTest, StagedBackupsAreReadInChunksAndRemoved) {
  auto staged = backups_->Stage();
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_EQ(staged->token.size(), 32u);
  EXPECT_EQ(backups_->staged(), 1u);
  const BackupFile& file = staged->manifest.files.front();
  std::string whole;
  for (std::uint64_t offset = 0;; offset += 7) {
    auto chunk = backups_->Read(staged->token, file.name, offset, 7);
    ASSERT_TRUE(chunk.ok());
    if (chunk->empty()) break;
    EXPECT_LE(chunk->size(), 7u);
    whole += *chunk;
  }
  EXPECT_EQ(whole.size(), file.size);
  EXPECT_TRUE(backups_->Read("other", file.name, 0, 7).status().IsNotFound());
  EXPECT_TRUE(backups_->Read(staged->token, "../" + file.name, 0, 7).status().IsNotFound());

  const std::string staging = dir_.Sub("data/backup-staging/" + staged->token);
  EXPECT_TRUE(std::filesystem::exists(staging));
  EXPECT_TRUE(backups_->Release(staged->token).ok());
  EXPECT_FALSE(std::filesystem::exists(staging));
  EXPECT_TRUE(backups_->Release(staged->token).IsNotFound());
}

TEST_F(BackupsTest, AnIdleStagedBackupIsRemovedAndTheirNumberIsBounded) {
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < Backups::kMaxStaged; ++i) tokens.push_back(backups_->Stage()->token);
  EXPECT_TRUE(backups_->Stage().status().IsBusy());
  // Reading keeps the first alive; the others expire.
  clock_.Advance(Backups::kStagedIdleMs - 1);
  ASSERT_TRUE(backups_->Read(tokens[0], "CURRENT", 0, 100).ok());
  clock_.Advance(2);
  auto fresh = backups_->Stage();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(backups_->staged(), 2u);
  EXPECT_TRUE(backups_->Read(tokens[1], "CURRENT", 0, 100).status().IsNotFound());
  EXPECT_TRUE(backups_->Read(tokens[0], "CURRENT", 0, 100).ok());
  // Destroyed, they are gone from disk; a new Backups clears what a crash left.
  backups_.reset();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data/backup-staging")));
}

TEST(BackupManifestTest, BadManifestsAreRefusedSayingWhy) {
  auto refused = [](const std::string& text) {
    auto manifest = ManifestFromJson(text);
    EXPECT_FALSE(manifest.ok()) << text;
    return manifest.status().message();
  };
  EXPECT_EQ(refused("nope").rfind("manifest: not a JSON object", 0), 0u);
  EXPECT_EQ(refused(R"({"format":"other"})"), "manifest: format is 'other', not 'herald-backup'");
  EXPECT_EQ(refused(R"({"format":"herald-backup","version":2})"),
            "manifest: version 2 is not supported (this build reads version 1)");
  BackupManifest manifest;
  manifest.herald_version = "0.1.0";
  manifest.fsync = "always";
  manifest.files = {{"CURRENT", 16}, {"000004.log", 100}};
  manifest.bytes = 116;
  manifest.queues = {{"emails", {.waiting = 3}}};
  std::string json = ManifestToJson(manifest);
  auto parsed = ManifestFromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->jobs(), 3u);
  std::string wrong_total = json;
  wrong_total.replace(wrong_total.find("\"bytes\":116"), 11, "\"bytes\":117");
  EXPECT_EQ(refused(wrong_total), "manifest: the files add up to 116 bytes, not 117");
  std::string escape = json;
  escape.replace(escape.find("\"CURRENT\""), 9, "\"../CURRENT\"");
  EXPECT_EQ(refused(escape), "manifest: '../CURRENT' is not a plain file name");
}

}  // namespace
}  // namespace herald::engine
