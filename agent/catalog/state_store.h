#pragma once

// The catalog state store: the replicated state machine behind the catalog.
//
// Plain data. No threads, no I/O, no clock: apply() is a pure function of the
// current state and the command, so snapshots and replays are exact.
//
// Thread affinity: none of its own; the owner (the agent's core strand) must
// serialise all calls.
//
// Indexes. Every command is applied at a log index. Each table, KV key,
// service name and node keeps the index of its last change, so a blocking query
// reports the index of exactly the data it read.
//
// Watches. Every query adds the watch keys of the data it read to an optional
// WatchKeys; apply() records the watch keys it touched, which the owner drains
// with take_changed_watch_keys() and hands to the WatchHub. A watcher wakes only
// when data it read changed.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "agent/catalog/command.h"
#include "agent/catalog/store_data.h"
#include "agent/catalog/types.h"
#include "common/status.h"

namespace roster::catalog {

// Watch key spellings, shared by the store and the watch hub.
namespace watch_key {
std::string kv(const std::string& key);                // one KV key
std::string kv_prefix(const std::string& prefix);      // a recurse/keys query
std::string node(const std::string& name);             // a node, its services and checks
std::string service(const std::string& name);          // a service's instances
std::string service_health(const std::string& name);   // the checks of a service's instances
std::string session(const std::string& id);
inline constexpr const char* kNodes = "table:nodes";
inline constexpr const char* kServices = "table:services";
inline constexpr const char* kChecks = "table:checks";
inline constexpr const char* kSessions = "table:sessions";
inline constexpr const char* kKvs = "table:kvs";
}  // namespace watch_key

using WatchKeys = std::set<std::string>;

// A query's answer with the index clients block on (always >= 1).
template <typename T>
struct Query {
  T value;
  Index index = 1;
};

struct ServiceInstance {  // a row of /v1/catalog/service/<s>
  Node node;
  Service service;
};

struct HealthEntry {  // a row of /v1/health/service/<s>
  Node node;
  Service service;
  std::vector<Check> checks;  // node-level checks and the service's own
};

struct NodeServices {  // /v1/catalog/node/<n>
  Node node;
  std::vector<Service> services;
};

// One result of a transaction: the record an operation read or wrote.
// Written KV entries come back without their value, as in Consul.
using TxnResult = std::variant<KvEntry, Node, Service, Check>;

struct TxnError {
  size_t op_index = 0;  // position of the failed operation in the transaction
  std::string what;
};

// Either results (every operation succeeded; deletes and checks add none) or
// errors (one per failed operation; then the transaction changed nothing).
struct TxnOutcome {
  std::vector<TxnResult> results;
  std::vector<TxnError> errors;
  bool ok() const { return errors.empty(); }
};

class StateStore {
 public:
  StateStore() = default;

  // Applies one command at log index `index`.
  // REQUIRES: index > last_index().
  // A command that fails (bad reference, CAS mismatch, lock held) changes
  // nothing but last_index(). A failed CAS or lock returns StatusCode::conflict.
  //
  // A Transaction applies its operations in order, each seeing the ones
  // before it. All of them are tried, so every failure is reported; if any
  // failed, the store is put back as it was (watch keys included) and the
  // result is StatusCode::conflict. `txn_outcome`, when given, receives the
  // per-operation results or errors. Rolling back copies the store once per
  // transaction that writes: O(size of the catalog).
  Status apply(Index index, const Command& command, TxnOutcome* txn_outcome = nullptr);
  Index last_index() const { return data_.last_index; }

  // Whether a KV tombstone at or below `index` exists (ReapKvTombstones
  // would change something). O(tombstones).
  bool has_kv_tombstones_through(Index index) const;

  // Runs a transaction of reads only (Consul's Txn.Read): the same results
  // and errors as applying it, without an index or a write.
  // REQUIRES: is_read_only(transaction).
  TxnOutcome read_transaction(const Transaction& transaction) const;

  // Watch keys touched since the last call.
  std::vector<std::string> take_changed_watch_keys();

  // --- snapshot ---
  const StoreData& snapshot() const { return data_; }
  void restore(StoreData data);

  // --- nodes and services ---
  Query<std::vector<Node>> nodes(WatchKeys* watch = nullptr) const;
  Query<std::optional<NodeServices>> node(const std::string& name, WatchKeys* watch = nullptr) const;
  const Node* find_node(const std::string& name) const;
  const Node* find_node_by_id(const std::string& id) const;
  // Service name -> union of its instances' tags.
  Query<std::map<std::string, std::vector<std::string>>> services(WatchKeys* watch = nullptr) const;
  Query<std::vector<ServiceInstance>> service_instances(const std::string& service, WatchKeys* watch = nullptr) const;
  Query<std::vector<Service>> node_services(const std::string& node, WatchKeys* watch = nullptr) const;

