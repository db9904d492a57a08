// `herald check --data-dir D [--repair]`: an offline check of a store (storage/store_check.h)
// that no Herald has open. Prints what each queue holds (counted from its indexes, beside its
// counters) and every disagreement between indexes, records and counters; with --repair
// rebuilds the indexes and counters from the records and checks again.
//
// Exit status: 0 the store is consistent (after the repair, when asked), 1 problems remain,
// 2 the store cannot be opened (none there, or a Herald has it open).
//
// Thread safety: runs on the calling thread.
#pragma once

#include <cstdio>
#include <string>

namespace herald::tools {

struct CheckFlags {
  std::string data_dir;  // Required
  bool repair = false;
};

int RunCheck(const CheckFlags& flags, std::FILE* out, std::FILE* err);

}  // namespace herald::tools
