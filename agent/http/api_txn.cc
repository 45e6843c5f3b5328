// /v1/txn: Consul's transactions. The handler only decodes and encodes; the
// state store applies the operations at one index, all or none.

#include <algorithm>
#include <array>

#include "agent/http/api_internal.h"
#include "common/base64.h"

namespace roster::http {

namespace {

// Consul's maxTxnOps.
constexpr size_t kMaxTxnOps = 64;

constexpr std::array<std::pair<std::string_view, catalog::TxnKvVerb>, 12> kKvVerbs = {{
    {"set", catalog::TxnKvVerb::set},
    {"cas", catalog::TxnKvVerb::cas},
    {"lock", catalog::TxnKvVerb::lock},
    {"unlock", catalog::TxnKvVerb::unlock},
    {"get", catalog::TxnKvVerb::get},
    {"get-tree", catalog::TxnKvVerb::get_tree},
    {"check-index", catalog::TxnKvVerb::check_index},
    {"check-session", catalog::TxnKvVerb::check_session},
    {"check-not-exists", catalog::TxnKvVerb::check_not_exists},
    {"delete", catalog::TxnKvVerb::delete_key},
    {"delete-tree", catalog::TxnKvVerb::delete_tree},
    {"delete-cas", catalog::TxnKvVerb::delete_cas},
}};

constexpr std::array<std::pair<std::string_view, catalog::TxnCatalogVerb>, 5> kCatalogVerbs = {{
    {"set", catalog::TxnCatalogVerb::set},
    {"cas", catalog::TxnCatalogVerb::cas},
    {"get", catalog::TxnCatalogVerb::get},
    {"delete", catalog::TxnCatalogVerb::delete_entry},
    {"delete-cas", catalog::TxnCatalogVerb::delete_cas},
}};

// Errors of one operation name it, so a client can find the bad one.
class OpParser {
 public:
  OpParser(const ApiOptions& options, const std::string& datacenter, size_t op_index)
      : options_(options), datacenter_(datacenter), op_index_(op_index) {}

  Result<catalog::TxnOp> parse(const json& item) const {
    if (!item.is_object()) return bad("must be an object");
    const json* kv = field(item, "KV");
    const json* node = field(item, "Node");
    const json* service = field(item, "Service");
    const json* check = field(item, "Check");
    const int present = static_cast<int>(kv != nullptr && !kv->is_null()) +
                        static_cast<int>(node != nullptr && !node->is_null()) +
                        static_cast<int>(service != nullptr && !service->is_null()) +
                        static_cast<int>(check != nullptr && !check->is_null());
    if (present != 1) return bad("must have exactly one of KV, Node, Service or Check");
    if (kv != nullptr && !kv->is_null()) return parse_kv(*kv);
    if (node != nullptr && !node->is_null()) return parse_node(*node);
    if (service != nullptr && !service->is_null()) return parse_service(*service);
    return parse_check(*check);
  }

 private:
  Status bad(const std::string& what) const {
    return Status::invalid_argument("Failed to parse body: operation " + std::to_string(op_index_) + ": " + what);
  }

  // A message from a shared parser, with this operation's position added.
  Status located(const Status& status) const {
    if (status.code() != StatusCode::invalid_argument) return status;
    return bad(status.message());
  }

  Result<uint64_t> unsigned_field(const json& object, std::string_view name) const {
    const json* value = field(object, name);
    if (value == nullptr || value->is_null()) return uint64_t{0};
    if (value->is_number_unsigned()) return value->get<uint64_t>();
    if (value->is_number_integer() && value->get<int64_t>() >= 0) return static_cast<uint64_t>(value->get<int64_t>());
    return bad(std::string(name) + " must be an unsigned integer");
  }

  template <typename Verb, size_t N>
  Result<Verb> verb_field(const json& object, const std::array<std::pair<std::string_view, Verb>, N>& verbs,
                          const char* kind) const {
    auto text = string_field(object, "Verb");
    if (!text.is_ok()) return located(text.status());
    if (text->empty()) return bad(std::string(kind) + " Verb is required");
    for (const auto& [name, verb] : verbs) {
      if (name == *text) return verb;
    }
    return bad("unknown " + std::string(kind) + " verb \"" + *text + "\"");
  }

