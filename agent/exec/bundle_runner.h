#pragma once

// BundleRunner: what the agent does with one bundle found under
// roster/deploy/bundles/<node> (docs/DEPLOY.md, "The agent"), apart from
// fetching it and writing the answer back, which is the exec driver's job
// (agent/rpc/exec_watch.h).
//
// It opens the bundle (signature, node ID, expiry, generation) and either
// refuses it, running nothing, or records in the ExecStateStore that it is
// running that generation, hands the `running` result to the caller, runs the
// tasks (with the handlers a failed earlier run left pending), records the
// generation as finished and returns the final result.
//
// Refusals never move the last finished generation: the generation of a
// bundle that was refused may be a forgery, and must not block later bundles.
// A correctly signed bundle whose generation and hash are those of the last
// one finished is not answered again (nullopt): it is still in the catalog
// after a restart, and its result is already there. The same claims in
// bytes that do not verify are refused like any tampered bundle.
//
// Thread affinity: one thread at a time (the exec driver's); the services in
// the ExecContext are used only from inside handle().

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/exec/exec_context.h"
#include "agent/exec/exec_state.h"
#include "agent/exec/executor.h"
#include "common/clock.h"
#include "common/deploy/records.h"
#include "common/status.h"

namespace roster::exec {

struct BundleRunnerOptions {
  std::string node_id;
  std::string node;                       // node name, for the results
  std::vector<std::string> trusted_keys;  // raw 32-byte Ed25519 public keys
  ExecOptions exec;                       // enabled and the exec root
};

class BundleRunner {
 public:
  // `context`'s services, `state` and `clock` are not owned and must outlive
  // the runner. REQUIRES: every pointer in `context` is set.
  BundleRunner(BundleRunnerOptions options, ExecContext context, ExecStateStore& state, const Clock& clock);

  // Loads the state; call once before handle(). If the agent died while
  // running a bundle, returns the `interrupted` result to write for it, and
  // the same bundle may then be opened again (and is run again) even though
  // its generation is not newer than the last one finished. Errors: the
  // state cannot be read (the runner then refuses to run anything).
  Result<std::optional<deploy_records::NodeResult>> start();

  // Called with the `running` result once the run is recorded in the state
  // and before the first task runs.
  using RunningCallback = std::function<void(const deploy_records::NodeResult&)>;

  // The answer to `bytes`: refused, applied or failed (nullopt: already
  // answered, see above). REQUIRES: start() returned ok.
  std::optional<deploy_records::NodeResult> handle(std::string_view bytes, const RunningCallback& on_running);

  const ExecState& state() const { return state_; }

 private:
  deploy_records::NodeResult refused(std::string_view bytes, std::string reason) const;
  int64_t now_unix_ms() const;

  BundleRunnerOptions options_;
  ExecContext context_;
  ExecStateStore& store_;
  const Clock& clock_;
  ExecState state_;
  bool started_ = false;
};

}  // namespace roster::exec
