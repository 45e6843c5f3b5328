#pragma once

// CatalogReplica: one copy of the catalog, and the watchers of its data.
//
// The apply path of every backend that holds the catalog (-dev's LocalCatalog,
// a server's Raft state machine) goes through apply() or restore(), which wake
// exactly the watchers of what changed. So every server wakes its own blocking
// queries for every entry it applies, whoever proposed it.
//
// Thread affinity: the agent's io_context thread.

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "agent/catalog/watch_hub.h"
#include "common/status.h"

namespace roster::agent {

class CatalogReplica {
 public:
  // Applies `command` at `index` (see StateStore::apply) and wakes the
  // watchers of what it changed. The store's refusal is returned, and the
  // index is consumed either way, as on every server.
  Status apply(catalog::Index index, const catalog::Command& command, catalog::TxnOutcome* txn_outcome = nullptr);
  // Replaces the whole state (a snapshot) and wakes the watchers of whatever
  // was present before or after.
  void restore(catalog::StoreData data);

  const catalog::StateStore& store() const { return store_; }
  catalog::WatchHub& watch_hub() { return watch_hub_; }

 private:
  void wake();

  catalog::StateStore store_;
  catalog::WatchHub watch_hub_;
};

}  // namespace roster::agent
