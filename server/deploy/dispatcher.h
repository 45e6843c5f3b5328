#pragma once

// The dispatcher: which node gets its bundle written when. A pure state
// machine over an injected Clock; the engine feeds it the plan and the
// agents' answers and writes what it decides.
//
// State is one record per node, never a queue, so no change is ever dropped
// for lack of room: a node wants at most one hash (the latest desired one).
//
//   - At most one bundle in flight per node. A newer desired hash while one
//     is in flight is coalesced: it is dispatched after the current one
//     answers (or times out).
//   - At most `forks` bundles in flight in all.
//   - Rollouts per playbook: a node is paced by the first playbook it
//     matches (its "rollout"). With `serial` (a count, or a percent of the
//     nodes the playbook targets, rounded down, at least 1) its nodes go in
//     batches, in name order; the next batch starts when every node of the
//     current one has answered (after a restart, what of the rollout is
//     still in flight counts as the current batch). When more than
//     `max_fail_percentage` of a batch failed, the rollout stops: its
//     remaining nodes are skipped until a node of that rollout gets a new
//     desired hash. Without `serial` every node goes at once and a failure
//     stops nothing.
//   - A failed node (failed or refused answer, or no answer within
//     `dispatch_timeout`, which counts as failed with a clear error) is
//     retried after a backoff, `retry_initial` doubling to `retry_max`, or at
//     once when its desired hash changes. Attempts are not otherwise
//     bounded: the loop guard bounds them.
//   - Loop guard: a node that would be dispatched a (`loop_limit`+1)-th time
//     within `loop_window` is held, not dispatched, and reported. It is
//     released when the oldest of those dispatches leaves the window. Retries
//     count, so a node that keeps failing is held too.
//   - `running` and `interrupted` answers show the agent is alive: they
//     restart the timeout.
//
// Runs: nodes that start needing a bundle have no run id until the caller
// opens a run for them (unassigned(), assign_run()). A run's node is final
// once applied, failed, held or skipped; a retry later belongs to a new run.
//
// Thread affinity: one thread. The Clock is borrowed and must outlive this.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/deploy/records.h"
#include "server/playbook/playbook.h"

