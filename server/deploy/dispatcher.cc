#include "server/deploy/dispatcher.h"

#include <algorithm>

#include "common/duration.h"

namespace roster::deploy {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::dispatched: return "dispatched";
    case EventKind::applied: return "applied";
    case EventKind::failed: return "failed";
    case EventKind::timed_out: return "timed out";
    case EventKind::held: return "held";
    case EventKind::released: return "released";
    case EventKind::skipped: return "skipped";
    case EventKind::rollout_stopped: return "rollout stopped";
  }
  return "unknown";
}

namespace {

bool is_final_answer(const std::string& status) {
  return status == "applied" || status == "failed" || status == "refused";
}

std::string answer_error(const deploy_records::NodeResult& result) {
  if (!result.error.empty()) return result.error;
  for (const auto* list : {&result.tasks, &result.handlers}) {
    for (const auto& task : *list) {
      if (task.status == "failed") return "task '" + task.name + "': " + task.message;
    }
  }
  return result.status == "applied" ? "" : "the agent reported " + result.status;
}

}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, const Clock& clock, bool check_mode)
    : options_(options), clock_(clock), check_mode_(check_mode) {}

int64_t Dispatcher::now_unix_ms() const { return clock_.unix_nanos() / 1'000'000; }

milliseconds Dispatcher::backoff(int attempts) const {
  milliseconds delay = options_.retry_initial;
  for (int i = 1; i < attempts && delay < options_.retry_max; ++i) delay *= 2;
  return std::min(delay, options_.retry_max);
}

bool Dispatcher::needs_work(const NodeTrack& track) const {
  if (track.desired_hash.empty() || track.in_flight || track.status == "held") return false;
  if (track.desired_hash == track.settled_hash) return false;
  if (track.status == "failed" && track.failed_hash == track.desired_hash && clock_.now() < track.retry_at) return false;
  return true;
}

bool Dispatcher::rollout_stopped(const std::string& rollout) const {
  auto it = rollouts_.find(rollout);
  return it != rollouts_.end() && it->second.stopped;
}

int Dispatcher::in_flight() const {
  return static_cast<int>(std::count_if(nodes_.begin(), nodes_.end(), [](const auto& entry) { return entry.second.in_flight; }));
}

