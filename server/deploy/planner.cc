#include "server/deploy/planner.h"

#include "server/playbook/render.h"

namespace roster::deploy {
namespace {

std::string_view folder_of(std::string_view key, std::string_view& name) {
  key.remove_prefix(deploy_records::kPrefix.size());
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos) return {};
  name = key.substr(slash + 1);
  return key.substr(0, slash);
}

template <typename Record>
void keep(const Result<Record>& parsed, std::map<std::string, Record>& into, const std::string& name,
          const std::string& key, std::vector<std::string>& errors) {
  if (!parsed.is_ok()) {
    errors.push_back(key + ": " + parsed.status().message());
    return;
  }
  into[name] = parsed.value();
}

}  // namespace

DeployRecords read_records(const std::vector<KvEntry>& entries) {
  DeployRecords records;
  for (const KvEntry& entry : entries) {
    if (!entry.key.starts_with(deploy_records::kPrefix)) continue;
    std::string_view name_view;
    const std::string_view folder = folder_of(entry.key, name_view);
    const std::string name(name_view);
    if (name.empty()) continue;
    if (folder == "state") {
      auto parsed = deploy_records::parse_node_state(entry.value);
      if (parsed.is_ok() && parsed->node.empty()) parsed->node = name;
      keep(parsed, records.states, name, entry.key, records.errors);
    } else if (folder == "results") {
      auto parsed = deploy_records::parse_node_result(entry.value);
      if (parsed.is_ok() && parsed->node.empty()) parsed->node = name;
      keep(parsed, records.results, name, entry.key, records.errors);
    } else if (folder == "facts") {
      keep(deploy_records::parse_node_facts(entry.value), records.facts, name, entry.key, records.errors);
    } else if (folder == "runs") {
      auto parsed = deploy_records::parse_run_record(entry.value);
      if (parsed.is_ok() && parsed->id.empty()) parsed->id = name;
      keep(parsed, records.runs, name, entry.key, records.errors);
    }
  }
  return records;
}

std::string applied_hash(const DeployRecords& records, const std::string& node) {
  std::string applied;
  uint64_t generation = 0;
  if (auto state = records.states.find(node); state != records.states.end()) {
    applied = state->second.applied_hash;
    generation = state->second.generation;
  }
  if (auto result = records.results.find(node); result != records.results.end()) {
    const auto& answer = result->second;
    if (answer.status == "applied" && !answer.check_mode && answer.generation >= generation) applied = answer.hash;
  }
  return applied;
}

namespace {

// The records show `hash` dispatched to the node and not answered yet.
bool in_flight_per_records(const DeployRecords& records, const std::string& node, const std::string& hash) {
  auto state = records.states.find(node);
  if (state == records.states.end() || state->second.status != "dispatched" || state->second.hash != hash) return false;
  auto result = records.results.find(node);
  if (result == records.results.end()) return true;
  const auto& answer = result->second;
  return answer.generation < state->second.generation ||
         (answer.generation == state->second.generation && (answer.status == "running" || answer.status == "interrupted"));
}

// The records show a bundle other than `empty_hash` was ever dispatched or applied.
bool had_bundle(const DeployRecords& records, const std::string& node, const std::string& empty_hash) {
  if (auto state = records.states.find(node); state != records.states.end()) {
    for (const std::string* hash : {&state->second.hash, &state->second.applied_hash}) {
      if (!hash->empty() && *hash != empty_hash) return true;
    }
  }
  if (auto result = records.results.find(node); result != records.results.end()) {
    if (!result->second.hash.empty() && result->second.hash != empty_hash) return true;
  }
  return false;
}

}  // namespace

std::vector<DesiredNode> Plan::desired() const {
  std::vector<DesiredNode> out;
  for (const auto& [name, plan] : nodes) {
    if (plan.wanted && plan.bundle) out.push_back({name, plan.bundle->hash, plan.rollout});
  }
  return out;
}

Plan plan_deploy(const std::vector<Playbook>& playbooks, const TemplateSource& templates,
                 const std::vector<CatalogNode>& nodes, const DeployRecords& records) {
  Plan plan;
  for (const Playbook& playbook : playbooks) {
    RolloutPolicy& policy = plan.rollouts[playbook.name];
    policy.serial = playbook.serial;
    policy.max_fail_percentage = playbook.max_fail_percentage;
    for (const CatalogNode& node : nodes) {
      if (playbook.hosts_valid && playbook.hosts.matches(node.tags)) ++policy.targeted;
    }
  }
  for (const CatalogNode& node : nodes) {
    NodePlan& node_plan = plan.nodes[node.name];
    node_plan.node = NodeView{node.name, node.id, node.address, node.tags, std::nullopt};
    if (auto facts = records.facts.find(node.name); facts != records.facts.end()) node_plan.node.facts = facts->second;
    node_plan.applied_hash = applied_hash(records, node.name);
    for (const Playbook& playbook : playbooks) {
      if (playbook.hosts_valid && playbook.hosts.matches(node.tags)) {
        node_plan.rollout = playbook.name;
        break;
      }
    }
    if (node.id.empty()) {
      // An agent refuses a bundle that does not name its node ID.
      node_plan.error = "the catalog has no node ID for it";
      continue;
    }
    auto built = build_bundle(playbooks, node_plan.node, templates);
    if (!built.is_ok()) {
      node_plan.error = built.status().message();
      node_plan.waiting_for_facts = !node_plan.node.facts.has_value() &&
                                    node_plan.error.find(kFactsNotReported) != std::string::npos;
      continue;
    }
    const bool empty = built->bundle.tasks.empty() && built->bundle.handlers.empty();
    if (empty && !had_bundle(records, node.name, built->hash)) continue;
    node_plan.wanted = true;
    node_plan.needs_dispatch = built->hash != node_plan.applied_hash &&
                               !in_flight_per_records(records, node.name, built->hash);
    node_plan.bundle = std::move(built).value();
  }
  return plan;
}

}  // namespace roster::deploy
