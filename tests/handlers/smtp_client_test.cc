#include "handlers/smtp_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "handlers/email_message.h"
#include "tests/support/process.h"
#include "tests/support/smtp_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_certs.h"

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

// A hosted provider's submission port: STARTTLS or TLS, AUTH required, on a certificate of a
// CA made for the test.
class SmtpTlsTest : public ::testing::Test {
 protected:
  static constexpr char kUser[] = "apikey";
  static constexpr char kPassword[] = "s3cr3t-p4ss";

  void Start(testing::SmtpServerTls tls) {
    testing::SmtpServerOptions options;
    options.tls = tls;
    options.cert_pem = certs_.server_cert_pem;
    options.key_pem = certs_.server_key_pem;
    options.user = kUser;
    options.password = kPassword;
    server_ = std::make_unique<SmtpServer>(options);
  }

  SmtpOptions Options(SmtpTls tls) const {
    SmtpOptions options;
    options.host = "127.0.0.1";
    options.port = server_->port();
    options.helo_name = "herald.test";
    options.timeout = milliseconds(5000);
    options.tls = tls;
    options.username = kUser;
    options.password = kPassword;
    options.ca_file = ca_file_;
    return options;
  }

  static SmtpEnvelope Envelope(int n = 1) {
    EmailMessage message;
    message.from = "Herald <noreply@herald.test>";
    message.to = "jane@example.com";
    message.subject = "Booking B-" + std::to_string(n) + " received";
    message.body = "Hello\n.a dot line\n";
    message.message_id = "evt-" + std::to_string(n) + ".email@herald.test";
    message.date_ms = 1709632800000;
    return SmtpEnvelope{"noreply@herald.test", {"jane@example.com"}, BuildRfc5322(message)};
  }

  testing::TempDir dir_;
  const testing::TestCertificates certs_ = testing::MakeTestCertificates();
  const std::string ca_file_ = testing::WriteFile(dir_.Sub("ca.pem"), certs_.ca_pem);
  std::unique_ptr<SmtpServer> server_;
};

TEST_F(SmtpTlsTest, StartTlsThenAuthPlainDeliversTheExactMessage) {
  Start(testing::SmtpServerTls::kStartTls);
  SmtpOptions options = Options(SmtpTls::kStartTls);
  options.auth = SmtpAuth::kPlain;
  SmtpClient client(options);
  const SmtpEnvelope envelope = Envelope();
  SmtpResult result = client.Send(envelope, In(milliseconds(10000)));
  ASSERT_TRUE(result.sent()) << result.detail;
  EXPECT_EQ(result.code, 250);
  ASSERT_EQ(server_->mails().size(), 1u);
  const testing::ReceivedMail mail = server_->mails()[0];
  EXPECT_TRUE(mail.tls);
  EXPECT_EQ(mail.auth_user, kUser);
  EXPECT_EQ(mail.auth_mechanism, "PLAIN");
  EXPECT_EQ(mail.mail_from, "noreply@herald.test");
  EXPECT_EQ(mail.rcpt_to, std::vector<std::string>{"jane@example.com"});
  EXPECT_EQ(mail.data, envelope.message);
  // EHLO in the clear, STARTTLS, EHLO again inside TLS (RFC 3207), then AUTH.
  const std::vector<std::string> commands = server_->commands();
  ASSERT_GE(commands.size(), 4u);
  EXPECT_EQ(commands[0], "EHLO herald.test");
  EXPECT_EQ(commands[1], "STARTTLS");
  EXPECT_EQ(commands[2], "EHLO herald.test");
  EXPECT_EQ(commands[3], "AUTH PLAIN");
  EXPECT_EQ(server_->tls_handshakes(), 1);
  EXPECT_EQ(result.detail.find(kPassword), std::string::npos);
}

TEST_F(SmtpTlsTest, ImplicitTlsWithAuthLogin) {
  Start(testing::SmtpServerTls::kImplicit);
  SmtpOptions options = Options(SmtpTls::kImplicit);
  options.auth = SmtpAuth::kLogin;
  SmtpResult result = SmtpClient(options).Send(Envelope(), In(milliseconds(10000)));
  ASSERT_TRUE(result.sent()) << result.detail;
  ASSERT_EQ(server_->mails().size(), 1u);
  EXPECT_TRUE(server_->mails()[0].tls);
  EXPECT_EQ(server_->mails()[0].auth_mechanism, "LOGIN");
  EXPECT_EQ(server_->commands()[0], "EHLO herald.test");
  EXPECT_EQ(server_->commands()[1], "AUTH LOGIN");
}

