// Roster's read side of deployment (/v1/roster/deploy/...) and the Ansible
// dynamic inventory (/v1/roster/inventory), built from the catalog and the
// records under roster/deploy/ (common/deploy/records.h).
//
// The records come from the KV, which anyone with write access can fill with
// anything: a record that does not parse is shown with its parse error and
// never stops the rest of the answer.

#include <algorithm>
#include <charconv>

#include "agent/http/api_internal.h"
#include "common/deploy/records.h"

namespace roster::http {

namespace {

namespace records = deploy_records;

constexpr size_t kDefaultRunLimit = 20;

std::string runs_prefix() { return std::string(records::kPrefix) + "runs/"; }
std::string folder_prefix(std::string_view folder) { return std::string(records::kPrefix) + std::string(folder) + "/"; }

// The record as its one JSON definition writes it, or the parse error.
template <typename Record>
Result<json> record_json(const Result<Record>& parsed) {
  if (!parsed.is_ok()) return parsed.status();
  json out = json::parse(records::to_json(*parsed), nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return Status::internal("record did not serialise");
  return out;
}

json run_json(const catalog::KvEntry& entry, const std::string& id) {
  Result<json> record = record_json(records::parse_run_record(entry.value));
  json out;
  if (record.is_ok()) {
    out = std::move(*record);
    if (out.value("id", "").empty()) out["id"] = id;
  } else {
    out = json{{"id", id}, {"parse_error", record.status().message()}};
  }
  out["modify_index"] = entry.modify_index;
  return out;
}

// Newest first: by start time, then by ID (roster-deploy's IDs grow), so
// unparsable records, which have no start time, come last.
bool newer(const json& a, const json& b) {
  int64_t a_started = a.value("started_unix_ms", int64_t{0});
  int64_t b_started = b.value("started_unix_ms", int64_t{0});
  if (a_started != b_started) return a_started > b_started;
  return a.value("id", "") > b.value("id", "");
}

Result<size_t> run_limit(const HttpRequest& request) {
  auto limit = request.param("limit");
  if (!limit || limit->empty()) return kDefaultRunLimit;
  size_t value = 0;
  auto [end, error] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
  if (error != std::errc() || end != limit->data() + limit->size()) {
    return Status::invalid_argument("Invalid limit \"" + *limit + "\": must be an unsigned integer (0: all)");
  }
  return value;
}

// One KV record of a node, parsed into `out[field]` (null when absent) or
// its error into `errors[field]`.
template <typename Parser>
void add_record(json& out, json& errors, const char* field, const std::optional<catalog::KvEntry>& entry,
                Parser parse) {
  if (!entry) {
    out[field] = nullptr;
    return;
  }
  auto parsed = record_json(parse(entry->value));
  if (parsed.is_ok()) {
    out[field] = std::move(*parsed);
  } else {
    out[field] = nullptr;
    errors[field] = parsed.status().message();
  }
}

// A node with its deploy records. `lookup` finds a KV entry by key.
template <typename Lookup>
json deploy_node_json(const catalog::Node& node, Lookup lookup) {
  json out{{"node", node.name}, {"node_id", node.id}, {"address", node.address}, {"tags", node.tags.merged()}};
  json errors = json::object();
  add_record(out, errors, "state", lookup(records::state_key(node.name)), records::parse_node_state);
  add_record(out, errors, "result", lookup(records::result_key(node.name)), records::parse_node_result);
  add_record(out, errors, "facts", lookup(records::facts_key(node.name)), records::parse_node_facts);
  if (!errors.empty()) out["parse_errors"] = std::move(errors);
  return out;
}

// KV entries under `prefix`, by key, with the prefix's index and watch.
struct Folder {
  std::map<std::string, catalog::KvEntry> entries;
  catalog::Index index = 1;
};

Folder read_folder(const catalog::StateStore& store, std::string_view folder, catalog::WatchKeys& watch) {
  Folder out;
  auto listed = store.kv_list(folder_prefix(folder), &watch);
  out.index = listed.index;
  for (auto& entry : listed.value) out.entries.emplace(entry.key, std::move(entry));
  return out;
}

// Ansible's constructed plugin: anything outside [A-Za-z0-9_] becomes '_'.
std::string safe_group_name(const std::string& key, const std::string& value) {
  std::string name = key + "_" + value;
  for (char& c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!keep) c = '_';
  }
  return name;
}

}  // namespace

HandleResult handle_deploy_runs(Context& context) {
  auto limit = run_limit(context.request);
  if (!limit.is_ok()) return respond_status(limit.status());
  catalog::WatchKeys watch;
  const std::string prefix = runs_prefix();
  auto entries = context.core.store().kv_list(prefix, &watch);
  std::vector<json> runs;
  runs.reserve(entries.value.size());
  for (const auto& entry : entries.value) runs.push_back(run_json(entry, entry.key.substr(prefix.size())));
  std::sort(runs.begin(), runs.end(), newer);
  if (*limit != 0 && runs.size() > *limit) runs.resize(*limit);
  return finish_read(context, entries.index, watch, json(std::move(runs)));
}

HandleResult handle_deploy_run(Context& context) {
  const std::string& id = context.rest;
  if (id.empty() || id.find('/') != std::string::npos) return respond_error(400, "Invalid run ID \"" + id + "\"");
  catalog::WatchKeys watch;
  auto entry = context.core.store().kv_get(records::run_key(id), &watch);
  if (!entry.value) return finish_read(context, entry.index, watch, 404, "Run \"" + id + "\" not found");
  return finish_read(context, entry.index, watch, run_json(*entry.value, id));
}

HandleResult handle_deploy_nodes(Context& context) {
  const auto& store = context.core.store();
  catalog::WatchKeys watch;
  auto nodes = store.nodes(&watch);
  catalog::Index index = nodes.index;
  Folder states = read_folder(store, "state", watch);
  Folder results = read_folder(store, "results", watch);
  Folder facts = read_folder(store, "facts", watch);
  index = std::max({index, states.index, results.index, facts.index});
  auto lookup = [&](const std::string& key) -> std::optional<catalog::KvEntry> {
    for (const Folder* folder : {&states, &results, &facts}) {
      if (auto it = folder->entries.find(key); it != folder->entries.end()) return it->second;
    }
    return std::nullopt;
  };
  json body = json::array();
  for (const auto& node : nodes.value) body.push_back(deploy_node_json(node, lookup));
  return finish_read(context, index, watch, body);
}

HandleResult handle_deploy_node(Context& context) {
  const std::string& name = context.rest;
  if (name.empty() || name.find('/') != std::string::npos) return respond_error(400, "Invalid node name \"" + name + "\"");
  const auto& store = context.core.store();
  catalog::WatchKeys watch;
  auto node = store.node(name, &watch);
  catalog::Index index = node.index;
  auto lookup = [&](const std::string& key) -> std::optional<catalog::KvEntry> {
    auto entry = store.kv_get(key, &watch);
    index = std::max(index, entry.index);
    return entry.value;
  };
  if (!node.value) return finish_read(context, index, watch, 404, "Node \"" + name + "\" not found");
  json body = deploy_node_json(node.value->node, lookup);
  return finish_read(context, index, watch, body);
}

HandleResult handle_inventory(Context& context) {
  const auto& store = context.core.store();
  catalog::WatchKeys watch;
  auto nodes = store.nodes(&watch);
  Folder facts = read_folder(store, "facts", watch);
  json hosts = json::array();
  json hostvars = json::object();
  std::map<std::string, std::vector<std::string>> groups;
  for (const auto& node : nodes.value) {
    hosts.push_back(node.name);
    const catalog::TagMap tags = node.tags.merged();
    json vars{{"ansible_host", node.address}, {"roster_node_id", node.id}, {"roster_tags", tags},
              {"roster_facts", json::object()}};
    if (auto it = facts.entries.find(records::facts_key(node.name)); it != facts.entries.end()) {
      auto parsed = record_json(records::parse_node_facts(it->second.value));
      if (parsed.is_ok()) {
        vars["roster_facts"] = std::move(*parsed);
      } else {
        vars["roster_facts_error"] = parsed.status().message();
      }
    }
    hostvars[node.name] = std::move(vars);
    for (const auto& [key, value] : tags) {
      auto& members = groups[safe_group_name(key, value)];
      // Two tags can make one name (role=a-b, role=a_b), as with Ansible.
      if (members.empty() || members.back() != node.name) members.push_back(node.name);
    }
  }
  json body = json::object();
  json children = json::array();
  for (auto& [group, members] : groups) {
    children.push_back(group);
    body[group] = json{{"hosts", members}};
  }
  body["all"] = json{{"hosts", std::move(hosts)}, {"children", std::move(children)}};
  body["_meta"] = json{{"hostvars", std::move(hostvars)}};
  return finish_read(context, std::max(nodes.index, facts.index), watch, body);
}

}  // namespace roster::http