const NodeTrack* Dispatcher::node(const std::string& name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

int Dispatcher::batch_size(const Rollout& rollout) const {
  const Serial& serial = rollout.policy.serial;
  if (!serial.percent) return std::max(serial.value, 1);
  return std::max(rollout.policy.targeted * serial.value / 100, 1);
}

std::vector<DispatchEvent> Dispatcher::restore(const deploy_records::NodeDeployState& state,
                                               const std::optional<deploy_records::NodeResult>& result) {
  std::vector<DispatchEvent> events;
  NodeTrack& track = nodes_[state.node];
  track.applied_hash = state.applied_hash;
  track.generation = state.generation;
  if (result) {
    if (result->status == "applied" && !result->check_mode && result->generation >= state.generation) {
      track.applied_hash = result->hash;
    }
    track.generation = std::max(track.generation, result->generation);
  }
  track.settled_hash = track.applied_hash;
  // What it wanted then: the first plan, if it wants the same, keeps the
  // attempt count (and so the backoff).
  if (state.status == "dispatched" || state.status == "pending" || state.status == "failed") {
    track.desired_hash = state.hash;
  }
  track.recent_dispatch_unix_ms = state.recent_runs_unix_ms;
  track.attempts = state.attempts;
  track.error = state.error;
  track.run_id = state.run_id;
  track.status = state.status;
  track.updated_unix_ms = state.updated_unix_ms;
  const milliseconds elapsed(std::max<int64_t>(now_unix_ms() - state.updated_unix_ms, 0));
  const auto now = clock_.now();
  if (state.status == "dispatched" && !state.hash.empty()) {
    track.in_flight = true;
    track.inflight_hash = state.hash;
    track.generation = state.generation;
    track.deadline = now + std::max(options_.dispatch_timeout - elapsed, milliseconds(0));
    if (result && result->generation == state.generation && is_final_answer(result->status)) {
      events = on_result(*result);
    }
  } else if (state.status == "failed") {
    track.failed_hash = state.hash;
    track.retry_at = now + std::max(backoff(std::max(state.attempts, 1)) - elapsed, milliseconds(0));
    track.run_id.clear();
  } else if (state.status == "held") {
    track.run_id.clear();
    const int64_t window_start = now_unix_ms() - options_.loop_window.count();
    std::erase_if(track.recent_dispatch_unix_ms, [&](int64_t at) { return at <= window_start; });
    if (static_cast<int>(track.recent_dispatch_unix_ms.size()) >= options_.loop_limit &&
        !track.recent_dispatch_unix_ms.empty()) {
      const int64_t release_ms = track.recent_dispatch_unix_ms.front() + options_.loop_window.count();
      track.held_until = now + milliseconds(release_ms - now_unix_ms());
    } else {
      track.status = "pending";
    }
  } else if (state.status != "pending") {
    track.run_id.clear();
  }
  return events;
}

std::vector<DispatchEvent> Dispatcher::set_desired(const std::vector<DesiredNode>& nodes,
                                                   const std::map<std::string, RolloutPolicy>& rollouts) {
  std::vector<DispatchEvent> events;
  for (const auto& [name, policy] : rollouts) rollouts_[name].policy = policy;
  std::set<std::string> wanted;
  for (const DesiredNode& desired : nodes) {
    wanted.insert(desired.name);
    NodeTrack& track = nodes_[desired.name];
    track.rollout = desired.rollout;
    if (desired.hash != track.desired_hash) {
      track.desired_hash = desired.hash;
      track.attempts = 0;
      if (desired.hash != track.settled_hash && !desired.rollout.empty()) {
        // New content is the operator's answer to a stopped rollout.
        if (auto it = rollouts_.find(desired.rollout); it != rollouts_.end()) it->second.stopped = false;
      }
    }
  }
  for (auto& [name, track] : nodes_) {
    if (!wanted.contains(name) && !track.desired_hash.empty()) {
      track.desired_hash.clear();
      if (!track.in_flight && !track.run_id.empty()) {
        events.push_back({EventKind::skipped, name, track.rollout, track.run_id, "", track.generation, 0,
                          "no playbook wants a bundle for it any more"});
        track.run_id.clear();
      }
    }
    if (track.in_flight) {
      track.status = "dispatched";
    } else if (track.status == "held") {
    } else if (track.desired_hash.empty()) {
      track.status = "idle";
    } else if (track.status == "failed" && track.failed_hash == track.desired_hash) {
    } else {
      track.status = track.desired_hash == track.settled_hash ? "applied" : "pending";
    }
  }
  // A batch member that no longer needs anything has nothing left to answer.
  for (auto& [rollout_name, rollout] : rollouts_) {
    for (auto& [member, outcome] : rollout.batch) {
      auto it = nodes_.find(member);
      if (outcome == 0 && (it == nodes_.end() || (!it->second.in_flight && !needs_work(it->second)))) outcome = 1;
    }
    finish_batch_if_done(rollout_name, rollout, events);
  }
  return events;
}

void Dispatcher::batch_outcome(const std::string& node, bool failed, std::vector<DispatchEvent>& events) {
  auto track = nodes_.find(node);
  if (track == nodes_.end()) return;
  auto rollout = rollouts_.find(track->second.rollout);
  if (rollout == rollouts_.end()) return;
  auto member = rollout->second.batch.find(node);
  if (member == rollout->second.batch.end() || member->second != 0) return;
  member->second = failed ? 2 : 1;
  finish_batch_if_done(rollout->first, rollout->second, events);
}

void Dispatcher::finish_batch_if_done(const std::string& rollout_name, Rollout& rollout,
                                      std::vector<DispatchEvent>& events) {
  if (rollout.batch.empty()) return;
  int failed = 0;
  for (const auto& [member, outcome] : rollout.batch) {
    if (outcome == 0) return;
    if (outcome == 2) ++failed;
  }
  const int size = static_cast<int>(rollout.batch.size());
  rollout.batch.clear();
  if (failed * 100 <= rollout.policy.max_fail_percentage * size) return;
  rollout.stopped = true;
  const std::string reason = "batch " + std::to_string(rollout.batch_number) + ": " + std::to_string(failed) + " of " +
                             std::to_string(size) + " nodes failed, more than max_fail_percentage " +
                             std::to_string(rollout.policy.max_fail_percentage) +
                             "%; its remaining nodes wait until its bundles change";
  events.push_back({EventKind::rollout_stopped, "", rollout_name, "", "", 0, 0, reason});
  for (auto& [name, track] : nodes_) {
    if (track.rollout != rollout_name || track.run_id.empty() || !needs_work(track)) continue;
    events.push_back({EventKind::skipped, name, rollout_name, track.run_id, track.desired_hash, track.generation, 0,
                      "rollout of playbook '" + rollout_name + "' stopped"});
    track.run_id.clear();
  }
}

void Dispatcher::answer(NodeTrack& track, const std::string& name, bool ok, const std::string& hash, int changed,
                        const std::string& error, EventKind kind, bool check_mode, std::vector<DispatchEvent>& events) {
  track.in_flight = false;
  track.updated_unix_ms = now_unix_ms();
  if (ok) {
    if (!check_mode) track.applied_hash = hash;
    track.settled_hash = hash;
    track.attempts = 0;
    track.error.clear();
    track.status = track.desired_hash.empty() ? "idle" : track.desired_hash == hash ? "applied" : "pending";
  } else {
    track.status = "failed";
    track.failed_hash = hash;
    track.error = error;
    track.retry_at = clock_.now() + backoff(std::max(track.attempts, 1));
  }
  events.push_back({kind, name, track.rollout, track.run_id, hash, track.generation, changed, error});
  track.run_id.clear();
  batch_outcome(name, !ok, events);
}

std::vector<DispatchEvent> Dispatcher::on_result(const deploy_records::NodeResult& result) {
  std::vector<DispatchEvent> events;
  auto it = nodes_.find(result.node);
  if (it == nodes_.end()) return events;
  NodeTrack& track = it->second;
  if (result.generation != track.generation) return events;  // stale, or not ours
  if (!is_final_answer(result.status)) {
    if (track.in_flight) track.deadline = clock_.now() + options_.dispatch_timeout;
    return events;
  }
  const bool ok = result.status == "applied";
  if (!track.in_flight) {
    // A late answer to a dispatch that already timed out: the node did apply it.
    if (ok && track.settled_hash != result.hash) {
      if (!check_mode_) track.applied_hash = result.hash;
      track.settled_hash = result.hash;
      if (track.status == "failed" || track.status == "pending") {
        track.status = track.desired_hash == result.hash ? "applied" : "pending";
        track.error.clear();
      }
      events.push_back({EventKind::applied, result.node, track.rollout, result.run_id, result.hash, result.generation,
                        result.changed, ""});
    }
    return events;
  }
  answer(track, result.node, ok, result.hash, result.changed, answer_error(result),
         ok ? EventKind::applied : EventKind::failed, check_mode_, events);
  return events;
}

std::vector<DispatchEvent> Dispatcher::on_write_failed(const std::string& node, const std::string& error) {
  std::vector<DispatchEvent> events;
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.in_flight) return events;
  answer(it->second, node, false, it->second.inflight_hash, 0, "could not write the bundle: " + error,
         EventKind::failed, check_mode_, events);
  return events;
}

