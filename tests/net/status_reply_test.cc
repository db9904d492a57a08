#include "net/status_reply.h"

#include <gtest/gtest.h>

#include <string>

#include "common/status.h"

namespace herald::net {
namespace {

TEST(ErrorTextTest, AnErrorWithoutACodeOfItsOwnIsErr) {
  EXPECT_EQ(ErrorText(Status::InvalidArgument("wrong number of arguments for 'addjob' command")),
            "ERR wrong number of arguments for 'addjob' command");
  EXPECT_EQ(ErrorText(Status::AlreadyExists("queue exists")), "ERR queue exists");
  EXPECT_EQ(ErrorText(Status::TimedOut("lease expired")), "ERR lease expired");
  EXPECT_EQ(ErrorText(Status::Internal("unexpected state")), "ERR unexpected state");
  EXPECT_EQ(ErrorText(Status::NotSupported("no backups on this backend")),
            "ERR no backups on this backend");
}

TEST(ErrorTextTest, WrongTypeReadsAsRedisWrongType) {
  EXPECT_EQ(ErrorText(Status::WrongType("Operation against a key holding the wrong kind of value")),
            "WRONGTYPE Operation against a key holding the wrong kind of value");
}

TEST(ErrorTextTest, NotFoundIsErrUnlessTheCommandNamesItsOwnCode) {
  EXPECT_EQ(ErrorText(Status::NotFound("no such key")), "ERR no such key");
  EXPECT_EQ(ErrorText(Status::NotFound("no such key"), "ERR"), "ERR no such key");
  EXPECT_EQ(ErrorText(Status::NotFound("job 42 not found"), "NOJOB"), "NOJOB job 42 not found");
}

TEST(ErrorTextTest, PausedBusyAndShuttingDownHaveTheirDisqueAndRedisCodes) {
  EXPECT_EQ(ErrorText(Status::Paused("queue 'emails' is paused")),
            "PAUSED queue 'emails' is paused");
  EXPECT_EQ(ErrorText(Status::Busy("too many waiting jobs")), "BUSY too many waiting jobs");
  EXPECT_EQ(ErrorText(Status::ShuttingDown("the server is shutting down")),
            "SHUTDOWN the server is shutting down");
}

TEST(ErrorTextTest, StorageFailuresAreErrStorageError) {
  EXPECT_EQ(ErrorText(Status::IOError("No space left on device")),
            "ERR storage error: No space left on device");
  EXPECT_EQ(ErrorText(Status::Corruption("bad block in table 000123.sst")),
            "ERR storage error: bad block in table 000123.sst");
}

TEST(ErrorTextTest, TheNotFoundCodeAppliesToNotFoundOnly) {
  EXPECT_EQ(ErrorText(Status::InvalidArgument("bad id"), "NOJOB"), "ERR bad id");
  EXPECT_EQ(ErrorText(Status::Busy("full"), "NOJOB"), "BUSY full");
  EXPECT_EQ(ErrorText(Status::WrongType("not a list"), "NOJOB"), "WRONGTYPE not a list");
  EXPECT_EQ(ErrorText(Status::IOError("disk"), "NOJOB"), "ERR storage error: disk");
}

TEST(ErrorTextTest, TheMessageIsKeptAsItIs) {
  // The reply writer, not ErrorText, turns CR and LF into spaces.
  EXPECT_EQ(ErrorText(Status::InvalidArgument("unknown event type 'a\r\nb'")),
            "ERR unknown event type 'a\r\nb'");
  EXPECT_EQ(ErrorText(Status::InvalidArgument("")), "ERR ");
}

}  // namespace
}  // namespace herald::net
