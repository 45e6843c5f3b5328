#pragma once

// Runs an agent's health checks, as Consul's agent does: TTL checks that
// applications update, and HTTP, TCP and script checks run every interval.
// Reports only changes, and asks for a service to be removed once one of its
// checks has been critical for longer than DeregisterCriticalServiceAfter.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/checks/check_result.h"
#include "agent/local/definitions.h"
#include "common/clock.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}
namespace spdlog {
class logger;
}

namespace roster::checks {

struct RunnerOptions {
  // Script checks run arbitrary commands; like Consul, they are off unless
  // the operator turns them on.
  bool enable_script_checks = false;
  // Longest output kept per check (Consul's default is 4 KiB).
  size_t max_output_bytes = 4096;
  // Periodic checks run at most this often; a shorter interval is raised to
  // it, as Consul's checks.MinInterval does, so "1ns" cannot spin a core.
  // Tests lower it to run many checks quickly.
  std::chrono::nanoseconds min_interval = std::chrono::seconds(1);
  // Measures how long a check has been critical. Null means the system
  // clock. Not owned; must outlive the runner.
  const Clock* clock = nullptr;
  // Status changes and deregistrations are logged here when set.
  std::shared_ptr<spdlog::logger> logger;
};

// Thread affinity: every member function, and the destructor, must be called
// on the thread that runs `io` (or while nothing runs it). Post to it from
// elsewhere. Callbacks run on that thread too, and are never called from
// inside add(), remove() or update_ttl(), so they may call back into the
// runner (on_deregister_service typically removes the service's checks).
// REQUIRES: `io` outlives the runner.
class CheckRunner {
 public:
  // on_change: a check's status or output changed (not called for runs that
  // change nothing, nor for the initial status set by add()).
  using ChangeCallback = std::function<void(const std::string& check_id, const CheckResult& result)>;
  // on_deregister_service: a check with deregister_critical_service_after
  // has been critical that long. Called once per critical spell.
  using DeregisterCallback = std::function<void(const std::string& service_id)>;

  CheckRunner(boost::asio::io_context& io, RunnerOptions options, ChangeCallback on_change,
              DeregisterCallback on_deregister_service);
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;
  // Stops all timers and in-flight checks (kills running scripts).
  ~CheckRunner();

  // Starts running `check`, replacing any check with the same id. The status
  // starts as check.status, or critical when empty. Periodic checks run at
  // once, then every interval (at least options.min_interval); TTL checks go
  // critical ("TTL expired") unless
  // updated within their TTL.
  // Errors: invalid_argument (no id, no kind or several, bad URL, address,
  // status or interval), permission_denied (a script check while script
  // checks are disabled), unavailable (after stop()).
  Status add(const local::CheckDefinition& check);

  // Stops the check; no callback mentions it afterwards. Unknown ids are ignored.
  void remove(const std::string& check_id);

  // Sets a TTL check's status and output, and restarts its TTL.
  // Errors: not_found, invalid_argument (not a TTL check, or a status other
  // than passing, warning or critical).
  Status update_ttl(const std::string& check_id, const std::string& status, const std::string& output);

  // The latest result, or nullopt for an unknown check.
  std::optional<CheckResult> current(const std::string& check_id) const;

  // Stops everything, as the destructor does; add() fails afterwards.
  void stop();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::checks
