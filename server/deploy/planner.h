#pragma once

// The planner: from the playbooks, the catalog's nodes and the records under
// roster/deploy/, what each node should run and whether it needs a bundle.
// Pure: no I/O, no clock; templates come through a TemplateSource.
//
// Level-triggered: a node needs a bundle when its desired hash differs from
// the hash it last applied (results/<node> applied with that hash, or
// state/<node>.applied_hash), and the records do not show that very hash
// already in flight (state/<node> dispatched with it and not yet answered).
// The plan never depends on what changed since the last one.
//
// Empty bundles: a node no playbook matches gets an empty bundle only if it
// had a non-empty one before (its records show another hash): the empty
// bundle records that it left every role and retires the old bundle under
// bundles/<node>. A node that never had a bundle gets nothing. Either way
// nothing is undone on the node: playbooks are not inverted.
//
// A node whose bundle cannot be built (a missing template, a fact the agent
// has not reported) gets `error` and no bundle; other nodes are unaffected.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/deploy/records.h"
#include "server/deploy/bundle_builder.h"
#include "server/deploy/catalog_api.h"
#include "server/deploy/dispatcher.h"
#include "server/playbook/playbook.h"

namespace roster::deploy {

// The records under roster/deploy/, parsed. A malformed record is left out
// and named in `errors` ("roster/deploy/state/web-1: malformed ...").
struct DeployRecords {
  std::map<std::string, deploy_records::NodeDeployState> states;
  std::map<std::string, deploy_records::NodeResult> results;
  std::map<std::string, deploy_records::NodeFacts> facts;
  std::map<std::string, deploy_records::RunRecord> runs;  // by run id
  std::vector<std::string> errors;
};

DeployRecords read_records(const std::vector<KvEntry>& entries);

// The hash the node last applied, per the records; empty when none.
std::string applied_hash(const DeployRecords& records, const std::string& node);

struct NodePlan {
  NodeView node;
  std::optional<BuiltBundle> bundle;  // nullopt when it failed to build, or nothing is wanted
  std::string error;                  // why it failed to build
  // The build failed because the node's agent has not reported its facts
  // (it does at start when exec is enabled): the node waits, it has not failed.
  bool waiting_for_facts = false;
  std::string applied_hash;
  bool wanted = false;                // the node should end up with bundle->hash
  bool needs_dispatch = false;        // wanted, not applied, and not already in flight
  std::string rollout;                // the playbook that paces it: the first one it matches
};

struct Plan {
  std::map<std::string, NodePlan> nodes;  // every catalog node
  std::map<std::string, RolloutPolicy> rollouts;

  // What the dispatcher should converge to.
  std::vector<DesiredNode> desired() const;
};

Plan plan_deploy(const std::vector<Playbook>& playbooks, const TemplateSource& templates,
                 const std::vector<CatalogNode>& nodes, const DeployRecords& records);

}  // namespace roster::deploy
