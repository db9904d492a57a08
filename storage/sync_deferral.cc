#include "storage/sync_deferral.h"

namespace herald::storage {

thread_local int SyncDeferral::depth_ = 0;

}  // namespace herald::storage
