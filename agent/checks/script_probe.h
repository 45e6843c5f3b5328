#pragma once

// One run of a script check: runs argv directly (no shell) in its own
// process group, with stdin from /dev/null and stdout and stderr captured
// together. Exit 0 is passing, 1 warning, anything else critical. When the
// timeout passes, the whole process group is killed with SIGKILL.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/checks/probe.h"

namespace boost::asio {
class io_context;
}

namespace roster::checks {

// Runs the script on the calling thread until it exits, times out, or
// `cancelled` becomes true (then nullopt, with the process group killed).
// Blocking; polls `cancelled` every few milliseconds.
std::optional<CheckResult> run_script(const std::vector<std::string>& args, std::chrono::nanoseconds timeout,
                                      size_t max_output_bytes, const std::atomic<bool>& cancelled);

// Runs the script on a worker thread of its own and posts the result back to
// `io`. cancel() and the probe's destructor kill the script and join the
// worker, so they may block for a few milliseconds.
// REQUIRES: args is not empty; the probe is destroyed before `io`.
std::shared_ptr<Probe> start_script_probe(boost::asio::io_context& io, std::vector<std::string> args,
                                          std::chrono::nanoseconds timeout, size_t max_output_bytes,
                                          ProbeCallback done);

}  // namespace roster::checks
