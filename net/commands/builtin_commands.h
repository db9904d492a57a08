// The built-in command groups. The composition root adds them (and any others, such as the
// notification commands) to its CommandTable before freezing it.
#pragma once

#include <string_view>

#include "common/version.h"
#include "net/command_table.h"

namespace herald::net {

// What HELLO and INFO report: the Redis version this server is compatible with (and its own,
// kHeraldVersion).
inline constexpr std::string_view kRedisVersion = "7.0.15";

// PING, ECHO, HELLO, AUTH, SELECT, QUIT, CLIENT.
void AddConnectionCommands(CommandTable* table);
// COMMAND, INFO, DBSIZE, TIME, CONFIG, FUNCTION, SHUTDOWN.
void AddServerCommands(CommandTable* table);
// BACKUP SAVE / START / READ / END.
void AddBackupCommands(CommandTable* table);
// EXPORT JOBS / RECORDS, IMPORT.
void AddExportCommands(CommandTable* table);
// RECORD GET / PUT / DEL / SCAN.
void AddRecordCommands(CommandTable* table);
// ADDJOB, GETJOB, ACKJOB, NACK, WORKING, SHOW, DELJOB, EMIT.
void AddJobCommands(CommandTable* table);
// QLEN, QSTAT, QPEEK, QUEUES, QSCAN, QRETRY, QPAUSE, QRESUME, QCLEAN.
void AddQueueCommands(CommandTable* table);
// GET, SET, INCR, DECR, INCRBY, DECRBY, MGET, MSET.
void AddStringCommands(CommandTable* table);
// LPUSH, RPUSH, LPOP, RPOP, LLEN, LRANGE, LINDEX, BLPOP, BRPOP.
void AddListCommands(CommandTable* table);
// DEL, EXISTS, TYPE, KEYS, SCAN, FLUSHDB, FLUSHALL.
void AddKeyspaceCommands(CommandTable* table);

inline void AddBuiltinCommands(CommandTable* table) {
  AddConnectionCommands(table);
  AddServerCommands(table);
  AddBackupCommands(table);
  AddExportCommands(table);
  AddRecordCommands(table);
  AddJobCommands(table);
  AddQueueCommands(table);
  AddStringCommands(table);
  AddListCommands(table);
  AddKeyspaceCommands(table);
}

}  // namespace herald::net