  Result<catalog::TxnOp> parse_kv(const json& object) const {
    if (!object.is_object()) return bad("KV must be an object");
    auto verb = verb_field(object, kKvVerbs, "KV");
    if (!verb.is_ok()) return verb.status();
    catalog::TxnKvOp op;
    op.verb = *verb;
    auto key = string_field(object, "Key");
    auto session = string_field(object, "Session");
    for (const auto* part : {&key, &session}) {
      if (!part->is_ok()) return located(part->status());
    }
    op.key = *key;
    op.session = *session;
    const bool tree = op.verb == catalog::TxnKvVerb::get_tree || op.verb == catalog::TxnKvVerb::delete_tree;
    if (op.key.empty() && !tree) return bad("Missing key name");
    Status valid = validate_kv_key(op.key, options_.max_key_bytes);
    if (!valid.is_ok()) return located(valid);
    const bool needs_session = op.verb == catalog::TxnKvVerb::lock || op.verb == catalog::TxnKvVerb::unlock ||
                               op.verb == catalog::TxnKvVerb::check_session;
    if (needs_session && op.session.empty()) return bad("Missing session for key \"" + op.key + "\"");
    if (const json* value = field(object, "Value"); value != nullptr && !value->is_null()) {
      if (!value->is_string()) return bad("Value must be a base64 string");
      auto decoded = base64_decode(value->get<std::string>());
      if (!decoded.is_ok()) return bad("failed to decode Value: " + decoded.status().message());
      op.value = std::move(decoded).value();
    }
    if (op.value.size() > options_.max_kv_value_bytes) {
      return Status::too_large("Value for key \"" + op.key + "\" is too large (" + std::to_string(op.value.size()) +
                               " > " + std::to_string(options_.max_kv_value_bytes) + " bytes)");
    }
    auto flags = unsigned_field(object, "Flags");
    if (!flags.is_ok()) return flags.status();
    auto index = unsigned_field(object, "Index");
    if (!index.is_ok()) return index.status();
    op.flags = *flags;
    op.index = *index;
    return catalog::TxnOp{std::move(op)};
  }

  Result<catalog::TxnOp> parse_node(const json& object) const {
    if (!object.is_object()) return bad("Node must be an object");
    auto verb = verb_field(object, kCatalogVerbs, "Node");
    if (!verb.is_ok()) return verb.status();
    const json* node = field(object, "Node");
    if (node == nullptr || !node->is_object()) return bad("Node operation needs a Node object");
    catalog::TxnNodeOp op;
    op.verb = *verb;
    auto name = string_field(*node, "Node");
    auto id = string_field(*node, "ID");
    auto address = string_field(*node, "Address");
    auto datacenter = string_field(*node, "Datacenter");
    for (const auto* part : {&name, &id, &address, &datacenter}) {
      if (!part->is_ok()) return located(part->status());
    }
    if (!datacenter->empty() && *datacenter != datacenter_) {
      return bad("Node " + *name + " is in datacenter " + *datacenter + ", not " + datacenter_);
    }
    op.node.name = *name;
    op.node.id = *id;
    op.node.address = *address;
    op.node.datacenter = datacenter_;
    const bool writes = op.verb == catalog::TxnCatalogVerb::set || op.verb == catalog::TxnCatalogVerb::cas;
    if (writes && op.node.name.empty()) return bad("Must supply node name");
    if (op.node.name.empty() && op.node.id.empty()) return bad("Must supply node ID or name");
    auto tagged = string_map_field(*node, "TaggedAddresses");
    if (!tagged.is_ok()) return located(tagged.status());
    op.node.tagged_addresses = *tagged;
    if (const json* meta = field(*node, "Meta"); writes && meta != nullptr && !meta->is_null()) {
      auto parsed = string_map_field(*node, "Meta");
      if (!parsed.is_ok()) return located(parsed.status());
      op.meta = *parsed;
    }
    auto modify_index = unsigned_field(*node, "ModifyIndex");
    if (!modify_index.is_ok()) return modify_index.status();
    op.node.modify_index = *modify_index;
    return catalog::TxnOp{std::move(op)};
  }

  Result<catalog::TxnOp> parse_service(const json& object) const {
    if (!object.is_object()) return bad("Service must be an object");
    auto verb = verb_field(object, kCatalogVerbs, "Service");
    if (!verb.is_ok()) return verb.status();
    auto node = string_field(object, "Node");
    if (!node.is_ok()) return located(node.status());
    if (node->empty()) return bad("Must supply node name");
    const json* service = field(object, "Service");
    if (service == nullptr || !service->is_object()) return bad("Service operation needs a Service object");
    const bool writes = *verb == catalog::TxnCatalogVerb::set || *verb == catalog::TxnCatalogVerb::cas;
    auto parsed = parse_catalog_service(*service, *node, /*require_name=*/writes);
    if (!parsed.is_ok()) return located(parsed.status());
    if (parsed->id.empty()) return bad("Must supply service ID");
    auto modify_index = unsigned_field(*service, "ModifyIndex");
    if (!modify_index.is_ok()) return modify_index.status();
    catalog::TxnServiceOp op{*verb, *node, std::move(parsed).value()};
    op.service.modify_index = *modify_index;
    return catalog::TxnOp{std::move(op)};
  }

