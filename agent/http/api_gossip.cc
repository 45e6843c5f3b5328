// The gossip pool's endpoints, in Consul's shapes: /v1/agent/members,
// /v1/agent/join/<addr>, /v1/agent/leave, /v1/agent/force-leave/<node>,
// /v1/operator/keyring. A join or leave takes network round trips; the
// handler starts it, parks on the watch hub like a blocking query, and
// answers when the operation's watch key fires.

#include <chrono>

#include "agent/core/membership.h"
#include "agent/http/api_internal.h"

namespace roster::http {

namespace {

constexpr auto kJoinTimeout = std::chrono::seconds(30);
constexpr auto kLeaveTimeout = std::chrono::seconds(15);
// Each member answers within the gossip TCP timeout (10 s); this covers them all.
constexpr auto kKeyringTimeout = std::chrono::seconds(30);

agent::Membership* membership_of(Context& context) { return context.core.membership(); }

// A JSON string literal, escaped as nlohmann::json escapes it.
void append_quoted(std::string& out, const std::string& text) {
  out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

HandleResult no_gossip() { return respond_error(503, "gossip is not running on this agent"); }

HandleResult wait_for(Context& context, std::string key, std::chrono::seconds timeout) {
  if (!context.blocking.deadline_set) {
    context.blocking.deadline = context.core.clock().now() + timeout;
    context.blocking.deadline_set = true;
  }
  HandleResult result;
  result.wait = BlockingWait{{std::move(key)}, context.blocking.deadline};
  return result;
}

}  // namespace

json gossip_member_json(const agent::MemberInfo& member) {
  return json{{"Name", member.name},
              {"Addr", member.ip},
              {"Port", member.port},
              {"Tags", member.tags},
              {"Status", static_cast<int>(member.status)},
              {"ProtocolMin", 1},
              {"ProtocolMax", 5},
              {"ProtocolCur", 2},
              {"DelegateMin", 2},
              {"DelegateMax", 5},
              {"DelegateCur", 4}};
}

// The same document as a json array of gossip_member_json(), written straight
// to text: a pool at max_members (20,000 members) would otherwise build
// 240,000 map nodes per request.
std::string gossip_members_text(const std::vector<agent::MemberInfo>& members) {
  std::string out;
  out.reserve(members.size() * 256 + 2);
  out += '[';
  for (size_t i = 0; i < members.size(); ++i) {
    const agent::MemberInfo& member = members[i];
    if (i > 0) out += ',';
    out += "{\"Addr\":";
    append_quoted(out, member.ip);
    out += ",\"DelegateCur\":4,\"DelegateMax\":5,\"DelegateMin\":2,\"Name\":";
    append_quoted(out, member.name);
    out += ",\"Port\":";
    out += std::to_string(member.port);
    out += ",\"ProtocolCur\":2,\"ProtocolMax\":5,\"ProtocolMin\":1,\"Status\":";
    out += std::to_string(static_cast<int>(member.status));
    out += ",\"Tags\":{";
    bool first = true;
    for (const auto& [key, value] : member.tags) {
      if (!first) out += ',';
      first = false;
      append_quoted(out, key);
      out += ':';
      append_quoted(out, value);
    }
    out += "}}";
  }
  out += ']';
  return out;
}

HandleResult handle_gossip_members(Context& context) {
  agent::Membership* membership = membership_of(context);
  if (membership == nullptr) return handle_agent_members(context);
  return respond(HttpResponse::json(200, gossip_members_text(membership->members())));
}

HandleResult handle_agent_join(Context& context) {
  agent::Membership* membership = membership_of(context);
  if (membership == nullptr) return no_gossip();
  if (context.request.param("wan").value_or("") == "1" || context.request.param("wan").value_or("") == "true") {
    return respond_error(400, "WAN join is not supported: Roster has one gossip pool per datacenter");
  }
  if (context.blocking.operation == 0) {
    if (context.rest.empty()) return respond_error(400, "Missing address: use /v1/agent/join/<address>");
    context.blocking.operation = membership->start_join({context.rest});
  }
  auto outcome = membership->take_join_outcome(context.blocking.operation);
  if (!outcome) {
    if (context.blocking.expired) return respond_error(500, "join " + context.rest + ": timed out");
    return wait_for(context, agent::join_watch_key(context.blocking.operation), kJoinTimeout);
  }
  if (outcome->joined == 0) {
    std::string message = "failed to join " + context.rest;
    for (const std::string& error : outcome->errors) message += "; " + error;
    return respond_error(500, message);
  }
  return respond(HttpResponse::json(200, ""));
}

HandleResult handle_agent_leave(Context& context) {
  agent::Membership* membership = membership_of(context);
  if (membership == nullptr) return no_gossip();
  membership->start_leave();  // a second call while leaving changes nothing
  if (!membership->leave_done() && !context.blocking.expired) {
    return wait_for(context, agent::kLeaveWatchKey, kLeaveTimeout);
  }
  return respond(HttpResponse::json(200, ""));
}

HandleResult handle_agent_force_leave(Context& context) {
  agent::Membership* membership = membership_of(context);
  if (membership == nullptr) return no_gossip();
  if (context.rest.empty()) return respond_error(400, "Missing node name: use /v1/agent/force-leave/<node>");
  Status status = membership->force_leave(context.rest);
  if (!status.is_ok()) return respond_status(status);
  return respond(HttpResponse::json(200, ""));
}

// Consul's keyring endpoint: the operation runs on every live member of the
// pool (a Serf query in Consul; a request to each member over encrypted TCP
// here), and the answer counts how many nodes hold each key.
HandleResult handle_operator_keyring(Context& context) {
  agent::Membership* membership = membership_of(context);
  if (membership == nullptr) return no_gossip();
  const std::string& method = context.request.method;
  const bool list = method == "GET" || method == "HEAD";
  if (context.blocking.operation == 0) {
    std::string key;
    if (!list) {
      auto body = parse_json_body(context.request, false);
      if (!body.is_ok()) return respond_status(body.status());
      auto field = string_field(*body, "Key");
      if (!field.is_ok()) return respond_status(field.status());
      if (field->empty()) return respond_error(400, "Missing Key: send {\"Key\": \"<base64 key>\"}");
      key = *field;
    }
    const auto op = list              ? agent::KeyringOperation::list
                    : method == "POST" ? agent::KeyringOperation::install
                    : method == "PUT"  ? agent::KeyringOperation::use
                                       : agent::KeyringOperation::remove;
    auto ticket = membership->start_keyring(op, key);
    if (!ticket.is_ok()) return respond_status(ticket.status());
    context.blocking.operation = *ticket;
  }
  auto outcome = membership->take_keyring_outcome(context.blocking.operation);
  if (!outcome) {
    if (context.blocking.expired) return respond_error(500, "keyring operation timed out waiting for members");
    return wait_for(context, agent::keyring_watch_key(context.blocking.operation), kKeyringTimeout);
  }
  if (list) {
    json entry{{"WAN", false},
               {"Datacenter", context.core.identity().datacenter},
               {"Segment", ""},
               {"Keys", outcome->keys},
               {"PrimaryKeys", outcome->primary_keys},
               {"NumNodes", outcome->num_nodes},
               {"NumResp", outcome->num_responses},
               {"NumErr", outcome->num_errors},
               {"Messages", outcome->messages}};
    return respond_json(json::array({entry}));
  }
  if (outcome->num_errors > 0) {
    std::string message = std::to_string(outcome->num_errors) + "/" + std::to_string(outcome->num_nodes) +
                          " nodes reported failure";
    for (const auto& [node, why] : outcome->messages) message += "; " + node + ": " + why;
    return respond_error(500, message);
  }
  return respond(HttpResponse::json(200, ""));
}

}  // namespace roster::http