  // --- health ---
  Query<std::vector<HealthEntry>> service_health(const std::string& service, WatchKeys* watch = nullptr) const;
  Query<std::vector<Check>> service_checks(const std::string& service, WatchKeys* watch = nullptr) const;
  Query<std::vector<Check>> node_checks(const std::string& node, WatchKeys* watch = nullptr) const;
  // state is "any", "passing", "warning" or "critical".
  Query<std::vector<Check>> checks_in_state(const std::string& state, WatchKeys* watch = nullptr) const;
  const Check* find_check(const std::string& node, const std::string& check_id) const;

  // --- KV ---
  Query<std::optional<KvEntry>> kv_get(const std::string& key, WatchKeys* watch = nullptr) const;
  Query<std::vector<KvEntry>> kv_list(const std::string& prefix, WatchKeys* watch = nullptr) const;
  // Keys under prefix; with a separator, keys are rolled up at the first
  // separator after the prefix ("a/b/" for a/b/c with separator "/").
  Query<std::vector<std::string>> kv_keys(const std::string& prefix, const std::string& separator,
                                          WatchKeys* watch = nullptr) const;

  // --- sessions ---
  Query<std::optional<Session>> session(const std::string& id, WatchKeys* watch = nullptr) const;
  Query<std::vector<Session>> sessions(WatchKeys* watch = nullptr) const;
  Query<std::vector<Session>> node_sessions(const std::string& node, WatchKeys* watch = nullptr) const;

 private:
  Status apply_command(Index index, int64_t time_ns, const RegisterNode& command);
  Status apply_command(Index index, int64_t time_ns, const DeregisterNode& command);
  Status apply_command(Index index, int64_t time_ns, const UpdateTags& command);
  Status apply_command(Index index, int64_t time_ns, const UpdateCheck& command);
  Status apply_command(Index index, int64_t time_ns, const KvCommand& command);
  Status apply_command(Index index, int64_t time_ns, const CreateSession& command);
  Status apply_command(Index index, int64_t time_ns, const DestroySession& command);
  Status apply_command(Index index, int64_t time_ns, const ReapKvTombstones& command);
  Status apply_command(Index index, int64_t time_ns, const RestoreCatalog& command);
  Status apply_transaction(Index index, int64_t time_ns, const Transaction& transaction, TxnOutcome* outcome);

  // One transaction operation (state_store_txn.cc). Results go to `results`
  // only on success; the read verbs never change anything.
  Status apply_txn_op(Index index, int64_t time_ns, const TxnKvOp& op, std::vector<TxnResult>& results);
  Status apply_txn_op(Index index, int64_t time_ns, const TxnNodeOp& op, std::vector<TxnResult>& results);
  Status apply_txn_op(Index index, int64_t time_ns, const TxnServiceOp& op, std::vector<TxnResult>& results);
  Status apply_txn_op(Index index, int64_t time_ns, const TxnCheckOp& op, std::vector<TxnResult>& results);
  Status read_txn_op(const TxnKvOp& op, std::vector<TxnResult>& results) const;
  Status read_txn_op(const TxnNodeOp& op, std::vector<TxnResult>& results) const;
  Status read_txn_op(const TxnServiceOp& op, std::vector<TxnResult>& results) const;
  Status read_txn_op(const TxnCheckOp& op, std::vector<TxnResult>& results) const;
  const Node* find_txn_node(const Node& wanted) const;

  // Mutations below assume the command was validated; each bumps only what changed.
  void upsert_node(Index index, const RegisterNode& command);
  void upsert_service(Index index, Service service);
  void upsert_check(Index index, int64_t time_ns, Check check);
  void remove_service(Index index, int64_t time_ns, const std::string& node, const std::string& service_id);
  void remove_check(Index index, int64_t time_ns, const std::string& node, const std::string& check_id);
  void remove_node(Index index, int64_t time_ns, const std::string& node);
  void store_node_change(Index index, Node node);
  bool write_kv(Index index, KvEntry entry);
  void delete_kv(Index index, const std::string& key);
  void destroy_session(Index index, int64_t time_ns, const std::string& id);
  void invalidate_sessions_for_check(Index index, int64_t time_ns, const std::string& node,
                                     const std::string& check_id);

  void mark(std::string watch_key);
  void touch_table(const char* table, const char* watch_key, Index index);
  void touch_node(const std::string& node, Index index);
  void touch_service(const std::string& name, Index index);
  void touch_service_health(const std::string& name, Index index);
  void touch_check_health(const Check& check, Index index);

  const Service* find_service(const std::string& node, const std::string& service_id) const;
  std::vector<const Service*> services_on(const std::string& node) const;
  Index table_index(const char* table) const;
  Index node_index(const std::string& node) const;
  Index service_index(const std::string& service) const;
  Index kv_prefix_index(const std::string& prefix) const;
  Index kv_reaped_floor(const std::string& prefix) const;
  std::vector<Check> health_checks_for(const Service& service) const;

  StoreData data_;
  std::vector<std::string> changed_;
};

}  // namespace roster::catalog
