// The built-in command groups. The composition root adds them (and any others, such as the
// notification commands) to its CommandTable before freezing it.
#pragma once

#include <string_view>

#include "net/command_table.h"

namespace herald::net {

// What HELLO and INFO report: the Redis version this server is compatible with, and its own.
inline constexpr std::string_view kRedisVersion = "7.0.15";
inline constexpr std::string_view kHeraldVersion = "0.1.0";

void AddConnectionCommands(CommandTable* table);  // PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT
void AddServerCommands(CommandTable* table);  // COMMAND, INFO, DBSIZE, TIME, CONFIG, SHUTDOWN...
void AddJobCommands(CommandTable* table);     // ADDJOB, GETJOB, ACKJOB, ... EMIT
void AddKvCommands(CommandTable* table);      // lists and strings

inline void AddBuiltinCommands(CommandTable* table) {
  AddConnectionCommands(table);
  AddServerCommands(table);
  AddJobCommands(table);
  AddKvCommands(table);
}

}  // namespace herald::net