  Result<catalog::TxnOp> parse_check(const json& object) const {
    if (!object.is_object()) return bad("Check must be an object");
    auto verb = verb_field(object, kCatalogVerbs, "Check");
    if (!verb.is_ok()) return verb.status();
    const json* check = field(object, "Check");
    if (check == nullptr || !check->is_object()) return bad("Check operation needs a Check object");
    auto node = string_field(*check, "Node");
    if (!node.is_ok()) return located(node.status());
    if (node->empty()) return bad("Must supply node name");
    auto parsed = parse_catalog_check(*check, *node);
    if (!parsed.is_ok()) return located(parsed.status());
    if (const json* definition = field(*check, "Definition"); definition != nullptr && definition->is_object()) {
      // Consul sends durations as text ("10s") or nanoseconds; only text is kept, as the catalog shows it.
      for (auto [name, to] : {std::pair{"Interval", &parsed->interval}, {"Timeout", &parsed->timeout}}) {
        if (const json* value = field(*definition, name); value != nullptr && value->is_string()) {
          *to = value->get<std::string>();
        }
      }
    }
    auto modify_index = unsigned_field(*check, "ModifyIndex");
    if (!modify_index.is_ok()) return modify_index.status();
    catalog::TxnCheckOp op{*verb, std::move(parsed).value()};
    op.check.modify_index = *modify_index;
    return catalog::TxnOp{std::move(op)};
  }

  const ApiOptions& options_;
  const std::string& datacenter_;
  size_t op_index_;
};

json result_json(const catalog::TxnResult& result) {
  struct Encoder {
    json operator()(const catalog::KvEntry& entry) const { return json{{"KV", kv_json(entry)}}; }
    json operator()(const catalog::Node& node) const { return json{{"Node", node_json(node)}}; }
    json operator()(const catalog::Service& service) const { return json{{"Service", agent_service_json(service)}}; }
    json operator()(const catalog::Check& check) const { return json{{"Check", check_json(check)}}; }
  };
  return std::visit(Encoder{}, result);
}

// Consul's shape: empty lists are null, as Go marshals a nil slice.
HttpResponse outcome_response(const catalog::TxnOutcome& outcome, HttpResponse response) {
  json results = nullptr;
  json errors = nullptr;
  for (const auto& result : outcome.results) results.push_back(result_json(result));
  for (const auto& error : outcome.errors) errors.push_back(json{{"OpIndex", error.op_index}, {"What", error.what}});
  response.status = outcome.ok() ? 200 : 409;
  response.content_type = "application/json";
  response.body = dump_json(json{{"Results", results}, {"Errors", errors}});
  return response;
}

}  // namespace

HandleResult handle_txn(Context& context) {
  const HttpRequest& request = context.request;
  const size_t max_bytes = std::max(context.options.max_txn_bytes, context.options.max_kv_value_bytes);
  if (request.body.size() > max_bytes) {
    return respond_error(413, "Request body too large, max size: " + std::to_string(max_bytes) + " bytes");
  }
  json document = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return respond_error(400, "Failed to parse body: malformed JSON");
  if (!document.is_array()) return respond_error(400, "Failed to parse body: expected a JSON array of operations");
  if (document.size() > kMaxTxnOps) {
    return respond_error(413, "Transaction contains too many operations (" + std::to_string(document.size()) +
                                  " > " + std::to_string(kMaxTxnOps) + ")");
  }
  catalog::Transaction transaction;
  transaction.ops.reserve(document.size());
  for (size_t i = 0; i < document.size(); ++i) {
    auto op = OpParser(context.options, context.core.identity().datacenter, i).parse(document[i]);
    if (!op.is_ok()) return respond_status(op.status());
    transaction.ops.push_back(std::move(op).value());
  }

  if (!catalog::is_read_only(transaction)) {
    // Writes always go through the log; consistency flags do not apply.
    return run_async(context, [&core = context.core, transaction = std::move(transaction)](Respond respond_with) mutable {
      core.catalog().write_transaction(std::move(transaction), [respond_with](agent::CatalogBackend::TxnResult result) {
        // Refused before its operations ran (no leader in time): the reason,
        // not an empty list of errors.
        if (result.index == 0 && !result.status.is_ok()) return respond_with(status_answer(result.status));
        respond_with(outcome_response(result.outcome, HttpResponse{}));
      });
    });
  }
  // Reads only: served like other reads, without a write (Consul's Txn.Read).
  if (request.flag("stale") && request.flag("consistent")) {
    return respond_error(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  }
  HttpResponse response;
  response.headers.emplace_back("X-Consul-KnownLeader", "true");
  response.headers.emplace_back("X-Consul-LastContact", "0");
  return respond(outcome_response(context.core.store().read_transaction(transaction), std::move(response)));
}

}  // namespace roster::http
