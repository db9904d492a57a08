// Internal to storage/: the one conversion from rocksdb::Status to herald::Status.
// Not a public header (it names a rocksdb type); other modules never include it.
#pragma once

#include <string_view>

#include "common/status.h"

namespace rocksdb {
class Status;
}

namespace herald::storage {

// OK stays OK. Otherwise the code maps by kind (NotFound, Corruption, IOError incl. no space,
// InvalidArgument, Busy/TryAgain, TimedOut, ShutdownInProgress; anything else is Internal) and
// the message is "<context>: <rocksdb's text>".
Status FromRocks(const rocksdb::Status& s, std::string_view context);

}  // namespace herald::storage
