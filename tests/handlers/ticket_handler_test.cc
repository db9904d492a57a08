#include "handlers/ticket_handler.h"

#include <gtest/gtest.h>

#include "handlers/delivery_log.h"
#include "handlers/flat_json.h"
#include "handlers/queries.h"
#include "handlers/tickets.h"
#include "tests/handlers/handler_fixture.h"
#include "tests/support/http_server.h"

namespace herald::handlers {
namespace {

class TicketHandlerTest : public HandlerFixture {
 protected:
  std::string PaymentFailed(const std::string& id, const std::string& booking = "BK-7") {
    return EventJson("payment.failed", id,
                     {{"paymentId", "PAY-9"},
                      {"bookingId", booking},
                      {"userId", "user-1"},
                      {"amount", "49.99"},
                      {"reason", "card declined"}});
  }
};

TEST_F(TicketHandlerTest, PaymentFailedOpensATicketAndReturnsItsId) {
  TicketHandler handler({}, Deps());
  auto outcome = handler.Run(Job(PaymentFailed("evt-1")));
  EXPECT_OUTCOME(outcome, kSuccess);
  EXPECT_EQ(outcome.text, TicketStore::MakeId("evt-1", clock_.NowMs()));
  EXPECT_EQ(outcome.text.rfind("TKT-20240305-", 0), 0u) << outcome.text;

  auto tickets = NotificationQueries(records_.get()).Tickets();
  ASSERT_TRUE(tickets.ok());
  ASSERT_EQ(tickets->size(), 1u);
  const Ticket& ticket = (*tickets)[0];
  EXPECT_EQ(ticket.id, outcome.text);
  EXPECT_EQ(ticket.event_id, "evt-1");
  EXPECT_EQ(ticket.booking_id, "BK-7");
  EXPECT_EQ(ticket.payment_id, "PAY-9");
  EXPECT_EQ(ticket.user_id, "user-1");
  EXPECT_EQ(ticket.amount, "49.99");
  EXPECT_EQ(ticket.reason, "card declined");
  EXPECT_EQ(ticket.status, "open");
  EXPECT_EQ(ticket.created_ms, clock_.NowMs());
  EXPECT_EQ(ticket.subject, "Payment PAY-9 failed for booking BK-7");
  EXPECT_NE(ticket.description.find("failed: card declined."), std::string::npos)
      << ticket.description;
  Fields fields = TicketFields(ticket);
  EXPECT_EQ(fields[1], (std::pair<std::string, std::string>{"status", "open"}));
}

TEST_F(TicketHandlerTest, SameEventTwiceKeepsOneTicket) {
  TicketHandler handler({}, Deps());
  auto first = handler.Run(Job(PaymentFailed("evt-2")));
  clock_.Advance(60'000);
  auto second = handler.Run(Job(PaymentFailed("evt-2"), 2));
  EXPECT_OUTCOME(second, kSuccess);
  EXPECT_EQ(first.text, second.text);
  EXPECT_EQ(NotificationQueries(records_.get()).Tickets(100)->size(), 1u);
}

TEST_F(TicketHandlerTest, TicketsAreListedNewestFirst) {
  TicketHandler handler({}, Deps());
  for (int i = 1; i <= 3; ++i) {
    EXPECT_OUTCOME(
        handler.Run(Job(PaymentFailed("evt-" + std::to_string(i), "BK-" + std::to_string(i)))),
        kSuccess);
    clock_.Advance(1000);
  }
  auto tickets = NotificationQueries(records_.get()).Tickets(2);
  ASSERT_TRUE(tickets.ok());
  ASSERT_EQ(tickets->size(), 2u);
  EXPECT_EQ((*tickets)[0].booking_id, "BK-3");
  EXPECT_EQ((*tickets)[1].booking_id, "BK-2");
}

TEST_F(TicketHandlerTest, HelpdeskWebhookGetsTheTicketOnceAndFailuresRetryOnlyThePost) {
  testing::HttpServer helpdesk;
  helpdesk.QueueStatuses({503});
  TicketHandlerOptions options;
  options.helpdesk.url = helpdesk.Url("/tickets");
  TicketHandler handler(options, Deps());
  auto first = handler.Run(Job(PaymentFailed("evt-3")));
  EXPECT_OUTCOME(first, kFailure);
  EXPECT_NE(first.text.find("answered 503"), std::string::npos) << first.text;
  auto second = handler.Run(Job(PaymentFailed("evt-3"), 2));
  EXPECT_OUTCOME(second, kSuccess);
  auto third = handler.Run(Job(PaymentFailed("evt-3"), 3));
  EXPECT_OUTCOME(third, kSuccess);
  EXPECT_EQ(second.text, third.text);
  ASSERT_EQ(helpdesk.requests().size(), 2u);
  auto body = ParseFlatObject(helpdesk.requests()[1].body);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(FieldText(*body, "id"), second.text);
  EXPECT_EQ(FieldText(*body, "reason"), "card declined");
  EXPECT_EQ(FieldText(*body, "status"), "open");
  EXPECT_EQ(helpdesk.requests()[1].headers.at("idempotency-key"), "evt-3");
  EXPECT_EQ(NotificationQueries(records_.get()).Tickets(100)->size(), 1u);
  EXPECT_EQ((**DeliveryLog(records_.get(), &clock_).Find("evt-3", "helpdesk")).status,
            DeliveryStatus::kSent);
}

TEST_F(TicketHandlerTest, OtherEventTypesArePermanent) {
  auto outcome = TicketHandler({}, Deps()).Run(Job(BookingEvent("booking.created", "evt-4")));
  EXPECT_OUTCOME(outcome, kPermanent);
  EXPECT_NE(outcome.text.find("unknown event type 'booking.created'"), std::string::npos);
  EXPECT_TRUE(NotificationQueries(records_.get()).Tickets()->empty());
}

}  // namespace
}  // namespace herald::handlers
