#pragma once

// The process's limit on open file descriptors (RLIMIT_NOFILE). An agent
// holds a descriptor per HTTP connection and per gossip stream, and the
// distribution's default soft limit (often 1024) is far below what the hard
// limit allows; Go programs such as Consul raise the soft limit to the hard
// one at start, and so does Roster.

#include <cstdint>

#include "common/status.h"

namespace roster {

struct OpenFilesLimit {
  uint64_t soft = 0;
  uint64_t hard = 0;  // RLIM_INFINITY shows as UINT64_MAX
};

Result<OpenFilesLimit> open_files_limit();

// Raises the soft limit to the hard limit and returns the limits in force
// afterwards. Leaves the limit as it was when the system refuses.
Result<OpenFilesLimit> raise_open_files_limit();

}  // namespace roster
