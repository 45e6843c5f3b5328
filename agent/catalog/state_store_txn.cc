// Transactions (Consul's /v1/txn) in the state store: one command, one
// index, all operations or none.

#include "agent/catalog/state_store.h"

#include <optional>
#include <utility>

namespace roster::catalog {

namespace {

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

bool has_prefix(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

KvEntry without_value(KvEntry entry) {
  entry.value.clear();
  return entry;
}

KvCommand kv_command(KvOp op, const TxnKvOp& txn_op) {
  KvCommand command;
  command.op = op;
  command.key = txn_op.key;
  command.value = txn_op.value;
  command.flags = txn_op.flags;
  command.cas_index = txn_op.index;
  command.session = txn_op.session;
  return command;
}

struct IsWrite {
  bool operator()(const TxnKvOp& op) const {
    switch (op.verb) {
      case TxnKvVerb::get:
      case TxnKvVerb::get_tree:
      case TxnKvVerb::check_index:
      case TxnKvVerb::check_session:
      case TxnKvVerb::check_not_exists:
        return false;
      default:
        return true;
    }
  }
  template <typename CatalogOp>
  bool operator()(const CatalogOp& op) const {
    return op.verb != TxnCatalogVerb::get;
  }
};

// Consul's CAS rule for nodes, services and checks: index 0 writes only
// what is absent; any other index must equal the record's modify index.
bool cas_matches(Index wanted, const Index* existing_modify_index) {
  if (wanted == 0) return existing_modify_index == nullptr;
  return existing_modify_index != nullptr && *existing_modify_index == wanted;
}

}  // namespace

bool is_read_only(const Transaction& transaction) {
  for (const TxnOp& op : transaction.ops) {
    if (std::visit(IsWrite{}, op)) return false;
  }
  return true;
}

Status StateStore::apply_transaction(Index index, int64_t time_ns, const Transaction& transaction,
                                     TxnOutcome* outcome) {
  TxnOutcome local;
  TxnOutcome& out = outcome != nullptr ? *outcome : local;
  out = TxnOutcome{};
  // The rollback point. A transaction of reads changes nothing, so needs none.
  const bool writes = !is_read_only(transaction);
  std::optional<StoreData> before;
  if (writes) before = data_;
  const size_t marks_before = changed_.size();

  for (size_t i = 0; i < transaction.ops.size(); ++i) {
    Status status = std::visit(
        [&](const auto& op) { return apply_txn_op(index, time_ns, op, out.results); }, transaction.ops[i]);
    if (!status.is_ok()) out.errors.push_back(TxnError{i, status.message()});
  }
  if (out.ok()) return Status::ok();

  if (before) data_ = std::move(*before);
  changed_.resize(marks_before);
  out.results.clear();
  return Status::conflict("transaction rolled back: operation " + std::to_string(out.errors.front().op_index) +
                          ": " + out.errors.front().what);
}

TxnOutcome StateStore::read_transaction(const Transaction& transaction) const {
  TxnOutcome out;
  for (size_t i = 0; i < transaction.ops.size(); ++i) {
    Status status = std::visit([&](const auto& op) { return read_txn_op(op, out.results); }, transaction.ops[i]);
    if (!status.is_ok()) out.errors.push_back(TxnError{i, status.message()});
  }
  if (!out.ok()) out.results.clear();
  return out;
}

// --- KV ----------------------------------------------------------------------

Status StateStore::read_txn_op(const TxnKvOp& op, std::vector<TxnResult>& results) const {
  if (op.key.empty() && op.verb != TxnKvVerb::get_tree) return Status::invalid_argument("Must provide key");
  auto it = data_.kvs.find(op.key);
  const KvEntry* existing = it == data_.kvs.end() ? nullptr : &it->second;
  switch (op.verb) {
    case TxnKvVerb::get:
      if (existing == nullptr) return Status::not_found("key " + quoted(op.key) + " doesn't exist");
      results.emplace_back(*existing);
      return Status::ok();
    case TxnKvVerb::get_tree:
      for (auto kv_it = data_.kvs.lower_bound(op.key); kv_it != data_.kvs.end() && has_prefix(kv_it->first, op.key);
           ++kv_it) {
        results.emplace_back(kv_it->second);
      }
      return Status::ok();
    case TxnKvVerb::check_index:
      if (existing == nullptr) return Status::not_found("key " + quoted(op.key) + " doesn't exist");
      if (existing->modify_index != op.index) {
        return Status::conflict("current modify index " + std::to_string(existing->modify_index) +
                                " != " + std::to_string(op.index));
      }
      results.emplace_back(without_value(*existing));
      return Status::ok();
    case TxnKvVerb::check_session:
      if (existing == nullptr) return Status::not_found("key " + quoted(op.key) + " doesn't exist");
      if (existing->session != op.session) {
        return Status::conflict("failed session check for key " + quoted(op.key) + ", current session " +
                                quoted(existing->session) + " != " + quoted(op.session));
      }
      results.emplace_back(without_value(*existing));
      return Status::ok();
    case TxnKvVerb::check_not_exists:
      if (existing != nullptr) return Status::conflict("key " + quoted(op.key) + " exists");
      return Status::ok();
    default:
      return Status::invalid_argument("KV verb is not a read");
  }
}

Status StateStore::apply_txn_op(Index index, int64_t time_ns, const TxnKvOp& op, std::vector<TxnResult>& results) {
  auto write = [&](KvOp kv_op, const std::string& failure) -> Status {
    Status status = apply_command(index, time_ns, kv_command(kv_op, op));
    if (status.code() == StatusCode::conflict && !failure.empty()) return Status::conflict(failure);
    return status;
  };
  auto written_result = [&]() {
    auto it = data_.kvs.find(op.key);
    if (it != data_.kvs.end()) results.emplace_back(without_value(it->second));
  };
  if (op.key.empty() && op.verb != TxnKvVerb::get_tree && op.verb != TxnKvVerb::delete_tree) {
    return Status::invalid_argument("Must provide key");
  }
  Status status;
  switch (op.verb) {
    case TxnKvVerb::set:
      status = write(KvOp::set, "");
      break;
    case TxnKvVerb::cas:
      status = write(KvOp::cas, "failed to set key " + quoted(op.key) + ", index is stale");
      break;
    case TxnKvVerb::lock:
      status = write(KvOp::lock, "");
      if (status.code() == StatusCode::conflict) {
        return Status::conflict("failed to lock key " + quoted(op.key) + ": " + status.message());
      }
      break;
    case TxnKvVerb::unlock:
      status = write(KvOp::unlock, "failed to unlock key " + quoted(op.key) +
                                       ", lock isn't held, or is held by another session");
      break;
    case TxnKvVerb::delete_key:
      return write(KvOp::delete_key, "");
    case TxnKvVerb::delete_tree:
      return write(KvOp::delete_tree, "");
    case TxnKvVerb::delete_cas:
      return write(KvOp::delete_cas, "failed to delete key " + quoted(op.key) + ", index is stale");
    default:
      return read_txn_op(op, results);
  }
  if (status.is_ok()) written_result();
  return status;
}

// --- nodes -------------------------------------------------------------------

const Node* StateStore::find_txn_node(const Node& wanted) const {
  if (!wanted.id.empty()) return find_node_by_id(wanted.id);
  return find_node(wanted.name);
}

Status StateStore::read_txn_op(const TxnNodeOp& op, std::vector<TxnResult>& results) const {
  if (op.verb != TxnCatalogVerb::get) return Status::invalid_argument("node verb is not a read");
  if (op.node.id.empty() && op.node.name.empty()) return Status::invalid_argument("Must provide node ID or name");
  const Node* existing = find_txn_node(op.node);
  if (existing == nullptr) {
    return Status::not_found("node " + quoted(op.node.id.empty() ? op.node.name : op.node.id) + " doesn't exist");
  }
  results.emplace_back(*existing);
  return Status::ok();
}

Status StateStore::apply_txn_op(Index index, int64_t time_ns, const TxnNodeOp& op, std::vector<TxnResult>& results) {
  switch (op.verb) {
    case TxnCatalogVerb::get:
      return read_txn_op(op, results);
    case TxnCatalogVerb::set:
    case TxnCatalogVerb::cas: {
      if (op.node.name.empty()) return Status::invalid_argument("Must provide node name");
      if (op.verb == TxnCatalogVerb::cas) {
        const Node* existing = find_node(op.node.name);
        if (!cas_matches(op.node.modify_index, existing ? &existing->modify_index : nullptr)) {
          return Status::conflict("failed to set node " + quoted(op.node.name) + ", index is stale");
        }
      }
      RegisterNode command;
      command.node = op.node;
      command.operator_tags = op.meta;
      Status status = apply_command(index, time_ns, command);
      if (!status.is_ok()) return status;
      results.emplace_back(*find_node(op.node.name));
      return Status::ok();
    }
    case TxnCatalogVerb::delete_entry:
    case TxnCatalogVerb::delete_cas: {
      if (op.node.id.empty() && op.node.name.empty()) return Status::invalid_argument("Must provide node ID or name");
      const Node* existing = find_txn_node(op.node);
      if (op.verb == TxnCatalogVerb::delete_cas &&
          (existing == nullptr || existing->modify_index != op.node.modify_index)) {
        return Status::conflict("failed to delete node " + quoted(op.node.name.empty() ? op.node.id : op.node.name) +
                                ", index is stale");
      }
      if (existing == nullptr) return Status::ok();
      return apply_command(index, time_ns, DeregisterNode{existing->name, "", ""});
    }
  }
  return Status::invalid_argument("unknown node verb");
}

// --- services ----------------------------------------------------------------

Status StateStore::read_txn_op(const TxnServiceOp& op, std::vector<TxnResult>& results) const {
  if (op.verb != TxnCatalogVerb::get) return Status::invalid_argument("service verb is not a read");
  if (op.node.empty()) return Status::invalid_argument("Must provide node name");
  if (op.service.id.empty()) return Status::invalid_argument("Must provide service ID");
  const Service* existing = find_service(op.node, op.service.id);
  if (existing == nullptr) {
    return Status::not_found("service " + quoted(op.service.id) + " on node " + quoted(op.node) + " doesn't exist");
  }
  results.emplace_back(*existing);
  return Status::ok();
}

Status StateStore::apply_txn_op(Index index, int64_t time_ns, const TxnServiceOp& op,
                                std::vector<TxnResult>& results) {
  if (op.verb == TxnCatalogVerb::get) return read_txn_op(op, results);
  if (op.node.empty()) return Status::invalid_argument("Must provide node name");
  Service service = op.service;
  if (service.id.empty()) service.id = service.name;
  if (service.id.empty()) return Status::invalid_argument("Must provide service ID");
  const Service* existing = find_service(op.node, service.id);
  switch (op.verb) {
    case TxnCatalogVerb::get:
      break;
    case TxnCatalogVerb::set:
    case TxnCatalogVerb::cas: {
      if (op.verb == TxnCatalogVerb::cas &&
          !cas_matches(service.modify_index, existing ? &existing->modify_index : nullptr)) {
        return Status::conflict("failed to set service " + quoted(service.id) + " on node " + quoted(op.node) +
                                ", index is stale");
      }
      if (find_node(op.node) == nullptr) return Status::not_found("node " + quoted(op.node) + " doesn't exist");
      RegisterNode command;
      command.node.name = op.node;
      command.skip_node_update = true;
      service.node = op.node;
      command.service = service;
      Status status = apply_command(index, time_ns, command);
      if (!status.is_ok()) return status;
      results.emplace_back(*find_service(op.node, service.id));
      return Status::ok();
    }
    case TxnCatalogVerb::delete_entry:
    case TxnCatalogVerb::delete_cas:
      if (op.verb == TxnCatalogVerb::delete_cas &&
          (existing == nullptr || existing->modify_index != service.modify_index)) {
        return Status::conflict("failed to delete service " + quoted(service.id) + " on node " + quoted(op.node) +
                                ", index is stale");
      }
      if (existing == nullptr) return Status::ok();
      return apply_command(index, time_ns, DeregisterNode{op.node, service.id, ""});
  }
  return Status::invalid_argument("unknown service verb");
}

// --- checks ------------------------------------------------------------------

Status StateStore::read_txn_op(const TxnCheckOp& op, std::vector<TxnResult>& results) const {
  if (op.verb != TxnCatalogVerb::get) return Status::invalid_argument("check verb is not a read");
  if (op.check.node.empty()) return Status::invalid_argument("Must provide node name");
  if (op.check.check_id.empty()) return Status::invalid_argument("Must provide check ID");
  const Check* existing = find_check(op.check.node, op.check.check_id);
  if (existing == nullptr) {
    return Status::not_found("check " + quoted(op.check.check_id) + " on node " + quoted(op.check.node) +
                             " doesn't exist");
  }
  results.emplace_back(*existing);
  return Status::ok();
}

Status StateStore::apply_txn_op(Index index, int64_t time_ns, const TxnCheckOp& op, std::vector<TxnResult>& results) {
  if (op.verb == TxnCatalogVerb::get) return read_txn_op(op, results);
  const Check& check = op.check;
  if (check.node.empty()) return Status::invalid_argument("Must provide node name");
  if (check.check_id.empty()) return Status::invalid_argument("Must provide check ID");
  const Check* existing = find_check(check.node, check.check_id);
  switch (op.verb) {
    case TxnCatalogVerb::get:
      break;
    case TxnCatalogVerb::set:
    case TxnCatalogVerb::cas: {
      if (op.verb == TxnCatalogVerb::cas &&
          !cas_matches(check.modify_index, existing ? &existing->modify_index : nullptr)) {
        return Status::conflict("failed to set check " + quoted(check.check_id) + " on node " + quoted(check.node) +
                                ", index is stale");
      }
      if (find_node(check.node) == nullptr) return Status::not_found("node " + quoted(check.node) + " doesn't exist");
      RegisterNode command;
      command.node.name = check.node;
      command.skip_node_update = true;
      command.checks.push_back(check);
      Status status = apply_command(index, time_ns, command);
      if (!status.is_ok()) return status;
      results.emplace_back(*find_check(check.node, check.check_id));
      return Status::ok();
    }
    case TxnCatalogVerb::delete_entry:
    case TxnCatalogVerb::delete_cas:
      if (op.verb == TxnCatalogVerb::delete_cas &&
          (existing == nullptr || existing->modify_index != check.modify_index)) {
        return Status::conflict("failed to delete check " + quoted(check.check_id) + " on node " +
                                quoted(check.node) + ", index is stale");
      }
      if (existing == nullptr) return Status::ok();
      return apply_command(index, time_ns, DeregisterNode{check.node, "", check.check_id});
  }
  return Status::invalid_argument("unknown check verb");
}

}  // namespace roster::catalog
