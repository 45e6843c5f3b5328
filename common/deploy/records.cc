#include "common/deploy/records.h"

#include <nlohmann/json.hpp>

namespace roster::deploy_records {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TaskRecord, name, module, status, message, diff)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeResult, node, node_id, generation, hash, run_id, status, check_mode,
                                                started_unix_ms, finished_unix_ms, changed, error, tasks, handlers,
                                                pending_handlers)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeFacts, hostname, os_release, cpus, memory_bytes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NodeDeployState, node, hash, applied_hash, generation, run_id, status,
                                                attempts, error, updated_unix_ms, recent_runs_unix_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RunNodeRecord, status, hash, generation, changed, error)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RunRecord, id, trigger, started_unix_ms, finished_unix_ms, nodes, total,
                                                done, failed)

namespace {

std::string keyed(std::string_view folder, std::string_view name) {
  std::string key(kPrefix);
  key += folder;
  key += '/';
  key += name;
  return key;
}

template <typename Record>
std::string dump(const Record& record) {
  // Invalid UTF-8 (a command's output) is replaced rather than thrown on.
  return nlohmann::json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <typename Record>
Result<Record> parse(std::string_view text, const char* what) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    if (!json.is_object()) return Status::invalid_argument(std::string(what) + " is not a JSON object");
    return json.get<Record>();
  } catch (const nlohmann::json::exception& error) {
    return Status::invalid_argument(std::string("malformed ") + what + ": " + error.what());
  }
}

}  // namespace

std::string bundle_key(std::string_view node) { return keyed("bundles", node); }
std::string result_key(std::string_view node) { return keyed("results", node); }
std::string facts_key(std::string_view node) { return keyed("facts", node); }
std::string state_key(std::string_view node) { return keyed("state", node); }
std::string run_key(std::string_view run_id) { return keyed("runs", run_id); }

std::string to_json(const NodeResult& record) { return dump(record); }
std::string to_json(const NodeFacts& record) { return dump(record); }
std::string to_json(const NodeDeployState& record) { return dump(record); }
std::string to_json(const RunRecord& record) { return dump(record); }

Result<NodeResult> parse_node_result(std::string_view text) { return parse<NodeResult>(text, "node result"); }
Result<NodeFacts> parse_node_facts(std::string_view text) { return parse<NodeFacts>(text, "node facts"); }
Result<NodeDeployState> parse_node_state(std::string_view text) { return parse<NodeDeployState>(text, "node deploy state"); }
Result<RunRecord> parse_run_record(std::string_view text) { return parse<RunRecord>(text, "run record"); }

}  // namespace roster::deploy_records
