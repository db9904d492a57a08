// RemoteRecords against the RESP server in-process on a free loopback port with a real store:
// what a remote worker's handlers write lands in the broker's own record tables, and the RECORD
// commands refuse what they cannot serve.
#include "tools/herald/remote_records.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "handlers/delivery_log.h"
#include "handlers/inbox.h"
#include "handlers/tickets.h"
#include "tests/net/server_fixture.h"

namespace herald::tools {
namespace {

using engine::RecordKind;
using engine::ScanOrder;
using resp::Reply;

class RemoteRecordsTest : public net::ServerFixture {
 protected:
  RemoteRecordsOptions Options() const {
    RemoteRecordsOptions options;
    options.port = server_->port();
    return options;
  }
};

TEST_F(RemoteRecordsTest, PutGetDeleteAndScanReachTheBrokersTables) {
  RemoteRecords remote(Options());
  ASSERT_TRUE(remote.Put(RecordKind::kSent, "e-1|email", "v1").ok());
  ASSERT_TRUE(remote.Put(RecordKind::kSent, "e-2|email", "v2").ok());
  ASSERT_TRUE(remote.Put(RecordKind::kInbox, "e-1|email", "inbox").ok());

  // The broker's own records hold them, each in its table.
  auto local = broker_->records().Get(RecordKind::kSent, "e-1|email");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->value_or("none"), "v1");
  auto other = broker_->records().Get(RecordKind::kInbox, "e-1|email");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->value_or("none"), "inbox");

  auto got = remote.Get(RecordKind::kSent, "e-2|email");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value_or("none"), "v2");
  auto missing = remote.Get(RecordKind::kSent, "e-3|email");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto oldest = remote.Scan(RecordKind::kSent, "e-", 10, ScanOrder::kOldestFirst);
  ASSERT_TRUE(oldest.ok()) << oldest.status().ToString();
  ASSERT_EQ(oldest->size(), 2u);
  EXPECT_EQ((*oldest)[0].first, "e-1|email");
  EXPECT_EQ((*oldest)[0].second, "v1");
  auto newest = remote.Scan(RecordKind::kSent, "e-", 1, ScanOrder::kNewestFirst);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].first, "e-2|email");

  ASSERT_TRUE(remote.Delete(RecordKind::kSent, "e-1|email").ok());
  ASSERT_TRUE(remote.Delete(RecordKind::kSent, "e-1|email").ok());  // gone already: still fine
  auto deleted = broker_->records().Get(RecordKind::kSent, "e-1|email");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->has_value());
}

TEST_F(RemoteRecordsTest, ValuesKeepEveryByte) {
  RemoteRecords remote(Options());
  const std::string key("k\0\xff|\r\n", 6);
  const std::string value("\0\r\n$5\r\n\xfe", 9);
  ASSERT_TRUE(remote.Put(RecordKind::kTickets, key, value).ok());
  auto got = remote.Get(RecordKind::kTickets, key);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value_or("none"), value);
  auto rows = remote.Scan(RecordKind::kTickets, std::string("k\0", 2), 5, ScanOrder::kOldestFirst);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].first, key);
  EXPECT_EQ((*rows)[0].second, value);
}

TEST_F(RemoteRecordsTest, TheServersOwnRecordsAndUnboundedScansAreRefused) {
  RemoteRecords remote(Options());
  Status admin = remote.Put(RecordKind::kAdmin, "audit|x", "forged");
  EXPECT_EQ(admin.code(), Status::Code::kInvalidArgument) << admin.ToString();
  auto all = remote.Scan(RecordKind::kSent, "", 0, ScanOrder::kOldestFirst);
  EXPECT_EQ(all.status().code(), Status::Code::kInvalidArgument);
  auto too_many = remote.Scan(RecordKind::kSent, "", 10001, ScanOrder::kOldestFirst);
  EXPECT_EQ(too_many.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_many.status().message().find("10001"), std::string::npos);
}

TEST_F(RemoteRecordsTest, RecordCommandsNameWhatIsWrong) {
  EXPECT_EQ(Err({"RECORD", "GET", "admin", "k"}),
            "ERR unknown record table 'admin' (prefs, inbox, sent or tickets)");
  EXPECT_EQ(Err({"RECORD", "PUT", "sent", "", "v"}), "ERR a record key must not be empty");
  EXPECT_EQ(Err({"RECORD", "SCAN", "sent", "", "COUNT", "0"}),
            "ERR COUNT must be between 1 and 10000");
  EXPECT_EQ(Err({"RECORD", "SCAN", "sent", "", "OLDEST"}), "ERR syntax error");
  EXPECT_EQ(Err({"RECORD", "PUT", "sent", "k"}).rfind("ERR wrong number of arguments", 0), 0u);
  EXPECT_EQ(Err({"RECORD", "NOPE"}).rfind("ERR unknown subcommand", 0), 0u)
      << Err({"RECORD", "NOPE"});
  // Nothing was written by the refused PUT.
  EXPECT_EQ(Cmd({"RECORD", "SCAN", "sent", ""}).elements.size(), 0u);
  EXPECT_EQ(Cmd({"RECORD", "DEL", "sent", "k"}), Reply::Integer(0));
  EXPECT_EQ(Cmd({"RECORD", "PUT", "sent", "k", "v"}), Reply::SimpleString("OK"));
  EXPECT_EQ(Cmd({"RECORD", "DEL", "sent", "k"}), Reply::Integer(1));
  EXPECT_TRUE(Cmd({"RECORD", "GET", "sent", "k"}).is_null());
}

