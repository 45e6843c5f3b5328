// /v1/agent/*: this agent, its own services and checks.

#include <chrono>

#include "agent/core/membership.h"
#include "agent/http/api_internal.h"
#include "common/duration.h"

namespace roster::http {

namespace {

Result<local::CheckDefinition> parse_check_definition(const json& object) {
  if (!object.is_object()) return Status::invalid_argument("Check must be an object");
  local::CheckDefinition check;
  auto id = string_field(object, "ID");
  if (id.is_ok() && id->empty()) id = string_field(object, "CheckID");
  auto name = string_field(object, "Name");
  auto notes = string_field(object, "Notes");
  auto service_id = string_field(object, "ServiceID");
  auto status = string_field(object, "Status");
  auto http_url = string_field(object, "HTTP");
  auto method = string_field(object, "Method");
  auto tcp = string_field(object, "TCP");
  auto script = string_field(object, "Script");
  for (const auto* part : {&id, &name, &notes, &service_id, &status, &http_url, &method, &tcp, &script}) {
    if (!part->is_ok()) return part->status();
  }
  check.id = *id;
  check.name = *name;
  check.notes = *notes;
  check.service_id = *service_id;
  check.status = *status;
  if (!check.status.empty() && !catalog::is_valid_check_status(check.status)) {
    return Status::invalid_argument("Invalid check status \"" + check.status + "\"");
  }
  check.http = *http_url;
  if (!method->empty()) check.http_method = *method;
  check.tcp = *tcp;
  if (const json* args = field(object, "Args"); args != nullptr && !args->is_null()) {
    if (!args->is_array()) return Status::invalid_argument("Args must be a list of strings");
    for (const auto& arg : *args) {
      if (!arg.is_string()) return Status::invalid_argument("Args must be a list of strings");
      check.args.push_back(arg.get<std::string>());
    }
  } else if (!script->empty()) {
    check.args = {"/bin/sh", "-c", *script};
  }
  if (const json* headers = field(object, "Header"); headers != nullptr && !headers->is_null()) {
    if (!headers->is_object()) return Status::invalid_argument("Header must be an object of string lists");
    for (auto it = headers->begin(); it != headers->end(); ++it) {
      if (it->is_string()) {
        check.http_headers[it.key()].push_back(it->get<std::string>());
        continue;
      }
      if (!it->is_array()) return Status::invalid_argument("Header must be an object of string lists");
      for (const auto& value : *it) {
        if (!value.is_string()) return Status::invalid_argument("Header must be an object of string lists");
        check.http_headers[it.key()].push_back(value.get<std::string>());
      }
    }
  }
  if (const json* skip = field(object, "TLSSkipVerify"); skip != nullptr && skip->is_boolean()) {
    check.tls_skip_verify = skip->get<bool>();
  }
  auto ttl = duration_field(object, "TTL", std::chrono::nanoseconds(0));
  auto interval = duration_field(object, "Interval", std::chrono::seconds(10));
  auto timeout = duration_field(object, "Timeout", std::chrono::seconds(10));
  auto deregister = duration_field(object, "DeregisterCriticalServiceAfter", std::chrono::nanoseconds(0));
  for (const auto* part : {&ttl, &interval, &timeout, &deregister}) {
    if (!part->is_ok()) return part->status();
  }
  if (ttl->count() > 0) check.ttl = *ttl;
  check.interval = *interval;
  check.timeout = *timeout;
  if (deregister->count() > 0) check.deregister_critical_service_after = *deregister;
  int kinds = static_cast<int>(check.ttl.has_value()) + static_cast<int>(!check.http.empty()) +
              static_cast<int>(!check.tcp.empty()) + static_cast<int>(!check.args.empty());
  if (kinds > 1) return Status::invalid_argument("A check takes only one of TTL, HTTP, TCP and Args");
  if (check.type() != "ttl" && !check.type().empty() && check.interval.count() <= 0) {
    return Status::invalid_argument("Interval must be positive for " + check.type() + " checks");
  }
  return check;
}

Result<local::ServiceDefinition> parse_service_definition(const json& object) {
  local::ServiceDefinition service;
  auto id = string_field(object, "ID");
  auto name = string_field(object, "Name");
  if (name.is_ok() && name->empty()) name = string_field(object, "Service");
  auto address = string_field(object, "Address");
  for (const auto* part : {&id, &name, &address}) {
    if (!part->is_ok()) return part->status();
  }
  service.id = *id;
  service.name = *name;
  service.address = *address;
  if (const json* tags = field(object, "Tags"); tags != nullptr && !tags->is_null()) {
    if (!tags->is_array()) return Status::invalid_argument("Tags must be a list of strings");
    for (const auto& tag : *tags) {
      if (!tag.is_string()) return Status::invalid_argument("Tags must be a list of strings");
      service.tags.push_back(tag.get<std::string>());
    }
  }
  if (const json* meta = field(object, "Meta"); meta != nullptr && !meta->is_null()) {
    if (!meta->is_object()) return Status::invalid_argument("Meta must be an object of strings");
    for (auto it = meta->begin(); it != meta->end(); ++it) {
      if (!it->is_string()) return Status::invalid_argument("Meta values must be strings");
      service.meta[it.key()] = it->get<std::string>();
    }
  }
  if (const json* port = field(object, "Port"); port != nullptr && !port->is_null()) {
    if (!port->is_number_integer()) return Status::invalid_argument("Port must be an integer");
    auto value = port->get<int64_t>();
    if (value < 0 || value > 65535) return Status::invalid_argument("Port must be from 0 to 65535");
    service.port = static_cast<int>(value);
  }
  if (const json* override_tags = field(object, "EnableTagOverride"); override_tags && override_tags->is_boolean()) {
    service.enable_tag_override = override_tags->get<bool>();
  }
  if (const json* check = field(object, "Check"); check != nullptr && !check->is_null()) {
    auto parsed = parse_check_definition(*check);
    if (!parsed.is_ok()) return parsed.status();
    service.checks.push_back(std::move(*parsed));
  }
  if (const json* checks = field(object, "Checks"); checks != nullptr && !checks->is_null()) {
    if (!checks->is_array()) return Status::invalid_argument("Checks must be a list");
    for (const auto& check : *checks) {
      auto parsed = parse_check_definition(check);
      if (!parsed.is_ok()) return parsed.status();
      service.checks.push_back(std::move(*parsed));
    }
  }
  return service;
}

json member_json(const agent::AgentCore& core) {
  const auto& identity = core.identity();
  return json{{"Name", identity.name},
              {"Addr", identity.address},
              {"Port", 8301},
              {"Tags", core.merged_tags()},
              {"Status", 1},
              {"ProtocolMin", 1},
              {"ProtocolMax", 5},
              {"ProtocolCur", 2},
              {"DelegateMin", 2},
              {"DelegateMax", 5},
              {"DelegateCur", 4}};
}

// Runs a change to this agent's own state, answering an empty 200 once the
// catalog has it.
HandleResult agent_change(Context& context, std::function<void(agent::StatusDone)> change) {
  return run_async(context, [change = std::move(change)](Respond respond_with) {
    change([respond_with](Status status) {
      respond_with(status.is_ok() ? HttpResponse::json(200, "") : status_answer(status));
    });
  });
}

HandleResult check_ttl(Context& context, const std::string& status) {
  std::string output = context.request.param("note").value_or("");
  return agent_change(context, [&core = context.core, id = context.rest, status, output](agent::StatusDone done) {
    core.update_ttl_check(id, status, output, std::move(done));
  });
}

}  // namespace

HandleResult handle_agent_self(Context& context) {
  const auto& identity = context.core.identity();
  const agent::CatalogBackend& catalog = context.core.catalog();
  const catalog::StateStore* store = catalog.replica();
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(context.core.clock().now() - context.core.started_at());
  json body{{"Config",
             {{"Datacenter", identity.datacenter},
              {"NodeName", identity.name},
              {"NodeID", identity.id},
              {"Server", identity.server},
              {"Revision", ""},
              {"Version", context.options.version},
              {"AdvertiseAddr", identity.address},
              {"ClientAddr", identity.http_address}}},
            {"Member", context.core.membership() != nullptr
                           ? gossip_member_json(context.core.membership()->local_member())
                           : member_json(context.core)},
            {"Meta", context.core.merged_tags()},
            {"Stats",
             {{"agent",
               {{"services", std::to_string(context.core.local_services().size())},
                {"checks", std::to_string(context.core.local_checks().size())},
                {"blocking_watchers", std::to_string(context.core.watch_hub().waiter_count())}}},
              {"raft",
               {{"state", !identity.server ? "Client" : catalog.is_leader() ? "Leader" : "Follower"},
                {"last_log_index", std::to_string(store != nullptr ? store->last_index() : 0)}}},
              {"runtime", {{"uptime", format_go_duration(uptime)}}}}}};
  if (const agent::Membership* membership = context.core.membership(); membership != nullptr) {
    body["Stats"]["serf_lan"] = membership->stats();
  }
  if (context.options.extra_stats) {
    for (const auto& [section, values] : context.options.extra_stats()) body["Stats"][section] = values;
  }
  return respond_json(body);
}

HandleResult handle_agent_members(Context& context) {
  return respond_json(json::array({member_json(context.core)}));
}

HandleResult handle_agent_services(Context& context) {
  json body = json::object();
  for (const auto& [id, service] : context.core.local_services()) {
    catalog::Service view;
    view.id = service.definition.id;
    view.name = service.definition.name;
    view.tags = service.definition.tags;
    view.address = service.definition.address;
    view.port = service.definition.port;
    view.meta = service.definition.meta;
    view.enable_tag_override = service.definition.enable_tag_override;
    json entry = agent_service_json(view);
    entry.erase("CreateIndex");
    entry.erase("ModifyIndex");
    body[id] = entry;
  }
  return respond_json(body);
}

// The agent's own checks as it holds them: a client agent has no catalog to
// look them up in, and the agent's view is the one it syncs from.
HandleResult handle_agent_checks(Context& context) {
  json body = json::object();
  const auto& node = context.core.identity().name;
  const auto& services = context.core.local_services();
  for (const auto& [id, check] : context.core.local_checks()) {
    const local::CheckDefinition& definition = check.definition;
    std::string service_name;
    std::vector<std::string> service_tags;
    if (auto service = services.find(definition.service_id); service != services.end()) {
      service_name = service->second.definition.name;
      service_tags = service->second.definition.tags;
    }
    std::string type = definition.type();
    if (id == "_node_maintenance" || id.starts_with("_service_maintenance:")) type = "maintenance";
    const bool timed = !type.empty() && type != "ttl" && type != "maintenance";
    body[id] = json{{"Node", node},
                    {"CheckID", id},
                    {"Name", definition.name},
                    {"Status", check.status},
                    {"Notes", definition.notes},
                    {"Output", check.output},
                    {"ServiceID", definition.service_id},
                    {"ServiceName", service_name},
                    {"ServiceTags", service_tags},
                    {"Type", type},
                    {"Definition",
                     json{{"Interval", timed ? format_go_duration(definition.interval) : ""},
                          {"Timeout", timed ? format_go_duration(definition.timeout) : ""}}}};
  }
  return respond_json(body);
}

HandleResult handle_agent_service_register(Context& context) {
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  auto service = parse_service_definition(*body);
  if (!service.is_ok()) return respond_status(service.status());
  return agent_change(context, [&core = context.core, service = std::move(*service)](agent::StatusDone done) mutable {
    core.register_service(std::move(service), std::move(done));
  });
}

HandleResult handle_agent_service_deregister(Context& context) {
  return agent_change(context, [&core = context.core, id = context.rest](agent::StatusDone done) {
    core.deregister_service(id, std::move(done));
  });
}

HandleResult handle_agent_service_maintenance(Context& context) {
  auto enable = context.request.param("enable");
  if (!enable || (*enable != "true" && *enable != "false")) {
    return respond_error(400, "Missing value for enable: use enable=true or enable=false");
  }
  return agent_change(context, [&core = context.core, id = context.rest, enabled = *enable == "true",
                                reason = context.request.param("reason").value_or("")](agent::StatusDone done) {
    core.set_service_maintenance(id, enabled, reason, std::move(done));
  });
}

HandleResult handle_agent_check_register(Context& context) {
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  auto check = parse_check_definition(*body);
  if (!check.is_ok()) return respond_status(check.status());
  return agent_change(context, [&core = context.core, check = std::move(*check)](agent::StatusDone done) mutable {
    core.register_check(std::move(check), std::move(done));
  });
}

HandleResult handle_agent_check_deregister(Context& context) {
  return agent_change(context, [&core = context.core, id = context.rest](agent::StatusDone done) {
    core.deregister_check(id, std::move(done));
  });
}

HandleResult handle_agent_check_pass(Context& context) { return check_ttl(context, catalog::kPassing); }
HandleResult handle_agent_check_warn(Context& context) { return check_ttl(context, catalog::kWarning); }
HandleResult handle_agent_check_fail(Context& context) { return check_ttl(context, catalog::kCritical); }

HandleResult handle_agent_check_update(Context& context) {
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  auto status = string_field(*body, "Status");
  auto output = string_field(*body, "Output");
  if (!status.is_ok()) return respond_status(status.status());
  if (!output.is_ok()) return respond_status(output.status());
  if (!catalog::is_valid_check_status(*status)) {
    return respond_error(400, "Invalid check status \"" + *status + "\"");
  }
  return agent_change(context, [&core = context.core, id = context.rest, status = *status,
                                output = *output](agent::StatusDone done) {
    core.update_ttl_check(id, status, output, std::move(done));
  });
}

HandleResult handle_agent_maintenance(Context& context) {
  auto enable = context.request.param("enable");
  if (!enable || (*enable != "true" && *enable != "false")) {
    return respond_error(400, "Missing value for enable: use enable=true or enable=false");
  }
  return agent_change(context, [&core = context.core, enabled = *enable == "true",
                                reason = context.request.param("reason").value_or("")](agent::StatusDone done) {
    core.set_node_maintenance(enabled, reason, std::move(done));
  });
}

}  // namespace roster::http
