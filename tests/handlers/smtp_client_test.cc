#include "handlers/smtp_client.h"

#include <gtest/gtest.h>

#include "handlers/email_message.h"
#include "tests/support/process.h"
#include "tests/support/smtp_server.h"

namespace herald::handlers {
namespace {

using std::chrono::milliseconds;
using testing::SmtpServer;
using testing::SmtpStage;

std::chrono::steady_clock::time_point In(milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

class SmtpClientTest : public ::testing::Test {
 protected:
  SmtpClient Client(milliseconds timeout = milliseconds(5000)) {
    SmtpOptions options;
    options.host = "127.0.0.1";
    options.port = server_.port();
    options.helo_name = "herald.test";
    options.timeout = timeout;
    return SmtpClient(options);
  }

  static std::string Message(const std::string& body = "Hello\n") {
    EmailMessage message;
    message.from = "Herald <noreply@herald.test>";
    message.to = "jane@example.com";
    message.subject = "Booking B-1 received";
    message.body = body;
    message.message_id = "evt-1.email@herald.test";
    message.date_ms = 1709632800000;
    return BuildRfc5322(message);
  }

  SmtpEnvelope Envelope(const std::string& message) {
    return SmtpEnvelope{"noreply@herald.test", {"jane@example.com"}, message};
  }

  SmtpServer server_;
};

TEST_F(SmtpClientTest, DeliversTheExactMessageToTheRecipient) {
  const std::string message = Message("Line one\n.starts with a dot\n..two dots\nlast");
  SmtpResult result = Client().Send(Envelope(message), In(milliseconds(10000)));
  ASSERT_TRUE(result.sent()) << result.detail;
  EXPECT_EQ(result.code, 250);
  ASSERT_EQ(server_.mails().size(), 1u);
  const testing::ReceivedMail mail = server_.mails()[0];
  EXPECT_EQ(mail.helo, "herald.test");
  EXPECT_EQ(mail.mail_from, "noreply@herald.test");
  EXPECT_EQ(mail.rcpt_to, std::vector<std::string>{"jane@example.com"});
  // Dot-stuffing was applied on the wire and removed by the server: the bytes match.
  EXPECT_EQ(mail.data, message);
  EXPECT_NE(mail.data.find("Subject: Booking B-1 received\r\n"), std::string::npos);
  EXPECT_NE(mail.data.find("\r\n.starts with a dot\r\n..two dots\r\n"), std::string::npos);
  const std::vector<std::string> commands = server_.commands();
  ASSERT_GE(commands.size(), 5u);
  EXPECT_EQ(commands[0], "EHLO herald.test");
  // SIZE= is added because the server announced the SIZE extension.
  EXPECT_EQ(commands[1].rfind("MAIL FROM:<noreply@herald.test>", 0), 0u) << commands[1];
  EXPECT_EQ(commands[2], "RCPT TO:<jane@example.com>");
  EXPECT_EQ(commands[3], "DATA");
  EXPECT_EQ(commands.back(), "QUIT");
}

TEST_F(SmtpClientTest, FourHundredReplyIsTransient) {
  server_.FailNext(SmtpStage::kMailFrom, "451 4.7.1 Try again later");
  SmtpResult result = Client().Send(Envelope(Message()), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_EQ(result.code, 451);
  EXPECT_NE(result.detail.find("451 4.7.1 Try again later"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("MAIL FROM"), std::string::npos) << result.detail;
  EXPECT_TRUE(server_.mails().empty());
}

TEST_F(SmtpClientTest, FiveHundredReplyIsPermanent) {
  server_.FailNext(SmtpStage::kRcptTo, "550 5.1.1 No such user");
  SmtpResult result = Client().Send(Envelope(Message()), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kPermanent) << result.detail;
  EXPECT_EQ(result.code, 550);
  EXPECT_NE(result.detail.find("550 5.1.1 No such user"), std::string::npos);
  EXPECT_TRUE(server_.mails().empty());
}

TEST_F(SmtpClientTest, RefusalAfterDataIsClassifiedToo) {
  server_.FailNext(SmtpStage::kMessage, "554 5.7.1 Message rejected");
  SmtpResult result = Client().Send(Envelope(Message()), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kPermanent) << result.detail;
  server_.FailNext(SmtpStage::kData, "452 4.3.1 Insufficient storage");
  result = Client().Send(Envelope(Message()), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_EQ(result.code, 452);
}

TEST_F(SmtpClientTest, SilentServerTimesOutAsTransient) {
  server_.StallNext(SmtpStage::kMailFrom);
  const auto start = std::chrono::steady_clock::now();
  SmtpResult result = Client(milliseconds(300)).Send(Envelope(Message()), In(milliseconds(10000)));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_EQ(result.code, 0);
  EXPECT_NE(result.detail.find("timed out"), std::string::npos) << result.detail;
  EXPECT_LT(took, milliseconds(3000));
}

TEST_F(SmtpClientTest, SilentGreetingTimesOut) {
  server_.StallNext(SmtpStage::kGreeting);
  SmtpResult result = Client(milliseconds(200)).Send(Envelope(Message()), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient);
  EXPECT_NE(result.detail.find("greeting"), std::string::npos) << result.detail;
}

TEST_F(SmtpClientTest, JobDeadlineCutsAStepShort) {
  server_.StallNext(SmtpStage::kMailFrom);
  const auto start = std::chrono::steady_clock::now();
  SmtpResult result = Client(milliseconds(30000)).Send(Envelope(Message()), In(milliseconds(300)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000));
}

TEST_F(SmtpClientTest, StopRequestEndsTheWait) {
  server_.StallNext(SmtpStage::kMailFrom);
  std::stop_source stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  SmtpResult result = Client(milliseconds(30000))
                          .Send(Envelope(Message()), In(milliseconds(30000)), stop.get_token());
  stopper.join();
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient);
  EXPECT_NE(result.detail.find("shutting down"), std::string::npos) << result.detail;
}

TEST_F(SmtpClientTest, RefusedConnectionIsTransient) {
  SmtpOptions options;
  options.host = "127.0.0.1";
  options.port = static_cast<std::uint16_t>(testing::FreePort());
  SmtpResult result = SmtpClient(options).Send(Envelope(Message()), In(milliseconds(5000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient);
  EXPECT_NE(result.detail.find("cannot connect"), std::string::npos) << result.detail;
}

TEST_F(SmtpClientTest, EhloRefusedFallsBackToHelo) {
  server_.FailNext(SmtpStage::kEhlo, "502 5.5.2 Error: command not recognized");
  SmtpResult result = Client().Send(Envelope(Message()), In(milliseconds(10000)));
  ASSERT_TRUE(result.sent()) << result.detail;
  EXPECT_EQ(server_.commands()[1], "HELO herald.test");
}

TEST_F(SmtpClientTest, InjectionInAddressesIsRefusedBeforeConnecting) {
  SmtpResult result =
      Client().Send(SmtpEnvelope{"noreply@herald.test", {"a@b.c>\r\nRCPT TO:<x@y.z"}, Message()},
                    In(milliseconds(5000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kPermanent);
  EXPECT_EQ(server_.connections(), 0);
}

TEST(EmailMessageTest, BuildsRfc5322Headers) {
  EmailMessage message;
  message.from = "Herald <noreply@herald.test>";
  message.to = "jane@example.com";
  message.subject = "Booking B-1\r\nBcc: evil@example.com";
  message.body = "Hi\nthere";
  message.message_id = "evt-1.email@herald.test";
  message.date_ms = 1709632800000;
  message.extra_headers = {{"X-Herald-Event-Id", "evt-1"}};
  EXPECT_EQ(BuildRfc5322(message),
            "Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
            "From: Herald <noreply@herald.test>\r\n"
            "To: jane@example.com\r\n"
            "Subject: Booking B-1  Bcc: evil@example.com\r\n"
            "Message-ID: <evt-1.email@herald.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "X-Herald-Event-Id: evt-1\r\n"
            "\r\n"
            "Hi\r\n"
            "there\r\n");
}

TEST(EmailMessageTest, NonAsciiUsesEncodedWordsAndQuotedPrintable) {
  EmailMessage message;
  message.from = "noreply@herald.test";
  message.to = "jane@example.com";
  message.subject = "Buchung bestätigt";
  message.body = "Grüße = Hallo";
  const std::string text = BuildRfc5322(message);
  EXPECT_NE(text.find("Subject: =?UTF-8?B?QnVjaHVuZyBiZXN0w6R0aWd0?=\r\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\n\r\nGr=C3=BC=C3=9Fe =3D Hallo\r\n"), std::string::npos) << text;
}

TEST(EmailMessageTest, DotStuffDoublesLeadingDotsAndTerminates) {
  EXPECT_EQ(DotStuff(".a\r\nb\n..c"), "..a\r\nb\r\n...c\r\n.\r\n");
  EXPECT_EQ(DotStuff("x\r\n"), "x\r\n.\r\n");
}

TEST(EmailMessageTest, AddressHelpers) {
  EXPECT_EQ(AddressOf("Herald <noreply@herald.test>"), "noreply@herald.test");
  EXPECT_EQ(AddressOf(" a@b.c "), "a@b.c");
  EXPECT_TRUE(IsPlausibleAddress("jane.doe+x@example.com"));
  EXPECT_FALSE(IsPlausibleAddress("jane"));
  EXPECT_FALSE(IsPlausibleAddress("@example.com"));
  EXPECT_FALSE(IsPlausibleAddress("a b@example.com"));
  EXPECT_FALSE(IsPlausibleAddress("a@b>\r\nX"));
}

}  // namespace
}  // namespace herald::handlers