namespace roster::deploy {

struct DispatcherOptions {
  int forks = 20;
  int loop_limit = 5;
  std::chrono::milliseconds loop_window = std::chrono::minutes(10);
  std::chrono::milliseconds dispatch_timeout = std::chrono::seconds(60);
  std::chrono::milliseconds retry_initial = std::chrono::seconds(1);
  std::chrono::milliseconds retry_max = std::chrono::seconds(60);
};

struct RolloutPolicy {
  Serial serial;
  int max_fail_percentage = 0;
  int targeted = 0;  // nodes the playbook's hosts selector matches
};

struct DesiredNode {
  std::string name;
  std::string hash;
  std::string rollout;  // playbook name; empty: not paced
};

struct Dispatch {
  std::string node;
  std::string hash;
  std::string run_id;
  uint64_t generation = 0;
  int attempt = 0;  // 1 for the first dispatch of this hash
};

enum class EventKind {
  dispatched,       // a bundle is to be written (also returned as a Dispatch)
  applied,          // the agent applied it
  failed,           // the agent reported failed or refused, or a write failed
  timed_out,        // no answer within dispatch_timeout: counted as failed
  held,             // the loop guard holds the node
  released,         // the loop guard let it go again
  skipped,          // not dispatched in its run: rollout stopped, or no longer wanted
  rollout_stopped,  // a batch failed beyond max_fail_percentage
};
const char* event_kind_name(EventKind kind);

struct DispatchEvent {
  EventKind kind = EventKind::applied;
  std::string node;     // empty for rollout_stopped
  std::string rollout;
  std::string run_id;
  std::string hash;
  uint64_t generation = 0;
  int changed = 0;
  std::string error;
};

// What the dispatcher knows of a node; also what state/<node> records.
struct NodeTrack {
  std::string desired_hash;  // empty: not wanted
  std::string applied_hash;
  std::string settled_hash;  // last hash answered with success (applied, or checked in check mode)
  std::string rollout;
  std::string status = "applied";  // NodeDeployState::status values; "idle" when not wanted
  std::string error;
  std::string run_id;             // the run of the pending or in-flight work
  uint64_t generation = 0;        // of the last bundle dispatched (or seen answered)
  int attempts = 0;               // dispatches of desired_hash since it last changed or applied
  bool in_flight = false;
  std::string inflight_hash;
  std::chrono::steady_clock::time_point deadline{};
  std::string failed_hash;  // when status failed: the hash that failed
  std::chrono::steady_clock::time_point retry_at{};
  std::chrono::steady_clock::time_point held_until{};
  std::vector<int64_t> recent_dispatch_unix_ms;  // within loop_window
  int64_t updated_unix_ms = 0;
};

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, const Clock& clock, bool check_mode = false);

  // Resume from the records (state/<node> and results/<node>): an unanswered
  // dispatch stays in flight until its original deadline, a failed node
  // waits out the rest of its backoff, the loop guard keeps its history.
  // Returns events for an answer that arrived while nobody was watching.
  // REQUIRES: called before the node appears in set_desired().
  std::vector<DispatchEvent> restore(const deploy_records::NodeDeployState& state,
                                     const std::optional<deploy_records::NodeResult>& result);

  // The latest plan: every node that should have `hash`. A node left out is
  // no longer wanted (its in-flight bundle is still followed to its answer).
  std::vector<DispatchEvent> set_desired(const std::vector<DesiredNode>& nodes,
                                         const std::map<std::string, RolloutPolicy>& rollouts);

  // An agent's answer (results/<node>). Stale generations are ignored.
  std::vector<DispatchEvent> on_result(const deploy_records::NodeResult& result);

  // The bundle could not be written: counted as a failed attempt.
  std::vector<DispatchEvent> on_write_failed(const std::string& node, const std::string& error);

  // Timeouts, retries that fall due, holds that end.
  std::vector<DispatchEvent> advance();

  // Nodes that need a bundle and belong to no run yet.
  std::vector<std::string> unassigned() const;
  void assign_run(const std::string& run_id, const std::vector<std::string>& nodes);

  // The bundles to write now, within forks, serial and the loop guard; they
  // are in flight from here on. `events` receives held and skipped nodes.
  std::vector<Dispatch> take_dispatches(std::vector<DispatchEvent>& events);

  // When advance() or take_dispatches() may next have something to do.
  std::optional<std::chrono::steady_clock::time_point> next_wakeup() const;

  const NodeTrack* node(const std::string& name) const;
  const std::map<std::string, NodeTrack>& nodes() const { return nodes_; }
  int in_flight() const;
  bool rollout_stopped(const std::string& rollout) const;

  // The state/<node> record for a node. REQUIRES: node(name) != nullptr.
  deploy_records::NodeDeployState state_record(const std::string& name) const;

 private:
  struct Rollout {
    RolloutPolicy policy;
    std::map<std::string, int> batch;  // member -> 0 waiting, 1 succeeded, 2 failed
    int batch_number = 0;
    bool stopped = false;
  };

  bool needs_work(const NodeTrack& track) const;
  int batch_size(const Rollout& rollout) const;
  void batch_outcome(const std::string& node, bool failed, std::vector<DispatchEvent>& events);
  void finish_batch_if_done(const std::string& rollout_name, Rollout& rollout, std::vector<DispatchEvent>& events);
  void answer(NodeTrack& track, const std::string& name, bool ok, const std::string& hash, int changed,
              const std::string& error, EventKind kind, bool check_mode, std::vector<DispatchEvent>& events);
  std::chrono::milliseconds backoff(int attempts) const;
  int64_t now_unix_ms() const;

  DispatcherOptions options_;
  const Clock& clock_;
  bool check_mode_;
  std::map<std::string, NodeTrack> nodes_;
  std::map<std::string, Rollout> rollouts_;
};

}  // namespace roster::deploy
