#include "agent/core/catalog_replica.h"

#include "agent/core/catalog_backend.h"

namespace roster::agent {

NodeRecord node_record(const catalog::StateStore& store, const std::string& name) {
  NodeRecord record;
  if (const catalog::Node* node = store.find_node(name); node != nullptr) record.node = *node;
  record.services = store.node_services(name).value;
  record.checks = store.node_checks(name).value;
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
