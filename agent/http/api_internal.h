#pragma once

// Shared pieces of the HTTP handlers. Private to agent/http.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "agent/catalog/state_store.h"
#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "common/status.h"

namespace roster::agent {
struct MemberInfo;
}

namespace roster::http {

using nlohmann::json;

struct Context {
  agent::AgentCore& core;
  const ApiOptions& options;
  const HttpRequest& request;
  BlockingState& blocking;
  uint64_t& jitter_state;
  PendingResponses& pending;
  std::string rest;  // the path after the route's prefix (a key, a service name, an id)
};

// Answers a read, or asks the adapter to wait when ?index= is at or past the
// data's index. Adds X-Consul-Index / KnownLeader / LastContact.
HandleResult finish_read(Context& context, catalog::Index index, const catalog::WatchKeys& watch, int status,
                         std::string body);
HandleResult finish_read(Context& context, catalog::Index index, const catalog::WatchKeys& watch, const json& body);
// Sets the blocking deadline from ?wait= (default_wait, capped at max_wait,
// plus jitter) unless it is set already. Errors: invalid_argument (bad wait).
Status start_blocking(Context& context);
// Any response, with the index headers every read carries (404s included).
HttpResponse with_index_headers(HttpResponse response, catalog::Index index);

// How long a request waits for its write to commit before it is answered
// 503 (the write may still apply, as with any write whose answer was lost).
inline constexpr std::chrono::seconds kWriteWait{30};


// Runs `work`, which must call its Respond exactly once (now or later), and
// parks the request until it does. The caller has validated the request: a
// parked request is resumed by Api::handle without calling the handler again.
HandleResult run_async(Context& context, std::function<void(Respond)> work,
                       std::chrono::milliseconds timeout = kWriteWait);
// The status of the response run_async's work leaves to say "go on and serve
// the request" (a ?consistent read whose leadership check passed).
inline constexpr int kProceed = 0;
// Writes `body` and answers with make(result) once it is applied (or failed).
HandleResult write_and_respond(Context& context, catalog::CommandBody body,
                               std::function<HttpResponse(Result<catalog::Index>)> make);
// The answer for a write whose outcome is true/false (KV, catalog writes):
// `true` once applied, `false` for conflict_is_false writes the store
// refused as a conflict, the error otherwise.
HttpResponse bool_answer(const Result<catalog::Index>& result, bool conflict_is_false);
HttpResponse status_answer(const Status& status);  // respond_status() as a response

// Serialises a response body; invalid UTF-8 in strings becomes U+FFFD.
std::string dump_json(const json& body);
HandleResult respond(HttpResponse response);
HandleResult respond_json(const json& body, int status = 200);
HandleResult respond_bool(bool value);
HandleResult respond_error(int status, std::string message);
HandleResult respond_status(const Status& status);  // maps a Status to 4xx/5xx

// Parses a JSON object body. Empty bodies give an empty object when allowed.
Result<json> parse_json_body(const HttpRequest& request, bool allow_empty);
// Case-insensitive lookup of an object key, as Consul's decoder does.
const json* field(const json& object, std::string_view name);
Result<std::string> string_field(const json& object, std::string_view name);  // "" when absent
// Go duration text, or a number of nanoseconds (as Consul accepts both).
Result<std::chrono::nanoseconds> duration_field(const json& object, std::string_view name,
                                                std::chrono::nanoseconds fallback);

// Keys are UTF-8 text without control bytes, at most max_bytes long;
// anything else is refused before it reaches the store.
Status validate_kv_key(const std::string& key, size_t max_bytes);

// Fields of Consul's catalog JSON, shared by /v1/catalog/register and /v1/txn.
Result<std::map<std::string, std::string>> string_map_field(const json& object, std::string_view name);
Result<std::vector<std::string>> string_list_field(const json& object, std::string_view name);
// A Service object (ID, Service, Tags, Address, Meta, Port, EnableTagOverride)
// on `node`. The name is required only when require_name is set.
Result<catalog::Service> parse_catalog_service(const json& object, const std::string& node, bool require_name);
// A Check object (CheckID or Name, Status, Notes, Output, ServiceID) on `node`.
Result<catalog::Check> parse_catalog_check(const json& object, const std::string& node);

// ?node-meta=k:v filters; all must match the node's merged tags.
Result<catalog::TagMap> node_meta_filter(const HttpRequest& request);
bool node_matches(const catalog::Node& node, const catalog::TagMap& filter);

// Consul JSON shapes.
json node_json(const catalog::Node& node);
json catalog_service_json(const catalog::Node& node, const catalog::Service& service);
json agent_service_json(const catalog::Service& service);
json check_json(const catalog::Check& check);
json kv_json(const catalog::KvEntry& entry);
json session_json(const catalog::Session& session);
json tag_layers_json(const catalog::Node& node);
json gossip_member_json(const agent::MemberInfo& member);
// A JSON array of gossip_member_json() for each member, the same document,
// written without building it as json values (see api_gossip.cc).
std::string gossip_members_text(const std::vector<agent::MemberInfo>& members);

// Endpoint families (one file each).
HandleResult handle_kv(Context& context);
HandleResult handle_txn(Context& context);
HandleResult handle_catalog_register(Context& context);
HandleResult handle_catalog_deregister(Context& context);
HandleResult handle_catalog_datacenters(Context& context);
HandleResult handle_catalog_nodes(Context& context);
HandleResult handle_catalog_services(Context& context);
HandleResult handle_catalog_service(Context& context);
HandleResult handle_catalog_node(Context& context);
HandleResult handle_health_service(Context& context);
HandleResult handle_health_checks(Context& context);
HandleResult handle_health_node(Context& context);
HandleResult handle_health_state(Context& context);
HandleResult handle_agent_self(Context& context);
HandleResult handle_agent_metrics(Context& context);  // api_metrics.cc
HandleResult handle_agent_members(Context& context);
HandleResult handle_agent_services(Context& context);
HandleResult handle_agent_checks(Context& context);
HandleResult handle_agent_service_register(Context& context);
HandleResult handle_agent_service_deregister(Context& context);
HandleResult handle_agent_service_maintenance(Context& context);
HandleResult handle_agent_check_register(Context& context);
HandleResult handle_agent_check_deregister(Context& context);
HandleResult handle_agent_check_pass(Context& context);
HandleResult handle_agent_check_warn(Context& context);
HandleResult handle_agent_check_fail(Context& context);
HandleResult handle_agent_check_update(Context& context);
HandleResult handle_agent_maintenance(Context& context);
HandleResult handle_session_create(Context& context);
HandleResult handle_session_destroy(Context& context);
HandleResult handle_session_renew(Context& context);
HandleResult handle_session_info(Context& context);
HandleResult handle_session_list(Context& context);
HandleResult handle_session_node(Context& context);
HandleResult handle_status_leader(Context& context);
HandleResult handle_status_peers(Context& context);
HandleResult handle_roster_node_tags(Context& context);
// Deploy status and the Ansible inventory (api_deploy.cc).
HandleResult handle_deploy_runs(Context& context);
HandleResult handle_deploy_run(Context& context);
HandleResult handle_deploy_nodes(Context& context);
HandleResult handle_deploy_node(Context& context);
HandleResult handle_inventory(Context& context);
// The gossip pool (api_gossip.cc).
HandleResult handle_gossip_members(Context& context);
HandleResult handle_agent_join(Context& context);
HandleResult handle_agent_leave(Context& context);
HandleResult handle_agent_force_leave(Context& context);
HandleResult handle_operator_keyring(Context& context);
// Operating a server cluster (api_operator.cc).
HandleResult handle_operator_raft_configuration(Context& context);
HandleResult handle_operator_raft_peer(Context& context);
HandleResult handle_operator_raft_transfer_leader(Context& context);
HandleResult handle_operator_autopilot_health(Context& context);
HandleResult handle_snapshot(Context& context);
// User events (api_event.cc).
HandleResult handle_event_fire(Context& context);
HandleResult handle_event_list(Context& context);

}  // namespace roster::http
