// The RESP commands that read and change what the notification handlers keep: PREFS.SET,
// PREFS.GET, INBOX, SENT, TICKETS. They live in the composition root because they join net/
// (the command table) and handlers/ (the queries), which do not know each other.
#pragma once

#include "handlers/queries.h"
#include "net/command_table.h"

namespace herald::tools {

// `queries` must outlive the table.
void AddNotificationCommands(net::CommandTable* table, handlers::NotificationQueries* queries);

}  // namespace herald::tools
