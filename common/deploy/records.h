#pragma once

// What roster-deploy and the agents keep in the catalog KV, under
// roster/deploy/ (docs/DEPLOY.md). Every record but the bundle is JSON, so
// operators can read it with `roster kv get`; these are its one definition.
// nlohmann-json stays in records.cc.
//
//   roster/deploy/bundles/<node>  SignedBundle bytes      written by roster-deploy
//   roster/deploy/results/<node>  NodeResult              written by the node's agent
//   roster/deploy/facts/<node>    NodeFacts               written by the node's agent
//   roster/deploy/state/<node>    NodeDeployState         written by roster-deploy
//   roster/deploy/runs/<run id>   RunRecord               written by roster-deploy
//   roster/deploy/lock            roster-deploy's session lock (KV acquire)
//
// Parsing is for untrusted text: a malformed record is invalid_argument,
// never an exception or a crash. Unknown fields are ignored.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace roster::deploy_records {

inline constexpr std::string_view kPrefix = "roster/deploy/";
std::string bundle_key(std::string_view node);
std::string result_key(std::string_view node);
std::string facts_key(std::string_view node);
std::string state_key(std::string_view node);
std::string run_key(std::string_view run_id);
inline constexpr std::string_view kLockKey = "roster/deploy/lock";

struct TaskRecord {
  std::string name;
  std::string module;
  std::string status;   // ok | changed | failed | skipped | unknown
  std::string message;
  std::string diff;
};

// The agent's answer to one bundle. `status`:
//   running      the agent started it (written before the first task)
//   applied      every task ran and none failed
//   failed       a task failed (see tasks)
//   refused      not run: bad signature, wrong node, expired, replayed,
//                undecodable, or exec disabled; `error` says which
//   interrupted  the agent died while running it; it runs it again
struct NodeResult {
  std::string node;
  std::string node_id;
  uint64_t generation = 0;
  std::string hash;
  std::string run_id;
  std::string status;
  bool check_mode = false;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;
  int changed = 0;
  std::string error;
  std::vector<TaskRecord> tasks;
  std::vector<TaskRecord> handlers;
  std::vector<std::string> pending_handlers;
};

struct NodeFacts {
  std::string hostname;
  std::string os_release;  // PRETTY_NAME from /etc/os-release
  int cpus = 0;
  uint64_t memory_bytes = 0;
};

// roster-deploy's view of one node. `status`:
//   pending     a bundle is wanted but not yet written (waiting for its
//               serial batch, a fork, or a retry)
//   dispatched  written; the agent has not answered it yet
//   applied     the agent applied the current hash
//   failed      the agent reported failed or refused (retried with backoff)
//   held        the loop guard holds it back (too many runs in the window)
struct NodeDeployState {
  std::string node;
  std::string hash;          // the desired hash
  std::string applied_hash;  // the hash the agent last applied
  uint64_t generation = 0;   // of the last bundle written
  std::string run_id;
  std::string status;
  int attempts = 0;
  std::string error;
  int64_t updated_unix_ms = 0;
  std::vector<int64_t> recent_runs_unix_ms;  // for the loop guard
};

struct RunNodeRecord {
  std::string status;  // pending | dispatched | applied | failed | held | skipped
  std::string hash;
  uint64_t generation = 0;
  int changed = 0;
  std::string error;
};

struct RunRecord {
  std::string id;
  std::string trigger;  // what started it, for people ("node web-1 retagged")
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;  // 0 while running
  std::map<std::string, RunNodeRecord> nodes;
  int total = 0;
  int done = 0;
  int failed = 0;
};

std::string to_json(const NodeResult& record);
std::string to_json(const NodeFacts& record);
std::string to_json(const NodeDeployState& record);
std::string to_json(const RunRecord& record);
Result<NodeResult> parse_node_result(std::string_view text);
Result<NodeFacts> parse_node_facts(std::string_view text);
Result<NodeDeployState> parse_node_state(std::string_view text);
Result<RunRecord> parse_run_record(std::string_view text);

}  // namespace roster::deploy_records