TEST_F(SmtpTlsTest, WrongPasswordIsPermanent) {
  Start(testing::SmtpServerTls::kStartTls);
  SmtpOptions options = Options(SmtpTls::kStartTls);
  options.password = "not-the-password";
  SmtpResult result = SmtpClient(options).Send(Envelope(), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kPermanent) << result.detail;
  EXPECT_EQ(result.code, 535);
  EXPECT_NE(result.detail.find("535 5.7.8"), std::string::npos) << result.detail;
  EXPECT_NE(result.detail.find("AUTH"), std::string::npos) << result.detail;
  EXPECT_EQ(result.detail.find("not-the-password"), std::string::npos) << result.detail;
  EXPECT_TRUE(server_->mails().empty());
}

TEST_F(SmtpTlsTest, UnverifiableCertificateFailsUnlessItsCaIsGiven) {
  Start(testing::SmtpServerTls::kStartTls);
  // Another CA: the server's certificate does not chain to it.
  const testing::TestCertificates other = testing::MakeTestCertificates("Other CA");
  SmtpOptions options = Options(SmtpTls::kStartTls);
  options.ca_file = testing::WriteFile(dir_.Sub("other.pem"), other.ca_pem);
  SmtpResult result = SmtpClient(options).Send(Envelope(), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_NE(result.detail.find("TLS"), std::string::npos) << result.detail;
  // Nor does it chain to the system's CA store.
  options.ca_file.clear();
  result = SmtpClient(options).Send(Envelope(), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_NE(result.detail.find("TLS"), std::string::npos) << result.detail;
  // Credentials never went over an unverified connection.
  for (const std::string& command : server_->commands()) EXPECT_NE(command, "AUTH PLAIN");
  EXPECT_TRUE(server_->mails().empty());
  // `insecure` skips verification; the right CA verifies.
  options.insecure = true;
  EXPECT_TRUE(SmtpClient(options).Send(Envelope(), In(milliseconds(10000))).sent());
  options.insecure = false;
  options.ca_file = ca_file_;
  EXPECT_TRUE(SmtpClient(options).Send(Envelope(), In(milliseconds(10000))).sent());
  EXPECT_EQ(server_->mails().size(), 2u);
}

TEST_F(SmtpTlsTest, StartTlsRequiredButNotOfferedSendsNothing) {
  // A plain relay that does not offer STARTTLS: the client must not fall back to the clear.
  testing::SmtpServerOptions plain;
  plain.user = kUser;
  plain.password = kPassword;
  server_ = std::make_unique<SmtpServer>(plain);
  SmtpResult result =
      SmtpClient(Options(SmtpTls::kStartTls)).Send(Envelope(), In(milliseconds(10000)));
  EXPECT_EQ(result.kind, SmtpResult::Kind::kTransient) << result.detail;
  EXPECT_NE(result.detail.find("TLS"), std::string::npos) << result.detail;
  for (const std::string& command : server_->commands()) {
    EXPECT_EQ(command.rfind("AUTH", 0), std::string::npos) << command;
    EXPECT_EQ(command.rfind("MAIL", 0), std::string::npos) << command;
  }
  EXPECT_TRUE(server_->mails().empty());
}

TEST_F(SmtpTlsTest, OneSessionCarriesManyMessages) {
  Start(testing::SmtpServerTls::kStartTls);
  SmtpClient client(Options(SmtpTls::kStartTls));
  constexpr int kMessages = 25;
  for (int i = 1; i <= kMessages; ++i) {
    SmtpResult result = client.Send(Envelope(i), In(milliseconds(10000)));
    ASSERT_TRUE(result.sent()) << i << ": " << result.detail;
  }
  ASSERT_EQ(server_->mails().size(), static_cast<std::size_t>(kMessages));
  // One connection, one handshake, one AUTH; each message is MAIL FROM on the same session.
  EXPECT_EQ(server_->connections(), 1);
  EXPECT_EQ(server_->tls_handshakes(), 1);
  int auths = 0;
  for (const std::string& command : server_->commands()) auths += command.rfind("AUTH", 0) == 0;
  EXPECT_EQ(auths, 1);
  for (const testing::ReceivedMail& mail : server_->mails()) EXPECT_EQ(mail.connection, 1);
  EXPECT_NE(server_->mails().back().data.find("Subject: Booking B-25 received"), std::string::npos);
}

TEST_F(SmtpTlsTest, ConcurrentSendsUseOneSessionEach) {
  Start(testing::SmtpServerTls::kImplicit);
  SmtpClient client(Options(SmtpTls::kImplicit));
  constexpr int kThreads = 3;
  constexpr int kEach = 8;
  std::vector<std::thread> threads;
  std::atomic<int> sent{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        sent += client.Send(Envelope(t * 100 + i), In(milliseconds(10000))).sent();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(sent.load(), kThreads * kEach);
  EXPECT_EQ(server_->mails().size(), static_cast<std::size_t>(kThreads * kEach));
  // At most one session per concurrent sender, however many messages.
  EXPECT_LE(server_->connections(), kThreads);
  EXPECT_GE(server_->connections(), 1);
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
