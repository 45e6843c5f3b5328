#include "server/deploy/engine.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "agent/exec/bundle_codec.h"

namespace roster::deploy {

namespace {

std::string short_hash(const std::string& hash) { return hash.substr(0, 12); }

// A state record as compared for "did it change": without its timestamp.
std::string comparable(deploy_records::NodeDeployState state) {
  state.updated_unix_ms = 0;
  return deploy_records::to_json(state);
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i == 0 ? "" : ", ") + names[i];
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

}  // namespace

Engine::Engine(EngineOptions options, const std::vector<Playbook>& playbooks, TemplateSource templates,
               const SigningKey& key, CatalogApi& api, const Clock& clock, std::shared_ptr<spdlog::logger> logger)
    : options_(options),
      playbooks_(playbooks),
      templates_(std::move(templates)),
      key_(key),
      api_(api),
      clock_(clock),
      logger_(std::move(logger)),
      dispatcher_(options.dispatcher, clock, options.check_mode),
      runs_(api, options.keep_runs) {}

int64_t Engine::now_unix_ms() const { return clock_.unix_nanos() / 1'000'000; }

void Engine::on_nodes(const Result<NodeList>& read) {
  ViewUpdate update = view_.on_nodes(read);
  for (const ViewLog& log : update.logs) {
    if (log.warning) logger_->warn("{}", log.message);
    else logger_->info("{}", log.message);
  }
  if (update.changed) replan_ = true;
}

void Engine::on_kv(const Result<KvTree>& read) {
  ViewUpdate update = view_.on_kv(read);
  for (const ViewLog& log : update.logs) {
    if (log.warning) logger_->warn("{}", log.message);
    else logger_->info("{}", log.message);
  }
  if (!update.changed) return;
  records_changed_ = true;
  DeployRecords records = read_records(view_.kv().entries);
  const auto same_facts = [](const auto& a, const auto& b) {
    return a.hostname == b.hostname && a.os_release == b.os_release && a.cpus == b.cpus &&
           a.memory_bytes == b.memory_bytes;
  };
  if (!std::equal(records.facts.begin(), records.facts.end(), records_.facts.begin(), records_.facts.end(),
                  [&](const auto& a, const auto& b) { return a.first == b.first && same_facts(a.second, b.second); })) {
    replan_ = true;
  }
  records_ = std::move(records);
  for (const std::string& error : records_.errors) {
    if (logged_record_errors_.insert(error).second) logger_->warn("ignoring a malformed record: {}", error);
  }
}

std::optional<std::chrono::steady_clock::time_point> Engine::next_wakeup() const { return dispatcher_.next_wakeup(); }

void Engine::resume() {
  runs_.resume(records_.runs);
  int in_flight = 0;
  for (const auto& [node, state] : records_.states) {
    std::optional<deploy_records::NodeResult> result;
    if (auto it = records_.results.find(node); it != records_.results.end()) result = it->second;
    handle(dispatcher_.restore(state, result));
    written_states_[node] = comparable(state);
    if (state.status == "dispatched") ++in_flight;
  }
  for (const auto& [node, result] : records_.results) {
    if (!records_.states.contains(node)) {
      // No state (written by an older roster-deploy, or deleted): the result
      // still tells the generation the next bundle must exceed.
      deploy_records::NodeDeployState state;
      state.node = node;
      state.status = "idle";
      handle(dispatcher_.restore(state, result));
    }
    seen_results_[node] = {result.generation, result.status};
  }
  // A run whose node is no longer pending or in flight for it will never hear
  // from that node again.
  for (const std::string& id : runs_.ids()) {
    const deploy_records::RunRecord* run = runs_.run(id);
    if (run == nullptr || run->finished_unix_ms != 0) continue;
    for (const auto& [node, record] : run->nodes) {
      if (record.status != "pending" && record.status != "dispatched") continue;
      const NodeTrack* track = dispatcher_.node(node);
      if (track != nullptr && track->run_id == id) continue;
      handle({{EventKind::skipped, node, "", id, "", 0, 0, "roster-deploy restarted before it was answered"}});
    }
  }
  resumed_ = true;
  logger_->info("resumed from the catalog: {} nodes with records, {} in flight, {} runs kept", records_.states.size(),
                in_flight, runs_.ids().size());
}

void Engine::apply_results() {
  for (const auto& [node, result] : records_.results) {
    std::pair<uint64_t, std::string> key{result.generation, result.status};
    auto& seen = seen_results_[node];
    if (seen == key) continue;
    seen = key;
    handle(dispatcher_.on_result(result));
  }
}

void Engine::handle(const std::vector<DispatchEvent>& events) {
  const int64_t now = now_unix_ms();
  for (const DispatchEvent& event : events) {
    const std::string run = event.run_id.empty() ? "" : "run " + event.run_id + ": ";
    switch (event.kind) {
      case EventKind::dispatched: break;  // logged once written
      case EventKind::applied:
        logger_->info("{}{} {} ({} changed)", run, event.node, options_.check_mode ? "checked" : "applied", event.changed);
        break;
      case EventKind::failed:
      case EventKind::timed_out: logger_->warn("{}{} failed: {}", run, event.node, event.error); break;
      case EventKind::held: logger_->error("{}{} held by the loop guard: {}", run, event.node, event.error); break;
      case EventKind::released: logger_->info("{} released by the loop guard", event.node); break;
      case EventKind::skipped: logger_->info("{}{} skipped: {}", run, event.node, event.error); break;
      case EventKind::rollout_stopped:
        logger_->error("rollout of playbook '{}' stopped: {}", event.rollout, event.error);
        break;
    }
    if (runs_.record(event, now)) {
      const deploy_records::RunRecord* record = runs_.run(event.run_id);
      if (record != nullptr) {
        logger_->info("run {} finished: {} nodes, {} failed", record->id, record->total, record->failed);
      }
    }
  }
}

std::string Engine::trigger_for(const std::vector<std::string>& nodes) const {
  std::vector<std::string> retries;
  std::vector<std::string> changed;
  for (const std::string& name : nodes) {
    const NodeTrack* track = dispatcher_.node(name);
    if (track != nullptr && track->status == "failed") retries.push_back(name);
    else changed.push_back(name);
  }
  std::string trigger;
  if (!changed.empty()) trigger = "new desired bundle for " + name_list(changed);
  if (!retries.empty()) trigger += (trigger.empty() ? "" : "; ") + std::string("retry of ") + name_list(retries);
  return trigger;
}

void Engine::dispatch(const Dispatch& dispatch) {
  auto planned = plan_.nodes.find(dispatch.node);
  if (planned == plan_.nodes.end() || !planned->second.bundle || planned->second.bundle->hash != dispatch.hash) {
    handle(dispatcher_.on_write_failed(dispatch.node, "no bundle planned for hash " + short_hash(dispatch.hash)));
    return;
  }
  const NodePlan& node = planned->second;
  exec::BundleMeta meta;
  meta.node_id = node.node.id;
  meta.node = dispatch.node;
  meta.generation = dispatch.generation;
  meta.expires_unix_ms = now_unix_ms() + options_.bundle_ttl.count();
  meta.run_id = dispatch.run_id;
  meta.check_mode = options_.check_mode;
  meta.playbooks = node.bundle->playbooks;
  const std::string sealed = exec::seal_bundle(std::move(meta), node.bundle->bundle, key_);
  Status written = api_.kv_put(deploy_records::bundle_key(dispatch.node), sealed);
  if (!written.is_ok()) {
    handle(dispatcher_.on_write_failed(dispatch.node, written.message()));
    return;
  }
  logger_->info("run {}: {} dispatched (bundle {}, generation {}, attempt {})", dispatch.run_id, dispatch.node,
                short_hash(dispatch.hash), dispatch.generation, dispatch.attempt);
}

void Engine::write_states() {
  if (options_.check_mode) return;
  std::map<std::string, deploy_records::NodeDeployState> wanted;
  for (const auto& [name, track] : dispatcher_.nodes()) {
    if (track.status == "idle" && !written_states_.contains(name)) continue;
    wanted[name] = dispatcher_.state_record(name);
  }
  for (const auto& [name, node] : plan_.nodes) {
    auto old = records_.states.find(name);
    if (node.error.empty()) {
      // A build error that went away on a node that now wants nothing: say so.
      if (!wanted.contains(name) && old != records_.states.end() && old->second.status == "failed") {
        deploy_records::NodeDeployState& state = wanted[name];
        state = old->second;
        state.status = "applied";
        state.hash.clear();
        state.error.clear();
      }
      continue;
    }
    deploy_records::NodeDeployState& state = wanted[name];
    if (state.node.empty()) {
      state.node = name;
      if (old != records_.states.end()) {
        state.applied_hash = old->second.applied_hash;
        state.generation = old->second.generation;
        state.recent_runs_unix_ms = old->second.recent_runs_unix_ms;
      }
    }
    if (state.status != "dispatched") {
      state.status = node.waiting_for_facts ? "pending" : "failed";
      state.hash.clear();
    }
    state.error = node.waiting_for_facts ? "waiting for its agent's facts: " + node.error
                                         : "cannot build its bundle: " + node.error;
  }
  for (auto& [name, state] : wanted) {
    std::string text = comparable(state);
    if (written_states_[name] == text) continue;
    if (state.updated_unix_ms == 0) state.updated_unix_ms = now_unix_ms();
    Status status = api_.kv_put(deploy_records::state_key(name), deploy_records::to_json(state));
    if (!status.is_ok()) {
      logger_->warn("cannot write the state of {}: {}", name, status.message());
      continue;
    }
    written_states_[name] = std::move(text);
  }
}

void Engine::step() {
  if (!view_.ready()) return;
  if (!resumed_) resume();
  if (replan_) {
    replan_ = false;
    plan_ = plan_deploy(playbooks_, templates_, view_.nodes().nodes, records_);
    for (const auto& [name, node] : plan_.nodes) {
      auto& logged = build_errors_[name];
      if (node.error != logged && !node.error.empty()) {
        if (node.waiting_for_facts) {
          logger_->info("{} waits for its agent's facts (reported at start when exec is enabled): {}", name, node.error);
        } else {
          logger_->error("{} failed: cannot build its bundle: {}", name, node.error);
        }
      }
      logged = node.error;
    }
    handle(dispatcher_.set_desired(plan_.desired(), plan_.rollouts));
  }
  if (records_changed_) {
    records_changed_ = false;
    apply_results();
  }
  // An unreachable catalog can neither take bundles nor bring answers back.
  if (view_.nodes_outage() || view_.kv_outage()) return;
  handle(dispatcher_.advance());
  const std::vector<std::string> unassigned = dispatcher_.unassigned();
  if (!unassigned.empty()) {
    std::map<std::string, std::string> hashes;
    for (const std::string& name : unassigned) hashes[name] = dispatcher_.node(name)->desired_hash;
    const std::string trigger = trigger_for(unassigned);
    const std::string id = runs_.open(hashes, trigger, now_unix_ms());
    dispatcher_.assign_run(id, unassigned);
    logger_->info("run {} started for {} nodes: {}", id, unassigned.size(), trigger);
  }
  std::vector<DispatchEvent> events;
  const std::vector<Dispatch> dispatches = dispatcher_.take_dispatches(events);
  handle(events);
  for (const Dispatch& each : dispatches) dispatch(each);
  write_states();
  Status flushed = runs_.flush();
  if (!flushed.is_ok()) logger_->warn("cannot write run records: {}", flushed.message());
}

}  // namespace roster::deploy
