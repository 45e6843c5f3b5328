#include "agent/catalog/codec.h"

#include <limits>

#include "proto/catalog.pb.h"

namespace roster::catalog {

namespace {

namespace pb = ::roster::proto;

constexpr uint32_t kSnapshotFormatVersion = 1;

// --- to protobuf -----------------------------------------------------------

void put_pairs(const std::map<std::string, std::string>& from,
               google::protobuf::RepeatedPtrField<pb::CatalogStringPair>* to) {
  for (const auto& [key, value] : from) {
    auto* pair = to->Add();
    pair->set_key(key);
    pair->set_value(value);
  }
}

void put_strings(const std::vector<std::string>& from, google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const auto& value : from) to->Add(std::string(value));
}

template <typename Map>
void put_indexes(const Map& from, google::protobuf::RepeatedPtrField<pb::CatalogIndexEntry>* to) {
  for (const auto& [key, index] : from) {
    auto* entry = to->Add();
    entry->set_key(key);
    entry->set_index(index);
  }
}

void put_node(const Node& node, pb::CatalogNode* out) {
  out->set_id(node.id);
  out->set_name(node.name);
  out->set_address(node.address);
  out->set_datacenter(node.datacenter);
  put_pairs(node.tagged_addresses, out->mutable_tagged_addresses());
  put_pairs(node.tags.operator_tags, out->mutable_tags()->mutable_operator_tags()->mutable_entries());
  put_pairs(node.tags.runtime_tags, out->mutable_tags()->mutable_runtime_tags()->mutable_entries());
  put_pairs(node.tags.image_tags, out->mutable_tags()->mutable_image_tags()->mutable_entries());
  out->set_create_index(node.create_index);
  out->set_modify_index(node.modify_index);
}

void put_service(const Service& service, pb::CatalogService* out) {
  out->set_node(service.node);
  out->set_id(service.id);
  out->set_name(service.name);
  put_strings(service.tags, out->mutable_tags());
  out->set_address(service.address);
  out->set_port(service.port);
  put_pairs(service.meta, out->mutable_meta());
  out->set_enable_tag_override(service.enable_tag_override);
  out->set_create_index(service.create_index);
  out->set_modify_index(service.modify_index);
}

void put_check(const Check& check, pb::CatalogCheck* out) {
  out->set_node(check.node);
  out->set_check_id(check.check_id);
  out->set_name(check.name);
  out->set_status(check.status);
  out->set_notes(check.notes);
  out->set_output(check.output);
  out->set_service_id(check.service_id);
  out->set_service_name(check.service_name);
  put_strings(check.service_tags, out->mutable_service_tags());
  out->set_type(check.type);
  out->set_interval(check.interval);
  out->set_timeout(check.timeout);
  out->set_create_index(check.create_index);
  out->set_modify_index(check.modify_index);
}

void put_kv(const KvEntry& entry, pb::CatalogKvEntry* out) {
  out->set_key(entry.key);
  out->set_value(entry.value);
  out->set_flags(entry.flags);
  out->set_session(entry.session);
  out->set_lock_index(entry.lock_index);
  out->set_create_index(entry.create_index);
  out->set_modify_index(entry.modify_index);
}

void put_session(const Session& session, pb::CatalogSession* out) {
  out->set_id(session.id);
  out->set_name(session.name);
  out->set_node(session.node);
  put_strings(session.node_checks, out->mutable_node_checks());
  put_strings(session.service_checks, out->mutable_service_checks());
  out->set_behavior(session.behavior);
  out->set_lock_delay_ns(session.lock_delay_ns);
  out->set_ttl_ns(session.ttl_ns);
  out->set_ttl(session.ttl);
  out->set_create_index(session.create_index);
  out->set_modify_index(session.modify_index);
}

// --- from protobuf ---------------------------------------------------------

Result<std::map<std::string, std::string>> get_pairs(
    const google::protobuf::RepeatedPtrField<pb::CatalogStringPair>& from, const char* what) {
  std::map<std::string, std::string> result;
  for (const auto& pair : from) {
    if (!result.emplace(pair.key(), pair.value()).second) {
      return Status::invalid_argument(std::string("duplicate key in ") + what);
    }
  }
  return result;
}

std::vector<std::string> get_strings(const google::protobuf::RepeatedPtrField<std::string>& from) {
  return {from.begin(), from.end()};
}

template <typename Value, typename Entry, typename Get>
Status get_keyed(const google::protobuf::RepeatedPtrField<Entry>& from, std::map<std::string, Value>& to,
                 Get get, const char* what) {
  for (const auto& entry : from) {
    if (!to.emplace(entry.key(), get(entry)).second) {
      return Status::invalid_argument(std::string("duplicate key in ") + what);
    }
  }
  return Status::ok();
}

Result<Node> get_node(const pb::CatalogNode& in) {
  Node node;
  node.id = in.id();
  node.name = in.name();
  node.address = in.address();
  node.datacenter = in.datacenter();
  auto tagged = get_pairs(in.tagged_addresses(), "tagged addresses");
  auto operator_tags = get_pairs(in.tags().operator_tags().entries(), "operator tags");
  auto runtime_tags = get_pairs(in.tags().runtime_tags().entries(), "runtime tags");
  auto image_tags = get_pairs(in.tags().image_tags().entries(), "image tags");
  for (const auto* part : {&tagged, &operator_tags, &runtime_tags, &image_tags}) {
    if (!part->is_ok()) return part->status();
  }
  node.tagged_addresses = std::move(tagged).value();
  node.tags.operator_tags = std::move(operator_tags).value();
  node.tags.runtime_tags = std::move(runtime_tags).value();
  node.tags.image_tags = std::move(image_tags).value();
  node.create_index = in.create_index();
  node.modify_index = in.modify_index();
  return node;
}

Result<Service> get_service(const pb::CatalogService& in) {
  Service service;
  service.node = in.node();
  service.id = in.id();
  service.name = in.name();
  service.tags = get_strings(in.tags());
  service.address = in.address();
  service.port = in.port();
  auto meta = get_pairs(in.meta(), "service meta");
  if (!meta.is_ok()) return meta.status();
  service.meta = std::move(meta).value();
  service.enable_tag_override = in.enable_tag_override();
  service.create_index = in.create_index();
  service.modify_index = in.modify_index();
  return service;
}

Check get_check(const pb::CatalogCheck& in) {
  Check check;
  check.node = in.node();
  check.check_id = in.check_id();
  check.name = in.name();
  check.status = in.status();
  check.notes = in.notes();
  check.output = in.output();
  check.service_id = in.service_id();
  check.service_name = in.service_name();
  check.service_tags = get_strings(in.service_tags());
  check.type = in.type();
  check.interval = in.interval();
  check.timeout = in.timeout();
  check.create_index = in.create_index();
  check.modify_index = in.modify_index();
  return check;
}

KvEntry get_kv(const pb::CatalogKvEntry& in) {
  KvEntry entry;
  entry.key = in.key();
  entry.value = in.value();
  entry.flags = in.flags();
  entry.session = in.session();
  entry.lock_index = in.lock_index();
  entry.create_index = in.create_index();
  entry.modify_index = in.modify_index();
  return entry;
}

Session get_session(const pb::CatalogSession& in) {
  Session session;
  session.id = in.id();
  session.name = in.name();
  session.node = in.node();
  session.node_checks = get_strings(in.node_checks());
  session.service_checks = get_strings(in.service_checks());
  session.behavior = in.behavior();
  session.lock_delay_ns = in.lock_delay_ns();
  session.ttl_ns = in.ttl_ns();
  session.ttl = in.ttl();
  session.create_index = in.create_index();
  session.modify_index = in.modify_index();
  return session;
}

// --- transactions ----------------------------------------------------------

void put_transaction(const Transaction& transaction, pb::CatalogTransaction* out) {
  struct Encoder {
    pb::CatalogTxnOp* out;
    void operator()(const TxnKvOp& op) const {
      auto* msg = out->mutable_kv();
      msg->set_verb(static_cast<pb::CatalogTxnKvVerb>(static_cast<int>(op.verb)));
      msg->set_key(op.key);
      msg->set_value(op.value);
      msg->set_flags(op.flags);
      msg->set_index(op.index);
      msg->set_session(op.session);
    }
    void operator()(const TxnNodeOp& op) const {
      auto* msg = out->mutable_node();
      msg->set_verb(static_cast<pb::CatalogTxnVerb>(static_cast<int>(op.verb)));
      put_node(op.node, msg->mutable_node());
      if (op.meta) put_pairs(*op.meta, msg->mutable_meta()->mutable_entries());
    }
    void operator()(const TxnServiceOp& op) const {
      auto* msg = out->mutable_service();
      msg->set_verb(static_cast<pb::CatalogTxnVerb>(static_cast<int>(op.verb)));
      msg->set_node(op.node);
      put_service(op.service, msg->mutable_service());
    }
    void operator()(const TxnCheckOp& op) const {
      auto* msg = out->mutable_check();
      msg->set_verb(static_cast<pb::CatalogTxnVerb>(static_cast<int>(op.verb)));
      put_check(op.check, msg->mutable_check());
    }
  };
  for (const TxnOp& op : transaction.ops) std::visit(Encoder{out->add_ops()}, op);
}

Result<TxnCatalogVerb> get_catalog_verb(int verb) {
  if (!pb::CatalogTxnVerb_IsValid(verb) || verb > static_cast<int>(TxnCatalogVerb::delete_cas)) {
    return Status::invalid_argument("transaction has an unknown catalog verb " + std::to_string(verb));
  }
  return static_cast<TxnCatalogVerb>(verb);
}

Result<TxnOp> get_txn_op(const pb::CatalogTxnOp& in) {
  switch (in.op_case()) {
    case pb::CatalogTxnOp::kKv: {
      const auto& msg = in.kv();
      const int verb = msg.verb();
      if (!pb::CatalogTxnKvVerb_IsValid(verb) || verb > static_cast<int>(TxnKvVerb::delete_cas)) {
        return Status::invalid_argument("transaction has an unknown KV verb " + std::to_string(verb));
      }
      return TxnOp{TxnKvOp{static_cast<TxnKvVerb>(verb), msg.key(), msg.value(), msg.flags(), msg.index(),
                           msg.session()}};
    }
    case pb::CatalogTxnOp::kNode: {
      const auto& msg = in.node();
      auto verb = get_catalog_verb(msg.verb());
      if (!verb.is_ok()) return verb.status();
      auto node = get_node(msg.node());
      if (!node.is_ok()) return node.status();
      TxnNodeOp op{*verb, std::move(node).value(), std::nullopt};
      if (msg.has_meta()) {
        auto meta = get_pairs(msg.meta().entries(), "node meta");
        if (!meta.is_ok()) return meta.status();
        op.meta = std::move(meta).value();
      }
      return TxnOp{std::move(op)};
    }
    case pb::CatalogTxnOp::kService: {
      const auto& msg = in.service();
      auto verb = get_catalog_verb(msg.verb());
      if (!verb.is_ok()) return verb.status();
      auto service = get_service(msg.service());
      if (!service.is_ok()) return service.status();
      return TxnOp{TxnServiceOp{*verb, msg.node(), std::move(service).value()}};
    }
    case pb::CatalogTxnOp::kCheck: {
      auto verb = get_catalog_verb(in.check().verb());
      if (!verb.is_ok()) return verb.status();
      return TxnOp{TxnCheckOp{*verb, get_check(in.check().check())}};
    }
    case pb::CatalogTxnOp::OP_NOT_SET:
      break;
  }
  return Status::invalid_argument("transaction operation has no body");
}

Result<Transaction> get_transaction(const pb::CatalogTransaction& in) {
  Transaction transaction;
  transaction.ops.reserve(static_cast<size_t>(in.ops_size()));
  for (const auto& item : in.ops()) {
    auto op = get_txn_op(item);
    if (!op.is_ok()) return op.status();
    transaction.ops.push_back(std::move(op).value());
  }
  return transaction;
}

template <typename Message>
bool parse(Message& message, std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

namespace {

void put_snapshot(const StoreData& data, pb::CatalogSnapshot& out) {
  out.set_format_version(kSnapshotFormatVersion);
  out.set_last_index(data.last_index);
  for (const auto& [name, node] : data.nodes) put_node(node, out.add_nodes());
  for (const auto& [key, service] : data.services) put_service(service, out.add_services());
  for (const auto& [key, check] : data.checks) put_check(check, out.add_checks());
  for (const auto& [key, entry] : data.kvs) put_kv(entry, out.add_kvs());
  put_indexes(data.kv_tombstones, out.mutable_kv_tombstones());
  for (const auto& [key, until] : data.kv_lock_delays) {
    auto* entry = out.add_kv_lock_delays();
    entry->set_key(key);
    entry->set_time_ns(until);
  }
  for (const auto& [id, session] : data.sessions) put_session(session, out.add_sessions());
  put_indexes(data.table_indexes, out.mutable_table_indexes());
  put_indexes(data.service_indexes, out.mutable_service_indexes());
  put_indexes(data.service_health_indexes, out.mutable_service_health_indexes());
  put_indexes(data.node_indexes, out.mutable_node_indexes());
  put_indexes(data.kv_reaped_floors, out.mutable_kv_reaped_floors());
}

Result<StoreData> get_snapshot(const pb::CatalogSnapshot& in) {
  if (in.format_version() != kSnapshotFormatVersion) {
    return Status::invalid_argument("catalog snapshot has format version " + std::to_string(in.format_version()) +
                                    ", want " + std::to_string(kSnapshotFormatVersion));
  }
  StoreData data;
  data.last_index = in.last_index();
  for (const auto& item : in.nodes()) {
    auto node = get_node(item);
    if (!node.is_ok()) return node.status();
    if (!data.nodes.emplace(node->name, std::move(node).value()).second) {
      return Status::invalid_argument("catalog snapshot lists node " + item.name() + " twice");
    }
  }
  for (const auto& item : in.services()) {
    auto service = get_service(item);
    if (!service.is_ok()) return service.status();
    auto key = std::make_pair(service->node, service->id);
    if (!data.services.emplace(std::move(key), std::move(service).value()).second) {
      return Status::invalid_argument("catalog snapshot lists service " + item.id() + " twice");
    }
  }
  for (const auto& item : in.checks()) {
    if (!data.checks.emplace(std::make_pair(item.node(), item.check_id()), get_check(item)).second) {
      return Status::invalid_argument("catalog snapshot lists check " + item.check_id() + " twice");
    }
  }
  for (const auto& item : in.kvs()) {
    if (!data.kvs.emplace(item.key(), get_kv(item)).second) {
      return Status::invalid_argument("catalog snapshot lists key " + item.key() + " twice");
    }
  }
  for (const auto& item : in.sessions()) {
    if (!data.sessions.emplace(item.id(), get_session(item)).second) {
      return Status::invalid_argument("catalog snapshot lists session " + item.id() + " twice");
    }
  }
  auto index_of = [](const pb::CatalogIndexEntry& entry) { return Index{entry.index()}; };
  for (const Status& status :
       {get_keyed(in.kv_tombstones(), data.kv_tombstones, index_of, "KV tombstones"),
        get_keyed(in.kv_lock_delays(), data.kv_lock_delays,
                  [](const pb::CatalogTimeEntry& entry) { return int64_t{entry.time_ns()}; }, "KV lock delays"),
        get_keyed(in.table_indexes(), data.table_indexes, index_of, "table indexes"),
        get_keyed(in.service_indexes(), data.service_indexes, index_of, "service indexes"),
        get_keyed(in.service_health_indexes(), data.service_health_indexes, index_of, "service health indexes"),
        get_keyed(in.node_indexes(), data.node_indexes, index_of, "node indexes"),
        get_keyed(in.kv_reaped_floors(), data.kv_reaped_floors, index_of, "KV reaped floors")}) {
    if (!status.is_ok()) return status;
  }
  return data;
}

}  // namespace

std::string encode_snapshot(const StoreData& data) {
  pb::CatalogSnapshot out;
  put_snapshot(data, out);
  return out.SerializeAsString();
}

Result<StoreData> decode_snapshot(std::string_view bytes) {
  pb::CatalogSnapshot in;
  if (!parse(in, bytes)) return Status::invalid_argument("catalog snapshot is not a valid protobuf message");
  return get_snapshot(in);
}

std::string encode_command(const Command& command) {
  pb::CatalogCommand out;
  out.set_time_ns(command.time_ns);
  struct Encoder {
    pb::CatalogCommand& out;
    void operator()(const RegisterNode& body) const {
      auto* msg = out.mutable_register_node();
      put_node(body.node, msg->mutable_node());
      if (body.operator_tags) put_pairs(*body.operator_tags, msg->mutable_operator_tags()->mutable_entries());
      if (body.runtime_tags) put_pairs(*body.runtime_tags, msg->mutable_runtime_tags()->mutable_entries());
      if (body.image_tags) put_pairs(*body.image_tags, msg->mutable_image_tags()->mutable_entries());
      if (body.service) put_service(*body.service, msg->mutable_service());
      for (const auto& check : body.checks) put_check(check, msg->add_checks());
      msg->set_skip_node_update(body.skip_node_update);
    }
    void operator()(const DeregisterNode& body) const {
      auto* msg = out.mutable_deregister_node();
      msg->set_node(body.node);
      msg->set_service_id(body.service_id);
      msg->set_check_id(body.check_id);
    }
    void operator()(const UpdateTags& body) const {
      auto* msg = out.mutable_update_tags();
      msg->set_node(body.node);
      switch (body.layer) {
        case TagLayer::operator_layer: msg->set_layer(pb::TAG_LAYER_OPERATOR); break;
        case TagLayer::runtime_layer: msg->set_layer(pb::TAG_LAYER_RUNTIME); break;
        case TagLayer::image_layer: msg->set_layer(pb::TAG_LAYER_IMAGE); break;
      }
      put_pairs(body.set, msg->mutable_set());
      put_strings(body.remove, msg->mutable_remove());
    }
    void operator()(const UpdateCheck& body) const {
      auto* msg = out.mutable_update_check();
      msg->set_node(body.node);
      msg->set_check_id(body.check_id);
      msg->set_status(body.status);
      msg->set_output(body.output);
    }
    void operator()(const KvCommand& body) const {
      auto* msg = out.mutable_kv();
      msg->set_op(static_cast<pb::CatalogKvOp>(static_cast<int>(body.op)));
      msg->set_key(body.key);
      msg->set_value(body.value);
      msg->set_flags(body.flags);
      msg->set_cas_index(body.cas_index);
      msg->set_session(body.session);
    }
    void operator()(const CreateSession& body) const {
      put_session(body.session, out.mutable_create_session()->mutable_session());
    }
    void operator()(const DestroySession& body) const { out.mutable_destroy_session()->set_id(body.id); }
    void operator()(const ReapKvTombstones& body) const { out.mutable_reap_kv_tombstones()->set_up_to(body.up_to); }
    void operator()(const Transaction& body) const { put_transaction(body, out.mutable_transaction()); }
    void operator()(const RestoreCatalog& body) const { put_snapshot(body.data, *out.mutable_restore_catalog()); }
  };
  std::visit(Encoder{out}, command.body);
  return out.SerializeAsString();
}

Result<Command> decode_command(std::string_view bytes) {
  pb::CatalogCommand in;
  if (!parse(in, bytes)) return Status::invalid_argument("catalog command is not a valid protobuf message");
  Command command;
  command.time_ns = in.time_ns();
  switch (in.body_case()) {
    case pb::CatalogCommand::kRegisterNode: {
      const auto& msg = in.register_node();
      RegisterNode body;
      auto node = get_node(msg.node());
      if (!node.is_ok()) return node.status();
      body.node = std::move(node).value();
      auto get_layer = [](bool present, const pb::CatalogTagMap& tags,
                          std::optional<TagMap>& to) -> Status {
        if (!present) return Status::ok();
        auto decoded = get_pairs(tags.entries(), "tag layer");
        if (!decoded.is_ok()) return decoded.status();
        to = std::move(decoded).value();
        return Status::ok();
      };
      for (const Status& status :
           {get_layer(msg.has_operator_tags(), msg.operator_tags(), body.operator_tags),
            get_layer(msg.has_runtime_tags(), msg.runtime_tags(), body.runtime_tags),
            get_layer(msg.has_image_tags(), msg.image_tags(), body.image_tags)}) {
        if (!status.is_ok()) return status;
      }
      if (msg.has_service()) {
        auto service = get_service(msg.service());
        if (!service.is_ok()) return service.status();
        body.service = std::move(service).value();
      }
      for (const auto& check : msg.checks()) body.checks.push_back(get_check(check));
      body.skip_node_update = msg.skip_node_update();
      command.body = std::move(body);
      break;
    }
    case pb::CatalogCommand::kDeregisterNode: {
      const auto& msg = in.deregister_node();
      command.body = DeregisterNode{msg.node(), msg.service_id(), msg.check_id()};
      break;
    }
    case pb::CatalogCommand::kUpdateTags: {
      const auto& msg = in.update_tags();
      UpdateTags body;
      body.node = msg.node();
      switch (msg.layer()) {
        case pb::TAG_LAYER_OPERATOR: body.layer = TagLayer::operator_layer; break;
        case pb::TAG_LAYER_RUNTIME: body.layer = TagLayer::runtime_layer; break;
        case pb::TAG_LAYER_IMAGE: body.layer = TagLayer::image_layer; break;
        default: return Status::invalid_argument("catalog command has an unknown tag layer");
      }
      auto set = get_pairs(msg.set(), "tags to set");
      if (!set.is_ok()) return set.status();
      body.set = std::move(set).value();
      body.remove = get_strings(msg.remove());
      command.body = std::move(body);
      break;
    }
    case pb::CatalogCommand::kUpdateCheck: {
      const auto& msg = in.update_check();
      command.body = UpdateCheck{msg.node(), msg.check_id(), msg.status(), msg.output()};
      break;
    }
    case pb::CatalogCommand::kKv: {
      const auto& msg = in.kv();
      const int op = msg.op();
      if (!pb::CatalogKvOp_IsValid(op) || op > static_cast<int>(KvOp::unlock)) {
        return Status::invalid_argument("catalog command has an unknown KV operation " + std::to_string(op));
      }
      KvCommand body;
      body.op = static_cast<KvOp>(op);
      body.key = msg.key();
      body.value = msg.value();
      body.flags = msg.flags();
      body.cas_index = msg.cas_index();
      body.session = msg.session();
      command.body = std::move(body);
      break;
    }
    case pb::CatalogCommand::kCreateSession:
      command.body = CreateSession{get_session(in.create_session().session())};
      break;
    case pb::CatalogCommand::kDestroySession:
      command.body = DestroySession{in.destroy_session().id()};
      break;
    case pb::CatalogCommand::kReapKvTombstones:
      command.body = ReapKvTombstones{in.reap_kv_tombstones().up_to()};
      break;
    case pb::CatalogCommand::kTransaction: {
      auto transaction = get_transaction(in.transaction());
      if (!transaction.is_ok()) return transaction.status();
      command.body = std::move(transaction).value();
      break;
    }
    case pb::CatalogCommand::kRestoreCatalog: {
      auto data = get_snapshot(in.restore_catalog());
      if (!data.is_ok()) return data.status();
      command.body = RestoreCatalog{std::move(data).value()};
      break;
    }
    case pb::CatalogCommand::BODY_NOT_SET:
      return Status::invalid_argument("catalog command has no body");
  }
  return command;
}

}  // namespace roster::catalog
