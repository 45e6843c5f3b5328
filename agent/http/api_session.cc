// /v1/session/*, /v1/status/* and Roster's own /v1/roster/node/<n>/tags.

#include "agent/http/api_internal.h"

namespace roster::http {

namespace {

Result<std::vector<std::string>> check_list(const json& object, std::string_view name, bool& present) {
  std::vector<std::string> out;
  const json* value = field(object, name);
  present = value != nullptr && !value->is_null();
  if (!present) return out;
  if (!value->is_array()) return Status::invalid_argument(std::string(name) + " must be a list of check IDs");
  for (const auto& item : *value) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (item.is_object()) {  // ServiceChecks: [{"ID": "..."}]
      auto id = string_field(item, "ID");
      if (!id.is_ok() || id->empty()) return Status::invalid_argument(std::string(name) + " entries need an ID");
      out.push_back(*id);
    } else {
      return Status::invalid_argument(std::string(name) + " must be a list of check IDs");
    }
  }
  return out;
}

json session_list_json(const std::vector<catalog::Session>& sessions) {
  json body = json::array();
  for (const auto& session : sessions) body.push_back(session_json(session));
  return body;
}

}  // namespace

HandleResult handle_session_create(Context& context) {
  auto body = parse_json_body(context.request, true);
  if (!body.is_ok()) return respond_status(body.status());
  catalog::Session session;
  auto name = string_field(*body, "Name");
  auto node = string_field(*body, "Node");
  auto behavior = string_field(*body, "Behavior");
  for (const auto* part : {&name, &node, &behavior}) {
    if (!part->is_ok()) return respond_status(part->status());
  }
  session.name = *name;
  session.node = *node;
  session.behavior = behavior->empty() ? "release" : *behavior;
  bool checks_present = false;
  bool node_checks_present = false;
  bool service_checks_present = false;
  auto checks = check_list(*body, "Checks", checks_present);
  auto node_checks = check_list(*body, "NodeChecks", node_checks_present);
  auto service_checks = check_list(*body, "ServiceChecks", service_checks_present);
  for (const auto* part : {&checks, &node_checks, &service_checks}) {
    if (!part->is_ok()) return respond_status(part->status());
  }
  session.node_checks = *checks;
  session.node_checks.insert(session.node_checks.end(), node_checks->begin(), node_checks->end());
  session.service_checks = *service_checks;
  // As in Consul: a session with no checks named is tied to the node's health.
  if (!checks_present && !node_checks_present && !service_checks_present) session.node_checks = {"serfHealth"};
  auto lock_delay = duration_field(*body, "LockDelay", std::chrono::seconds(15));
  auto ttl = duration_field(*body, "TTL", std::chrono::nanoseconds(0));
  if (!lock_delay.is_ok()) return respond_status(lock_delay.status());
  if (!ttl.is_ok()) return respond_status(ttl.status());
  // A number is nanoseconds, which is how Consul's Go client sends a
  // time.Duration, except that one below 1000 means seconds (Consul's
  // lockDelayMinThreshold), so {"LockDelay": 15} is 15 s. The store caps the
  // result at kMaxLockDelayNs.
  constexpr int64_t kSecondsBelow = 1000;
  if (const json* raw = field(*body, "LockDelay"); raw != nullptr && raw->is_number() && lock_delay->count() < kSecondsBelow) {
    *lock_delay = std::chrono::seconds(lock_delay->count());
  }
  session.lock_delay_ns = lock_delay->count();
  session.ttl_ns = ttl->count();
  // Consul keeps the TTL string as sent: "90s" comes back "90s", not "1m30s".
  if (const json* raw = field(*body, "TTL"); raw != nullptr && raw->is_string() && ttl->count() > 0) {
    session.ttl = raw->get<std::string>();
  }
  return run_async(context, [&core = context.core, session = std::move(session)](Respond respond_with) mutable {
    core.create_session(std::move(session), [respond_with](Result<std::string> id) {
      if (!id.is_ok()) {
        if (id.status().code() == StatusCode::invalid_argument || id.status().code() == StatusCode::not_found) {
          return respond_with(HttpResponse::error(400, id.status().message()));
        }
        return respond_with(status_answer(id.status()));
      }
      respond_with(HttpResponse::json(200, dump_json(json{{"ID", *id}})));
    });
  });
}

