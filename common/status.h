// Status and Result<T> are part of the public API (include/herald/status.h); the modules include
// them under this name.
#pragma once

#include "herald/status.h"
