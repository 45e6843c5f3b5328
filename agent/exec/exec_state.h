#pragma once

// What an agent remembers about its deploy bundles across restarts, in
// <data-dir>/exec-state.json (docs/DEPLOY.md, "The agent"):
//   - the newest generation it finished (applied or failed), so an older or
//     equal bundle is a replay;
//   - the generation it is running now, recorded before the first task runs,
//     so an agent killed mid-bundle finds it at its next start, reports it
//     interrupted and runs it again;
//   - the handlers still pending from a failed run.
// nlohmann-json stays in exec_state.cc.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace roster::exec {

struct ExecState {
  uint64_t last_generation = 0;  // 0: none finished yet
  std::string last_hash;
  std::string last_run_id;
  uint64_t running_generation = 0;  // 0: nothing running
  std::string running_hash;
  std::string running_run_id;
  int64_t running_started_unix_ms = 0;
  std::vector<std::string> pending_handlers;

  bool operator==(const ExecState&) const = default;
};

std::string to_json(const ExecState& state);
// invalid_argument for text that is not an exec state (a torn or foreign file).
Result<ExecState> parse_exec_state(std::string_view text);

// Where the state lives. With an Env and a data dir it is a file written
// atomically (fsync of the file, then of the directory); without (-dev with
// no -data-dir) it lives in memory and is gone at exit.
//
// Thread affinity: one thread at a time (the exec driver's).
class ExecStateStore {
 public:
  // `env`, when not null, must outlive the store.
  ExecStateStore(Env* env, std::string data_dir);

  // The saved state; an empty one when nothing was saved. An unreadable file
  // is an error (invalid_argument or the Env's), not an empty state: losing
  // the last generation would let a replay through.
  Result<ExecState> load();
  // Durable when it returns ok.
  Status save(const ExecState& state);

  // "" when the state is kept in memory.
  std::string path() const;

 private:
  Env* env_;
  std::string data_dir_;
  std::optional<ExecState> memory_;
};

}  // namespace roster::exec
