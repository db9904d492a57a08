// The built-in command groups. The composition root adds them (and any others, such as the
// notification commands) to its CommandTable before freezing it.
#pragma once

#include "net/command_table.h"

namespace herald::net {

void AddConnectionCommands(CommandTable* table);  // PING, HELLO, AUTH, CLIENT, COMMAND, INFO...
void AddJobCommands(CommandTable* table);         // ADDJOB, GETJOB, ACKJOB, ... EMIT
void AddKvCommands(CommandTable* table);          // lists and strings

inline void AddBuiltinCommands(CommandTable* table) {
  AddConnectionCommands(table);
  AddJobCommands(table);
  AddKvCommands(table);
}

}  // namespace herald::net
