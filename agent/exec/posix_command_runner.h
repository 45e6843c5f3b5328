#pragma once

// The real CommandRunner: runs argv directly (no shell, looked up on PATH)
// in the request's working directory and its own process group, with stdin
// from /dev/null and stdout and stderr captured apart, each up to
// `max_output_bytes` (the rest is read and dropped so the command never
// blocks on a full pipe). At the timeout the whole process group is killed
// with SIGKILL and the output says timed_out.
//
// Modelled on agent/checks/script_probe.cc, which merges the two streams and
// maps exit codes to check states; the executor needs both kept apart.
//
// Blocking: run() returns when the command exits or times out. Safe to call
// from several threads at once (no shared state).

#include <cstddef>

#include "agent/exec/exec_context.h"

namespace roster::exec {

class PosixCommandRunner final : public CommandRunner {
 public:
  explicit PosixCommandRunner(size_t max_output_bytes = 64 * 1024) : max_output_bytes_(max_output_bytes) {}
  Result<CommandOutput> run(const CommandRequest& request) override;

 private:
  size_t max_output_bytes_;
};

}  // namespace roster::exec
