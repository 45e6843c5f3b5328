#pragma once

// Commands: the only way the catalog changes. Each is plain data, so a later
// Raft log can carry them unchanged; the state store applies them in order.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/catalog/store_data.h"
#include "agent/catalog/types.h"

namespace roster::catalog {

// Consul's /v1/catalog/register, and the agent's anti-entropy sync.
// Indexes inside the records are ignored; the store assigns them.
struct RegisterNode {
  Node node;                          // id, name, address, datacenter, tagged_addresses
  std::optional<TagMap> operator_tags;  // replace the layer when present
  std::optional<TagMap> runtime_tags;
  std::optional<TagMap> image_tags;
  std::optional<Service> service;
  std::vector<Check> checks;
  bool skip_node_update = false;      // only services/checks; the node must exist
  bool operator==(const RegisterNode&) const = default;
};

// Consul's /v1/catalog/deregister: a service (and its checks) when service_id
// is set, else a check when check_id is set, else the node and all it has.
struct DeregisterNode {
  std::string node;
  std::string service_id;
  std::string check_id;
  bool operator==(const DeregisterNode&) const = default;
};

// Sets and removes keys in one tag layer of one node.
struct UpdateTags {
  std::string node;
  TagLayer layer = TagLayer::operator_layer;
  TagMap set;
  std::vector<std::string> remove;
  bool operator==(const UpdateTags&) const = default;
};

// A health check changed state; written only on a change.
struct UpdateCheck {
  std::string node;
  std::string check_id;
  std::string status;
  std::string output;
  bool operator==(const UpdateCheck&) const = default;
};

enum class KvOp { set, cas, delete_key, delete_cas, delete_tree, lock, unlock };

struct KvCommand {
  KvOp op = KvOp::set;
  std::string key;      // the prefix for delete_tree
  std::string value;
  uint64_t flags = 0;
  Index cas_index = 0;  // for cas and delete_cas: 0 means "only if absent" (cas)
  std::string session;  // for lock and unlock
  bool operator==(const KvCommand&) const = default;
};

// The session id is chosen by whoever submits the command, so applying it is
// deterministic.
struct CreateSession {
  Session session;
  bool operator==(const CreateSession&) const = default;
};

struct DestroySession {
  std::string id;
  bool operator==(const DestroySession&) const = default;
};

// Forgets every KV tombstone at or below up_to, as Consul's tombstone reap.
// The agent's TombstoneReaper picks up_to so that only tombstones older than
// tombstone_ttl go; the store keeps their indexes as floors, so no query's
// index goes backwards.
struct ReapKvTombstones {
  Index up_to = 0;
  bool operator==(const ReapKvTombstones&) const = default;
};

// Replaces the whole catalog with `data` (PUT /v1/snapshot). A Raft entry
// like any other, so every server swaps its state at the same index. The
// data's own indexes are kept; its last_index is only where it was taken.
struct RestoreCatalog {
  StoreData data;
  bool operator==(const RestoreCatalog&) const = default;
};

// --- Transactions (Consul's /v1/txn) ---------------------------------------

// KV verbs, as Consul spells them: set, cas, lock, unlock, get, get-tree,
// check-index, check-session, check-not-exists, delete, delete-tree, delete-cas.
enum class TxnKvVerb {
  set, cas, lock, unlock, get, get_tree, check_index, check_session, check_not_exists,
  delete_key, delete_tree, delete_cas
};

struct TxnKvOp {
  TxnKvVerb verb = TxnKvVerb::set;
  std::string key;      // the prefix for get_tree and delete_tree
  std::string value;
  uint64_t flags = 0;
  Index index = 0;      // cas, delete_cas, check_index (cas: 0 means "only if absent")
  std::string session;  // lock, unlock, check_session
  bool operator==(const TxnKvOp&) const = default;
};

// Node, service and check verbs: set, cas, get, delete, delete-cas.
enum class TxnCatalogVerb { set, cas, get, delete_entry, delete_cas };

// The CAS index of a node, service or check operation is the record's
// modify_index (0 for cas: "only if absent"); other indexes are ignored.
struct TxnNodeOp {
  TxnCatalogVerb verb = TxnCatalogVerb::get;
  Node node;  // get and the deletes find it by id when set, else by name
  std::optional<TagMap> meta;  // set and cas: replaces the operator tag layer when present
  bool operator==(const TxnNodeOp&) const = default;
};

struct TxnServiceOp {
  TxnCatalogVerb verb = TxnCatalogVerb::get;
  std::string node;
  Service service;  // found by (node, service.id)
  bool operator==(const TxnServiceOp&) const = default;
};

struct TxnCheckOp {
  TxnCatalogVerb verb = TxnCatalogVerb::get;
  Check check;  // found by (check.node, check.check_id)
  bool operator==(const TxnCheckOp&) const = default;
};

using TxnOp = std::variant<TxnKvOp, TxnNodeOp, TxnServiceOp, TxnCheckOp>;

// Operations applied in order at one index, all or none: if any fails, the
// store is left as it was before the transaction.
struct Transaction {
  std::vector<TxnOp> ops;
  bool operator==(const Transaction&) const = default;
};

// Whether no operation writes (Consul serves such a transaction as a read).
bool is_read_only(const Transaction& transaction);

using CommandBody = std::variant<RegisterNode, DeregisterNode, UpdateTags, UpdateCheck, KvCommand,
                                 CreateSession, DestroySession, ReapKvTombstones, Transaction, RestoreCatalog>;

struct Command {
  // Wall-clock time of the submitter, nanoseconds since the Unix epoch. The
  // store uses it for lock-delay deadlines instead of reading a clock.
  int64_t time_ns = 0;
  CommandBody body;
  bool operator==(const Command&) const = default;
};

}  // namespace roster::catalog
