// The rules every store backend applies to what it is given, so that the embedded store and the
// others accept and refuse the same names, ids and options with the same words.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "common/status.h"
#include "storage/job.h"
#include "storage/store.h"

namespace herald::storage {

// A queue name: 1..64 bytes of [A-Za-z0-9_.:-]. InvalidArgument naming what is wrong.
Status ValidateQueueName(std::string_view name);

// Whether `id` is a plain decimal number: the form of generated ids, refused as a caller's id.
bool IsGeneratedId(std::string_view id);

// A job to add (NewJob's rules, store.h): the caller's id, the attempts and the backoff.
Status ValidateNewJob(const NewJob& job);

// A job to import (Store::Import): an id of 1..256 bytes not starting with NUL, and valid
// attempts and backoff.
Status ValidateImportedJob(const Job& job);

}  // namespace herald::storage
