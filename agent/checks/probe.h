#pragma once

// One run of one check, in flight. The runner starts a probe per run and
// drops it when the run completes or the check goes away.

#include <functional>

#include "agent/checks/check_result.h"

namespace roster::checks {

// Called exactly once per run with the result, on the io_context's thread,
// never from inside the start function, and never after cancel().
using ProbeCallback = std::function<void(CheckResult)>;

class Probe {
 public:
  virtual ~Probe() = default;
  // Abandons the run: releases sockets, kills a running script. The callback
  // is not called afterwards. Call on the io_context's thread. Idempotent.
  virtual void cancel() = 0;
};

}  // namespace roster::checks