TEST_F(RemoteRecordsTest, AWrongPasswordIsAnErrorAndTheRightOneWorks) {
  StopServer();
  net::ServerOptions options;
  options.requirepass = "s3cret";
  StartServer(options);
  RemoteRecordsOptions wrong = Options();
  wrong.password = "nope";
  Status refused = RemoteRecords(wrong).Put(RecordKind::kPrefs, "u-1|email", "0");
  EXPECT_EQ(refused.code(), Status::Code::kIOError);
  EXPECT_NE(refused.message().find("AUTH"), std::string::npos) << refused.ToString();
  RemoteRecords none(Options());
  Status noauth = none.Put(RecordKind::kPrefs, "u-1|email", "0");
  EXPECT_NE(noauth.message().find("NOAUTH"), std::string::npos) << noauth.ToString();

  RemoteRecordsOptions right = Options();
  right.password = "s3cret";
  ASSERT_TRUE(RemoteRecords(right).Put(RecordKind::kPrefs, "u-1|email", "0").ok());
  auto stored = broker_->records().Get(RecordKind::kPrefs, "u-1|email");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->value_or("none"), "0");
}

TEST_F(RemoteRecordsTest, AConnectionTheBrokerClosedIsReplacedWithoutAnError) {
  StopServer();
  use_fake_clock_ = true;
  net::ServerOptions options;
  options.idle_timeout_s = 2;
  StartServer(options);
  client_.reset();
  ASSERT_TRUE(WaitForTimers(0));
  RemoteRecords remote(Options());
  ASSERT_TRUE(remote.Put(RecordKind::kSent, "a", "1").ok());  // one connection, now idle
  ASSERT_TRUE(WaitForTimers(1));
  EXPECT_EQ(AdvanceClock(2000), 1u);  // the broker closes it
  // The closed connection is found out on use and the call sent again on a new one.
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(std::chrono::milliseconds(5))) {
    if (Cmd({"INFO", "clients"}, Connect().get()).str.find("connected_clients:1\r\n") !=
        std::string::npos) {
      break;
    }
  }
  auto got = remote.Get(RecordKind::kSent, "a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->value_or("none"), "1");
}

TEST_F(RemoteRecordsTest, AnUnreachableBrokerIsAnIOErrorNamingIt) {
  RemoteRecordsOptions options = Options();
  StopServer();
  options.timeout = std::chrono::milliseconds(500);
  Status status = RemoteRecords(options).Put(RecordKind::kSent, "a", "1");
  EXPECT_EQ(status.code(), Status::Code::kIOError);
  EXPECT_NE(status.message().find("127.0.0.1:" + std::to_string(options.port)), std::string::npos)
      << status.ToString();
}

// The handlers' record classes over RemoteRecords write what the broker's INBOX, SENT and
// TICKETS read: the local classes over the broker's records see them.
TEST_F(RemoteRecordsTest, HandlerRecordsWrittenRemotelyAreReadByTheBroker) {
  RemoteRecords remote(Options());
  handlers::DeliveryLog remote_log(&remote, &clock_);
  handlers::DeliveryRecord delivery;
  delivery.user = "u-7";
  delivery.channel = "email";
  delivery.event_id = "bk-7";
  delivery.event_type = "booking.created";
  delivery.detail = "smtp 127.0.0.1:2525: 250 OK";
  delivery.attempts = 1;
  ASSERT_TRUE(remote_log.Record(delivery).ok());
  auto already = remote_log.AlreadySent("bk-7", "email");
  ASSERT_TRUE(already.ok()) << already.status().ToString();
  EXPECT_TRUE(*already);

  handlers::Inbox remote_inbox(&remote);
  auto added = remote_inbox.Add({"u-7", "rm-7", "booking.reminder", "Reminder", "Tomorrow", 0});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_TRUE(added->created);
  auto again = remote_inbox.Add({"u-7", "rm-7", "booking.reminder", "Reminder", "Tomorrow", 0});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);  // the broker's index knew the event

  handlers::TicketStore remote_tickets(&remote, &clock_);
  handlers::Ticket draft;
  draft.event_id = "pf-7";
  draft.user_id = "u-7";
  draft.reason = "card declined";
  auto ticket = remote_tickets.Create(draft);
  ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();

  handlers::DeliveryLog log(&broker_->records(), &clock_);
  auto sent = log.RecentForUser("u-7", 10);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->size(), 1u);
  EXPECT_EQ((*sent)[0].detail, "smtp 127.0.0.1:2525: 250 OK");
  handlers::Inbox inbox(&broker_->records());
  auto entries = inbox.Recent("u-7", 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].event_id, "rm-7");
  handlers::TicketStore tickets(&broker_->records(), &clock_);
  auto found = tickets.FindByEvent("pf-7");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, ticket->ticket.id);
  EXPECT_EQ((*found)->reason, "card declined");
}

// Handlers on several worker threads share one RemoteRecords: each call gets a connection of
// its own, and no write is lost.
TEST_F(RemoteRecordsTest, ConcurrentCallersEachGetTheirOwnConnection) {
  RemoteRecords remote(Options());
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::jthread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&remote, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(1000 + i);
        ASSERT_TRUE(remote.Put(RecordKind::kSent, key, key).ok());
        auto got = remote.Get(RecordKind::kSent, key);
        ASSERT_TRUE(got.ok());
        ASSERT_EQ(got->value_or("none"), key);
      }
    });
  }
  threads.clear();
  auto rows = remote.Scan(RecordKind::kSent, "t", 10000, ScanOrder::kOldestFirst);
  ASSERT_TRUE(rows.ok());
  std::set<std::string> keys;
  for (const auto& [key, value] : *rows) {
    EXPECT_EQ(key, value);
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), static_cast<std::size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace herald::tools