std::vector<DispatchEvent> Dispatcher::advance() {
  std::vector<DispatchEvent> events;
  const auto now = clock_.now();
  for (auto& [name, track] : nodes_) {
    if (track.in_flight && now >= track.deadline) {
      answer(track, name, false, track.inflight_hash, 0,
             "no answer from its agent within " + format_go_duration(options_.dispatch_timeout) +
                 " (agent down, or exec not enabled on it?)",
             EventKind::timed_out, check_mode_, events);
    }
    if (track.status == "held" && now >= track.held_until) {
      track.status = track.desired_hash.empty() ? "idle" : "pending";
      track.error.clear();
      events.push_back({EventKind::released, name, track.rollout, "", track.desired_hash, track.generation, 0, ""});
    }
  }
  return events;
}

std::vector<std::string> Dispatcher::unassigned() const {
  std::vector<std::string> out;
  for (const auto& [name, track] : nodes_) {
    if (needs_work(track) && track.run_id.empty() && !rollout_stopped(track.rollout)) out.push_back(name);
  }
  return out;
}

void Dispatcher::assign_run(const std::string& run_id, const std::vector<std::string>& nodes) {
  for (const std::string& name : nodes) {
    if (auto it = nodes_.find(name); it != nodes_.end()) it->second.run_id = run_id;
  }
}