HandleResult handle_session_destroy(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing session");
  // Destroying a session that is already gone is done, as in Consul.
  return write_and_respond(context, catalog::DestroySession{context.rest}, [](const Result<catalog::Index>& result) {
    if (!result.is_ok() && result.status().code() == StatusCode::not_found) return HttpResponse::json(200, "true");
    return bool_answer(result, false);
  });
}

HandleResult handle_session_renew(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing session");
  if (!context.options.renew_session) return respond_error(500, "session TTLs are not run on this agent");
  auto session = context.options.renew_session(context.rest);
  if (!session.is_ok()) {
    if (session.status().code() != StatusCode::not_found) return respond_status(session.status());
    return respond(with_index_headers(HttpResponse::error(404, session.status().message()),
                                      context.core.store().last_index()));
  }
  return respond_json(json::array({session_json(*session)}));
}

HandleResult handle_session_info(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing session");
  catalog::WatchKeys watch;
  auto session = context.core.store().session(context.rest, &watch);
  json body = json::array();
  if (session.value) body.push_back(session_json(*session.value));
  return finish_read(context, session.index, watch, body);
}

HandleResult handle_session_list(Context& context) {
  catalog::WatchKeys watch;
  auto sessions = context.core.store().sessions(&watch);
  return finish_read(context, sessions.index, watch, session_list_json(sessions.value));
}

HandleResult handle_session_node(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing node name");
  catalog::WatchKeys watch;
  auto sessions = context.core.store().node_sessions(context.rest, &watch);
  return finish_read(context, sessions.index, watch, session_list_json(sessions.value));
}

HandleResult handle_status_leader(Context& context) { return respond_json(json(context.core.catalog().leader_address())); }

HandleResult handle_status_peers(Context& context) { return respond_json(json(context.core.catalog().peer_addresses())); }

// GET shows the node's three tag layers and the merged view; PUT with
// {"Set": {...}, "Remove": [...]} changes the operator layer.
HandleResult handle_roster_node_tags(Context& context) {
  const std::string suffix = "/tags";
  if (!context.rest.ends_with(suffix) || context.rest.size() == suffix.size()) {
    return respond_error(404, "Invalid URL path: use /v1/roster/node/<node>/tags");
  }
  std::string node_name = context.rest.substr(0, context.rest.size() - suffix.size());
  const auto& store = context.core.store();
  if (context.request.method == "GET") {
    catalog::WatchKeys watch;
    auto node = store.node(node_name, &watch);
    if (!node.value) return finish_read(context, node.index, watch, 404, "Node \"" + node_name + "\" not found");
    return finish_read(context, node.index, watch, tag_layers_json(node.value->node));
  }
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  catalog::UpdateTags update;
  update.node = node_name;
  update.layer = catalog::TagLayer::operator_layer;
  if (const json* set = field(*body, "Set"); set != nullptr && !set->is_null()) {
    if (!set->is_object()) return respond_error(400, "Set must be an object of strings");
    for (auto it = set->begin(); it != set->end(); ++it) {
      if (!it->is_string()) return respond_error(400, "Set." + it.key() + " must be a string");
      if (it.key().empty()) return respond_error(400, "Tag keys must not be empty");
      update.set[it.key()] = it->get<std::string>();
    }
  }
  if (const json* remove = field(*body, "Remove"); remove != nullptr && !remove->is_null()) {
    if (!remove->is_array()) return respond_error(400, "Remove must be a list of tag keys");
    for (const auto& key : *remove) {
      if (!key.is_string()) return respond_error(400, "Remove must be a list of tag keys");
      update.remove.push_back(key.get<std::string>());
    }
  }
  if (update.set.empty() && update.remove.empty()) return respond_error(400, "Nothing to do: give Set or Remove");
  return write_and_respond(context, std::move(update),
                           [&core = context.core, node_name](const Result<catalog::Index>& result) {
                             if (!result.is_ok()) return status_answer(result.status());
                             const catalog::Node* node = core.store().find_node(node_name);
                             if (node == nullptr) return HttpResponse::error(404, "Node \"" + node_name + "\" not found");
                             return HttpResponse::json(200, dump_json(tag_layers_json(*node)));
                           });
}

}  // namespace roster::http
