#pragma once

// What one node should run: the tasks of every playbook whose `hosts`
// selector matches the node's tags, with `when:` applied, every argument and
// template rendered (Mustache, on the server), and the content hashed.
//
// Pure: no catalog, network or clock. Templates come through a reader, so
// tests pass them in memory.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/exec/executor.h"
#include "common/deploy/records.h"
#include "server/playbook/playbook.h"

namespace roster::deploy {

// A node as the catalog and its agent describe it.
struct NodeView {
  std::string name;
  std::string id;
  std::string address;
  std::map<std::string, std::string> tags;  // merged (NodeMeta)
  std::optional<deploy_records::NodeFacts> facts;  // nullopt until the agent has reported them
};

struct BuiltBundle {
  exec::Bundle bundle;
  std::vector<std::string> playbooks;  // the playbooks that matched, in load order
  std::string hash;                    // exec::content_hash(bundle, playbooks)
};

// Reads a template by its `src:` (relative to the playbook directory's
// templates/); nullopt when missing.
using TemplateSource = std::function<std::optional<std::string>(const std::string& src)>;

// The node's bundle. An empty bundle (no playbook matches) is a valid result
// with no tasks. Errors (invalid_argument, with the playbook file and line):
// a missing template, a variable that is not defined for this node (for
// instance a fact the agent has not reported), or two handlers of one name
// from different playbooks; also a bundle too large for agents to accept
// (exec::kMaxBundleBytes). Such a node gets no bundle; the caller reports
// the error for that node alone.
Result<BuiltBundle> build_bundle(const std::vector<Playbook>& playbooks, const NodeView& node,
                                 const TemplateSource& templates);

}  // namespace roster::deploy