std::vector<Dispatch> Dispatcher::take_dispatches(std::vector<DispatchEvent>& events) {
  std::vector<Dispatch> out;
  int budget = options_.forks - in_flight();
  const auto now = clock_.now();
  const int64_t now_ms = now_unix_ms();
  for (auto& [name, track] : nodes_) {
    if (budget <= 0) break;
    if (!needs_work(track) || track.run_id.empty() || rollout_stopped(track.rollout)) continue;

    if (auto found = rollouts_.find(track.rollout); found != rollouts_.end() && found->second.policy.serial.value > 0) {
      Rollout& rollout = found->second;
      if (auto member = rollout.batch.find(name); member != rollout.batch.end()) {
        if (member->second != 0) continue;
      } else if (!rollout.batch.empty()) {
        continue;  // the current batch has not finished
      } else if (std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
                   return entry.second.in_flight && entry.second.rollout == track.rollout;
                 })) {
        continue;  // in flight outside any batch (resumed after a restart): wait for it as for a batch
      } else {
        ++rollout.batch_number;
        const int size = batch_size(rollout);
        for (const auto& [other_name, other] : nodes_) {
          if (static_cast<int>(rollout.batch.size()) >= size) break;
          if (other.rollout == track.rollout && needs_work(other) && !other.run_id.empty()) rollout.batch[other_name] = 0;
        }
      }
    }

    const int64_t window_start = now_ms - options_.loop_window.count();
    std::erase_if(track.recent_dispatch_unix_ms, [&](int64_t at) { return at <= window_start; });
    if (static_cast<int>(track.recent_dispatch_unix_ms.size()) >= options_.loop_limit) {
      const int64_t release_ms = track.recent_dispatch_unix_ms.front() + options_.loop_window.count();
      track.status = "held";
      track.held_until = now + milliseconds(release_ms - now_ms);
      track.updated_unix_ms = now_ms;
      track.error = "dispatched " + std::to_string(track.recent_dispatch_unix_ms.size()) + " times in the last " +
                    format_go_duration(options_.loop_window) + "; held for " +
                    format_go_duration(milliseconds(release_ms - now_ms)) +
                    " (tags oscillating between playbooks, or a bundle that keeps failing?)";
      events.push_back({EventKind::held, name, track.rollout, track.run_id, track.desired_hash, track.generation, 0,
                        track.error});
      track.run_id.clear();
      batch_outcome(name, false, events);
      continue;
    }

    track.generation = std::max<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(now_ms, 0)), track.generation + 1);
    track.in_flight = true;
    track.inflight_hash = track.desired_hash;
    track.deadline = now + options_.dispatch_timeout;
    track.recent_dispatch_unix_ms.push_back(now_ms);
    ++track.attempts;
    track.status = "dispatched";
    track.error.clear();
    track.updated_unix_ms = now_ms;
    events.push_back({EventKind::dispatched, name, track.rollout, track.run_id, track.desired_hash, track.generation, 0, ""});
    out.push_back({name, track.desired_hash, track.run_id, track.generation, track.attempts});
    --budget;
  }
  return out;
}

std::optional<steady_clock::time_point> Dispatcher::next_wakeup() const {
  std::optional<steady_clock::time_point> next;
  auto consider = [&](steady_clock::time_point at) {
    if (!next || at < *next) next = at;
  };
  for (const auto& [name, track] : nodes_) {
    if (track.in_flight) consider(track.deadline);
    if (track.status == "held") consider(track.held_until);
    // A retry already due waits for a fork or its rollout, not for time.
    if (track.status == "failed" && !track.desired_hash.empty() && track.failed_hash == track.desired_hash &&
        track.retry_at > clock_.now()) {
      consider(track.retry_at);
    }
  }
  return next;
}

deploy_records::NodeDeployState Dispatcher::state_record(const std::string& name) const {
  const NodeTrack& track = nodes_.at(name);
  deploy_records::NodeDeployState state;
  state.node = name;
  state.hash = track.in_flight ? track.inflight_hash
               : track.status == "failed" && !track.failed_hash.empty() ? track.failed_hash
                                                                        : track.desired_hash;
  state.applied_hash = track.applied_hash;
  state.generation = track.generation;
  state.run_id = track.run_id;
  state.status = track.status == "idle" ? "applied" : track.status;
  state.attempts = track.attempts;
  state.error = track.error;
  state.updated_unix_ms = track.updated_unix_ms;
  state.recent_runs_unix_ms = track.recent_dispatch_unix_ms;
  return state;
}

}  // namespace roster::deploy
