#include "agent/core/catalog_replica.h"

#include "agent/catalog/codec.h"
#include "agent/core/catalog_backend.h"

namespace roster::agent {

NodeRecord node_record(const catalog::StateStore& store, const std::string& name) {
  NodeRecord record;
  if (const catalog::Node* node = store.find_node(name); node != nullptr) record.node = *node;
  record.services = store.node_services(name).value;
  record.checks = store.node_checks(name).value;
  return record;
}

std::string encode_applied_index(catalog::Index index) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((index >> (56 - 8 * i)) & 0xff);
  return out;
}

Result<catalog::Index> decode_applied_index(std::string_view bytes) {
  if (bytes.size() != 8) {
    return Status::internal("Catalog.Apply: a malformed answer (" + std::to_string(bytes.size()) + " bytes)");
  }
  catalog::Index index = 0;
  for (char byte : bytes) index = (index << 8) | static_cast<uint8_t>(byte);
  return index;
}

std::string encode_node_record(const NodeRecord& record) {
  catalog::StoreData data;
  if (record.node) data.nodes[record.node->name] = *record.node;
  for (const auto& service : record.services) data.services[{service.node, service.id}] = service;
  for (const auto& check : record.checks) data.checks[{check.node, check.check_id}] = check;
  return catalog::encode_snapshot(data);
}

Result<NodeRecord> decode_node_record(std::string_view bytes) {
  auto data = catalog::decode_snapshot(bytes);
  if (!data.is_ok()) return data.status();
  NodeRecord record;
  if (data->nodes.size() > 1) return Status::invalid_argument("a node record holds more than one node");
  if (!data->nodes.empty()) record.node = data->nodes.begin()->second;
  for (auto& [key, service] : data->services) record.services.push_back(std::move(service));
  for (auto& [key, check] : data->checks) record.checks.push_back(std::move(check));
  return record;
}

Status CatalogReplica::apply(catalog::Index index, const catalog::Command& command,
                             catalog::TxnOutcome* txn_outcome) {
  Status status = store_.apply(index, command, txn_outcome);
  wake();
  return status;
}

void CatalogReplica::restore(catalog::StoreData data) {
  store_.restore(std::move(data));
  wake();
}

void CatalogReplica::wake() {
  std::vector<std::string> changed = store_.take_changed_watch_keys();
  if (!changed.empty()) watch_hub_.notify(changed);
}

}  // namespace roster::agent
