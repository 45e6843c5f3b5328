// /v1/catalog/* and /v1/health/*: the catalog's read side and its register API.

#include <algorithm>

#include "agent/http/api_internal.h"

namespace roster::http {

namespace {

bool has_tag(const catalog::Service& service, const std::vector<std::string>& tags) {
  for (const auto& tag : tags) {
    if (std::find(service.tags.begin(), service.tags.end(), tag) == service.tags.end()) return false;
  }
  return true;
}

}  // namespace

Result<std::map<std::string, std::string>> string_map_field(const json& object, std::string_view name) {
  std::map<std::string, std::string> out;
  const json* value = field(object, name);
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_object()) return Status::invalid_argument(std::string(name) + " must be an object of strings");
  for (auto it = value->begin(); it != value->end(); ++it) {
    if (!it->is_string()) return Status::invalid_argument(std::string(name) + "." + it.key() + " must be a string");
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

Result<std::vector<std::string>> string_list_field(const json& object, std::string_view name) {
  std::vector<std::string> out;
  const json* value = field(object, name);
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_array()) return Status::invalid_argument(std::string(name) + " must be a list of strings");
  for (const auto& item : *value) {
    if (!item.is_string()) return Status::invalid_argument(std::string(name) + " must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<catalog::Check> parse_catalog_check(const json& object, const std::string& node) {
  if (!object.is_object()) return Status::invalid_argument("Check must be an object");
  catalog::Check check;
  check.node = node;
  auto id = string_field(object, "CheckID");
  auto name = string_field(object, "Name");
  auto notes = string_field(object, "Notes");
  auto status = string_field(object, "Status");
  auto service_id = string_field(object, "ServiceID");
  auto output = string_field(object, "Output");
  for (const auto* part : {&id, &name, &notes, &status, &service_id, &output}) {
    if (!part->is_ok()) return part->status();
  }
  check.check_id = id->empty() ? *name : *id;
  check.name = name->empty() ? check.check_id : *name;
  if (check.check_id.empty()) return Status::invalid_argument("Check is missing CheckID and Name");
  check.notes = *notes;
  check.status = status->empty() ? catalog::kCritical : *status;
  if (!catalog::is_valid_check_status(check.status)) {
    return Status::invalid_argument("Invalid check status \"" + check.status + "\"");
  }
  check.service_id = *service_id;
  check.output = *output;
  return check;
}

Result<catalog::Service> parse_catalog_service(const json& object, const std::string& node, bool require_name) {
  if (!object.is_object()) return Status::invalid_argument("Service must be an object");
  catalog::Service service;
  service.node = node;
  auto id = string_field(object, "ID");
  auto name = string_field(object, "Service");
  auto address = string_field(object, "Address");
  if (!id.is_ok() || !name.is_ok() || !address.is_ok()) {
    return Status::invalid_argument("Service ID, Service and Address must be strings");
  }
  auto tags = string_list_field(object, "Tags");
  if (!tags.is_ok()) return tags.status();
  auto meta = string_map_field(object, "Meta");
  if (!meta.is_ok()) return meta.status();
  if (require_name && name->empty()) return Status::invalid_argument("Must provide service name with ID");
  service.name = *name;
  service.id = id->empty() ? *name : *id;
  service.address = *address;
  service.tags = *tags;
  service.meta = *meta;
  if (const json* port = field(object, "Port"); port != nullptr && !port->is_null()) {
    if (!port->is_number_integer() || port->get<int64_t>() < 0 || port->get<int64_t>() > 65535) {
      return Status::invalid_argument("Service Port must be an integer from 0 to 65535");
    }
    service.port = port->get<int>();
  }
  if (const json* override_tags = field(object, "EnableTagOverride"); override_tags && override_tags->is_boolean()) {
    service.enable_tag_override = override_tags->get<bool>();
  }
  return service;
}

HandleResult handle_catalog_register(Context& context) {
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  const json& document = *body;
  catalog::RegisterNode command;
  auto node_name = string_field(document, "Node");
  auto node_id = string_field(document, "ID");
  auto address = string_field(document, "Address");
  auto datacenter = string_field(document, "Datacenter");
  for (const auto* part : {&node_name, &node_id, &address, &datacenter}) {
    if (!part->is_ok()) return respond_status(part->status());
  }
  if (node_name->empty()) return respond_error(400, "Must supply node");
  if (!datacenter->empty() && *datacenter != context.core.identity().datacenter) {
    return respond_error(500, "No path to datacenter");
  }
  const json* skip = field(document, "SkipNodeUpdate");
  command.skip_node_update = skip != nullptr && skip->is_boolean() && skip->get<bool>();
  if (address->empty() && !command.skip_node_update) return respond_error(400, "Must supply address");
  command.node.name = *node_name;
  command.node.id = *node_id;
  command.node.address = *address;
  command.node.datacenter = context.core.identity().datacenter;
  auto tagged = string_map_field(document, "TaggedAddresses");
  if (!tagged.is_ok()) return respond_status(tagged.status());
  command.node.tagged_addresses = *tagged;
  if (field(document, "NodeMeta") != nullptr && !field(document, "NodeMeta")->is_null()) {
    auto meta = string_map_field(document, "NodeMeta");
    if (!meta.is_ok()) return respond_status(meta.status());
    command.operator_tags = *meta;
  }
  if (const json* service_json = field(document, "Service"); service_json != nullptr && !service_json->is_null()) {
    auto service = parse_catalog_service(*service_json, *node_name, /*require_name=*/true);
    if (!service.is_ok()) return respond_status(service.status());
    command.service = std::move(service).value();
  }
  std::vector<const json*> check_documents;
  if (const json* check = field(document, "Check"); check != nullptr && !check->is_null()) check_documents.push_back(check);
  if (const json* checks = field(document, "Checks"); checks != nullptr && !checks->is_null()) {
    if (!checks->is_array()) return respond_error(400, "Checks must be a list");
    for (const auto& check : *checks) check_documents.push_back(&check);
  }
  for (const json* check_document : check_documents) {
    auto check = parse_catalog_check(*check_document, *node_name);
    if (!check.is_ok()) return respond_status(check.status());
    command.checks.push_back(std::move(*check));
  }
  return write_and_respond(context, std::move(command),
                           [](const Result<catalog::Index>& result) { return bool_answer(result, false); });
}

HandleResult handle_catalog_deregister(Context& context) {
  auto body = parse_json_body(context.request, false);
  if (!body.is_ok()) return respond_status(body.status());
  auto node = string_field(*body, "Node");
  auto service_id = string_field(*body, "ServiceID");
  auto check_id = string_field(*body, "CheckID");
  for (const auto* part : {&node, &service_id, &check_id}) {
    if (!part->is_ok()) return respond_status(part->status());
  }
  if (node->empty()) return respond_error(400, "Must supply node");
  return write_and_respond(context, catalog::DeregisterNode{*node, *service_id, *check_id},
                           [](const Result<catalog::Index>& result) {
                             // Already gone is done, as in Consul.
                             if (!result.is_ok() && result.status().code() == StatusCode::not_found) {
                               return HttpResponse::json(200, "true");
                             }
                             return bool_answer(result, false);
                           });
}

HandleResult handle_catalog_datacenters(Context& context) {
  return respond_json(json::array({context.core.identity().datacenter}));
}

HandleResult handle_catalog_nodes(Context& context) {
  auto filter = node_meta_filter(context.request);
  if (!filter.is_ok()) return respond_status(filter.status());
  catalog::WatchKeys watch;
  auto nodes = context.core.store().nodes(&watch);
  json body = json::array();
  for (const auto& node : nodes.value) {
    if (node_matches(node, *filter)) body.push_back(node_json(node));
  }
  return finish_read(context, nodes.index, watch, body);
}

HandleResult handle_catalog_services(Context& context) {
  auto filter = node_meta_filter(context.request);
  if (!filter.is_ok()) return respond_status(filter.status());
  catalog::WatchKeys watch;
  const auto& store = context.core.store();
  auto services = store.services(&watch);
  if (filter->empty()) return finish_read(context, services.index, watch, json(services.value));
  json body = json::object();
  for (const auto& [name, tags] : services.value) {
    auto instances = store.service_instances(name);
    for (const auto& instance : instances.value) {
      if (node_matches(instance.node, *filter)) {
        body[name] = tags;
        break;
      }
    }
  }
  watch.insert(catalog::watch_key::kNodes);
  return finish_read(context, std::max(services.index, store.nodes().index), watch, body);
}

HandleResult handle_catalog_service(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing service name");
  auto filter = node_meta_filter(context.request);
  if (!filter.is_ok()) return respond_status(filter.status());
  auto tags = context.request.params("tag");
  catalog::WatchKeys watch;
  auto instances = context.core.store().service_instances(context.rest, &watch);
  json body = json::array();
  for (const auto& instance : instances.value) {
    if (node_matches(instance.node, *filter) && has_tag(instance.service, tags)) {
      body.push_back(catalog_service_json(instance.node, instance.service));
    }
  }
  return finish_read(context, instances.index, watch, body);
}

HandleResult handle_catalog_node(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing node name");
  catalog::WatchKeys watch;
  auto node = context.core.store().node(context.rest, &watch);
  // Consul answers a node it does not know with 200 and `null`, not a 404.
  if (!node.value) return finish_read(context, node.index, watch, json(nullptr));
  json services = json::object();
  for (const auto& service : node.value->services) services[service.id] = agent_service_json(service);
  return finish_read(context, node.index, watch, json{{"Node", node_json(node.value->node)}, {"Services", services}});
}

HandleResult handle_health_service(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing service name");
  auto filter = node_meta_filter(context.request);
  if (!filter.is_ok()) return respond_status(filter.status());
  auto tags = context.request.params("tag");
  bool passing_only = context.request.flag("passing");
  catalog::WatchKeys watch;
  auto entries = context.core.store().service_health(context.rest, &watch);
  json body = json::array();
  for (const auto& entry : entries.value) {
    if (!node_matches(entry.node, *filter) || !has_tag(entry.service, tags)) continue;
    if (passing_only && std::any_of(entry.checks.begin(), entry.checks.end(),
                                    [](const catalog::Check& check) { return check.status != catalog::kPassing; })) {
      continue;
    }
    json checks = json::array();
    for (const auto& check : entry.checks) checks.push_back(check_json(check));
    body.push_back(json{{"Node", node_json(entry.node)}, {"Service", agent_service_json(entry.service)}, {"Checks", checks}});
  }
  return finish_read(context, entries.index, watch, body);
}

HandleResult handle_health_checks(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing service name");
  catalog::WatchKeys watch;
  auto checks = context.core.store().service_checks(context.rest, &watch);
  json body = json::array();
  for (const auto& check : checks.value) body.push_back(check_json(check));
  return finish_read(context, checks.index, watch, body);
}

HandleResult handle_health_node(Context& context) {
  if (context.rest.empty()) return respond_error(400, "Missing node name");
  catalog::WatchKeys watch;
  auto checks = context.core.store().node_checks(context.rest, &watch);
  json body = json::array();
  for (const auto& check : checks.value) body.push_back(check_json(check));
  return finish_read(context, checks.index, watch, body);
}

HandleResult handle_health_state(Context& context) {
  const std::string& state = context.rest;
  if (state != "any" && !catalog::is_valid_check_status(state)) {
    return respond_error(400, "Invalid check state \"" + state + "\": use any, passing, warning or critical");
  }
  auto filter = node_meta_filter(context.request);
  if (!filter.is_ok()) return respond_status(filter.status());
  catalog::WatchKeys watch;
  const auto& store = context.core.store();
  auto checks = store.checks_in_state(state, &watch);
  json body = json::array();
  for (const auto& check : checks.value) {
    const catalog::Node* node = store.find_node(check.node);
    if (node != nullptr && node_matches(*node, *filter)) body.push_back(check_json(check));
  }
  return finish_read(context, checks.index, watch, body);
}

}  // namespace roster::http
