#include "agent/catalog/state_store.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <utility>

namespace roster::catalog {

namespace {

constexpr const char* kNodesTable = "nodes";
constexpr const char* kServicesTable = "services";
constexpr const char* kChecksTable = "checks";
constexpr const char* kKvsTable = "kvs";
constexpr const char* kSessionsTable = "sessions";

// Records compare equal when they differ only in the indexes the store assigns,
// which is what decides whether a write is a no-op.
template <typename Record>
bool same_content(const Record& stored, Record candidate) {
  candidate.create_index = stored.create_index;
  candidate.modify_index = stored.modify_index;
  return stored == candidate;
}

bool has_prefix(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Index at_least_one(Index index) { return std::max<Index>(index, 1); }

// "a/b/" for "a/b/c", "" for "abc": where a reaped key's floor is kept.
std::string kv_directory(const std::string& key) {
  const size_t slash = key.rfind('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash + 1);
}

// time_ns + the delay, capped and saturating: a session from an older
// snapshot may carry any delay, and a command any time.
int64_t lock_delay_deadline(int64_t time_ns, int64_t lock_delay_ns) {
  const int64_t delay = std::clamp<int64_t>(lock_delay_ns, 0, kMaxLockDelayNs);
  if (time_ns > std::numeric_limits<int64_t>::max() - delay) return std::numeric_limits<int64_t>::max();
  return time_ns + delay;
}

}  // namespace

// ---------------------------------------------------------------------------
// apply

Status StateStore::apply(Index index, const Command& command, TxnOutcome* txn_outcome) {
  data_.last_index = index;
  return std::visit(
      [&](const auto& body) -> Status {
        if constexpr (std::is_same_v<std::decay_t<decltype(body)>, Transaction>) {
          return apply_transaction(index, command.time_ns, body, txn_outcome);
        } else {
          return apply_command(index, command.time_ns, body);
        }
      },
      command.body);
}

std::vector<std::string> StateStore::take_changed_watch_keys() {
  std::vector<std::string> keys = std::move(changed_);
  changed_.clear();
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

void StateStore::restore(StoreData data) {
  // Anything present before or after may have changed, so every watcher of
  // that data wakes; data absent from both did not change.
  auto mark_all = [this](const StoreData& state) {
    for (const auto& [name, node] : state.nodes) mark(watch_key::node(name));
    for (const auto& [key, service] : state.services) {
      mark(watch_key::service(service.name));
      mark(watch_key::service_health(service.name));
    }
    for (const auto& [name, index] : state.service_indexes) mark(watch_key::service(name));
    for (const auto& [name, index] : state.service_health_indexes) mark(watch_key::service_health(name));
    for (const auto& [key, entry] : state.kvs) mark(watch_key::kv(key));
    for (const auto& [key, index] : state.kv_tombstones) mark(watch_key::kv(key));
    for (const auto& [id, session] : state.sessions) mark(watch_key::session(id));
  };
  mark_all(data_);
  mark_all(data);
  for (const char* table : {watch_key::kNodes, watch_key::kServices, watch_key::kChecks,
                            watch_key::kSessions, watch_key::kKvs}) {
    mark(table);
  }
  data_ = std::move(data);
}

Status StateStore::apply_command(Index index, int64_t /*time_ns*/, const RestoreCatalog& command) {
  StoreData data = command.data;
  data.last_index = index;
  // The snapshot's aggregate indexes come from another history: older than
  // what blocking clients hold (they would never wake) or newer than this
  // log (later writes would move them backwards). The restore changes every
  // table, node and service at this index, so that is what they report.
  // Records keep their own create/modify indexes: those are content, and
  // CAS tokens a client may hold from before the snapshot was taken.
  for (const char* table : {"nodes", "services", "checks", "kvs", "sessions"}) data.table_indexes[table] = index;
  for (auto& [name, node_index] : data.node_indexes) node_index = index;
  for (const auto& [name, node] : data.nodes) data.node_indexes[name] = index;
  for (auto& [name, service_index] : data.service_indexes) service_index = index;
  for (auto& [name, health_index] : data.service_health_indexes) health_index = index;
  for (const auto& [key, service] : data.services) {
    data.service_indexes[service.name] = index;
    data.service_health_indexes[service.name] = index;
  }
  // KV reads report their records' indexes; a floor in every directory that
  // had or has a key lifts prefix reads (?recurse, ?keys) to this index too.
  // A single key's read still reports its record's modify index.
  for (const StoreData* state : {&data_, &data}) {
    for (const auto& [key, entry] : state->kvs) data.kv_reaped_floors[kv_directory(key)] = index;
    for (const auto& [key, deleted] : state->kv_tombstones) data.kv_reaped_floors[kv_directory(key)] = index;
  }
  restore(std::move(data));
  return Status::ok();
}

// --- RegisterNode ----------------------------------------------------------

Status StateStore::apply_command(Index index, int64_t time_ns, const RegisterNode& command) {
  const std::string& name = command.node.name;
  if (name.empty()) return Status::invalid_argument("node name is required");
  const Node* existing = find_node(name);
  if (command.skip_node_update) {
    if (existing == nullptr) return Status::not_found("node " + name + " is not registered");
  } else {
    if (existing != nullptr && !existing->id.empty() && !command.node.id.empty() &&
        existing->id != command.node.id) {
      return Status::conflict("node name " + name + " is already registered with ID " + existing->id +
                              "; a cloned image must not carry another node's ID");
    }
    // No two nodes hold one ID, so a node that already holds this one needs
    // no search. find_node_by_id walks every node: done for every
    // registration it made 50,000 registrations of 5,000 nodes 50x slower.
    const bool holds_the_id = existing != nullptr && existing->id == command.node.id;
    if (!command.node.id.empty() && !holds_the_id) {
      const Node* holder = find_node_by_id(command.node.id);
      if (holder != nullptr && holder->name != name) {
        return Status::conflict("node ID " + command.node.id + " is already registered to node " +
                                holder->name + "; each node needs its own ID");
      }
    }
  }

  std::optional<Service> service;
  if (command.service) {
    service = *command.service;
    service->node = name;
    if (service->id.empty()) service->id = service->name;
    if (service->name.empty()) return Status::invalid_argument("service name is required");
    if (service->port < 0 || service->port > 65535) {
      return Status::invalid_argument("service " + service->id + " has port " +
                                      std::to_string(service->port) + " outside 0-65535");
    }
  }

  std::vector<Check> checks;
  checks.reserve(command.checks.size());
  for (const Check& given : command.checks) {
    Check check = given;
    check.node = name;
    if (check.check_id.empty()) check.check_id = check.name;
    if (check.check_id.empty()) return Status::invalid_argument("check ID or name is required");
    if (check.status.empty()) check.status = kCritical;
    if (!is_valid_check_status(check.status)) {
      return Status::invalid_argument("check " + check.check_id + " has invalid status \"" + check.status +
                                      "\" (want passing, warning or critical)");
    }
    if (!check.service_id.empty()) {
      const Service* owner = (service && service->id == check.service_id)
                                 ? &*service
                                 : find_service(name, check.service_id);
      if (owner == nullptr) {
        return Status::invalid_argument("check " + check.check_id + " refers to service " + check.service_id +
                                        ", which is not registered on node " + name);
      }
      check.service_name = owner->name;
      check.service_tags = owner->tags;
    } else {
      check.service_name.clear();
      check.service_tags.clear();
    }
    checks.push_back(std::move(check));
  }

  if (!command.skip_node_update) upsert_node(index, command);
  if (service) upsert_service(index, std::move(*service));
  for (Check& check : checks) upsert_check(index, time_ns, std::move(check));
  return Status::ok();
}

void StateStore::upsert_node(Index index, const RegisterNode& command) {
  const Node* existing = find_node(command.node.name);
  Node next = existing ? *existing : Node{};
  next.name = command.node.name;
  // An empty ID (a client that does not know it) keeps the one on record.
  if (!command.node.id.empty()) next.id = command.node.id;
  next.address = command.node.address;
  next.datacenter = command.node.datacenter;
  next.tagged_addresses = command.node.tagged_addresses;
  if (command.operator_tags) next.tags.operator_tags = *command.operator_tags;
  if (command.runtime_tags) next.tags.runtime_tags = *command.runtime_tags;
  if (command.image_tags) next.tags.image_tags = *command.image_tags;
  if (existing != nullptr && same_content(*existing, next)) return;
  if (existing == nullptr) next.create_index = index;
  store_node_change(index, std::move(next));
}

void StateStore::store_node_change(Index index, Node node) {
  node.modify_index = index;
  const std::string name = node.name;
  data_.nodes[name] = std::move(node);
  touch_table(kNodesTable, watch_key::kNodes, index);
  touch_node(name, index);
  // Instance listings embed the node, so its services' readers must wake too.
  for (const Service* service : services_on(name)) touch_service(service->name, index);
}

void StateStore::upsert_service(Index index, Service service) {
  const auto key = std::make_pair(service.node, service.id);
  auto it = data_.services.find(key);
  std::string old_name;
  if (it != data_.services.end()) {
    if (same_content(it->second, service)) return;
    old_name = it->second.name;
    service.create_index = it->second.create_index;
  } else {
    service.create_index = index;
  }
  service.modify_index = index;
  data_.services[key] = service;
  touch_table(kServicesTable, watch_key::kServices, index);
  touch_service(service.name, index);
  if (!old_name.empty() && old_name != service.name) touch_service(old_name, index);
  touch_node(service.node, index);

  // Checks carry the service's name and tags; keep them current.
  bool checks_changed = false;
  for (auto check_it = data_.checks.lower_bound({service.node, ""});
       check_it != data_.checks.end() && check_it->first.first == service.node; ++check_it) {
    Check& check = check_it->second;
    if (check.service_id != service.id) continue;
    if (check.service_name == service.name && check.service_tags == service.tags) continue;
    if (check.service_name != service.name) touch_service_health(check.service_name, index);
    check.service_name = service.name;
    check.service_tags = service.tags;
    check.modify_index = index;
    checks_changed = true;
  }
  if (checks_changed) {
    touch_table(kChecksTable, watch_key::kChecks, index);
    touch_service_health(service.name, index);
  }
}

void StateStore::upsert_check(Index index, int64_t time_ns, Check check) {
  const auto key = std::make_pair(check.node, check.check_id);
  auto it = data_.checks.find(key);
  std::optional<Check> previous;
  if (it != data_.checks.end()) {
    if (same_content(it->second, check)) return;
    previous = it->second;
    check.create_index = it->second.create_index;
  } else {
    check.create_index = index;
  }
  check.modify_index = index;
  data_.checks[key] = check;
  touch_table(kChecksTable, watch_key::kChecks, index);
  touch_node(check.node, index);
  touch_check_health(check, index);
  if (previous && (previous->service_id != check.service_id || previous->service_name != check.service_name)) {
    touch_check_health(*previous, index);
  }
  if (check.status == kCritical) invalidate_sessions_for_check(index, time_ns, check.node, check.check_id);
}

// --- DeregisterNode --------------------------------------------------------

Status StateStore::apply_command(Index index, int64_t time_ns, const DeregisterNode& command) {
  if (command.node.empty()) return Status::invalid_argument("node name is required");
  // Like Consul, removing something that is already gone succeeds.
  if (find_node(command.node) == nullptr) return Status::ok();
  if (!command.service_id.empty()) {
    remove_service(index, time_ns, command.node, command.service_id);
  } else if (!command.check_id.empty()) {
    remove_check(index, time_ns, command.node, command.check_id);
  } else {
    remove_node(index, time_ns, command.node);
  }
  return Status::ok();
}

void StateStore::remove_service(Index index, int64_t time_ns, const std::string& node,
                                const std::string& service_id) {
  auto it = data_.services.find({node, service_id});
  if (it == data_.services.end()) return;
  const std::string name = it->second.name;
  std::vector<std::string> check_ids;
  for (auto check_it = data_.checks.lower_bound({node, ""});
       check_it != data_.checks.end() && check_it->first.first == node; ++check_it) {
    if (check_it->second.service_id == service_id) check_ids.push_back(check_it->first.second);
  }
  for (const auto& check_id : check_ids) remove_check(index, time_ns, node, check_id);
  data_.services.erase({node, service_id});
  touch_table(kServicesTable, watch_key::kServices, index);
  touch_service(name, index);
  touch_node(node, index);
}

void StateStore::remove_check(Index index, int64_t time_ns, const std::string& node,
                              const std::string& check_id) {
  auto it = data_.checks.find({node, check_id});
  if (it == data_.checks.end()) return;
  const Check removed = std::move(it->second);
  data_.checks.erase(it);
  touch_table(kChecksTable, watch_key::kChecks, index);
  touch_node(node, index);
  touch_check_health(removed, index);
  // A session cannot outlive a check it depends on (Consul does the same).
  invalidate_sessions_for_check(index, time_ns, node, check_id);
}

void StateStore::remove_node(Index index, int64_t time_ns, const std::string& node) {
  std::vector<std::string> session_ids;
  for (const auto& [id, session] : data_.sessions) {
    if (session.node == node) session_ids.push_back(id);
  }
  for (const auto& id : session_ids) destroy_session(index, time_ns, id);

  std::vector<std::string> service_ids;
  for (const Service* service : services_on(node)) service_ids.push_back(service->id);
  for (const auto& id : service_ids) remove_service(index, time_ns, node, id);

  std::vector<std::string> check_ids;
  for (auto it = data_.checks.lower_bound({node, ""}); it != data_.checks.end() && it->first.first == node;
       ++it) {
    check_ids.push_back(it->first.second);
  }
  for (const auto& id : check_ids) remove_check(index, time_ns, node, id);

  data_.nodes.erase(node);
  data_.node_indexes.erase(node);
  touch_table(kNodesTable, watch_key::kNodes, index);
  mark(watch_key::node(node));
}

// --- UpdateTags / UpdateCheck ----------------------------------------------

Status StateStore::apply_command(Index index, int64_t, const UpdateTags& command) {
  const Node* existing = find_node(command.node);
  if (existing == nullptr) return Status::not_found("node " + command.node + " is not registered");
  for (const auto& [key, value] : command.set) {
    if (key.empty()) return Status::invalid_argument("tag keys must not be empty");
  }
  Node next = *existing;
  TagMap& layer = next.tags.layer(command.layer);
  for (const auto& key : command.remove) layer.erase(key);
  for (const auto& [key, value] : command.set) layer[key] = value;
  if (same_content(*existing, next)) return Status::ok();
  store_node_change(index, std::move(next));
  return Status::ok();
}

Status StateStore::apply_command(Index index, int64_t time_ns, const UpdateCheck& command) {
  const Check* existing = find_check(command.node, command.check_id);
  if (existing == nullptr) {
    return Status::not_found("check " + command.check_id + " is not registered on node " + command.node);
  }
  if (!is_valid_check_status(command.status)) {
    return Status::invalid_argument("invalid check status \"" + command.status +
                                    "\" (want passing, warning or critical)");
  }
  if (existing->status == command.status && existing->output == command.output) return Status::ok();
  Check next = *existing;
  next.status = command.status;
  next.output = command.output;
  upsert_check(index, time_ns, std::move(next));
  return Status::ok();
}

// --- KV --------------------------------------------------------------------

Status StateStore::apply_command(Index index, int64_t time_ns, const KvCommand& command) {
  if (command.key.empty() && command.op != KvOp::delete_tree) {
    return Status::invalid_argument("a KV key is required");
  }
  auto it = data_.kvs.find(command.key);
  const KvEntry* existing = it == data_.kvs.end() ? nullptr : &it->second;
  auto updated = [&]() {
    KvEntry entry = existing ? *existing : KvEntry{};
    entry.key = command.key;
    entry.value = command.value;
    entry.flags = command.flags;
    return entry;
  };

  switch (command.op) {
    case KvOp::set:
      write_kv(index, updated());
      return Status::ok();

    case KvOp::cas:
      if (command.cas_index == 0 && existing != nullptr) {
        return Status::conflict("key " + command.key + " already exists");
      }
      if (command.cas_index != 0 && (existing == nullptr || existing->modify_index != command.cas_index)) {
        return Status::conflict("CAS index " + std::to_string(command.cas_index) + " does not match " +
                                (existing ? std::to_string(existing->modify_index) : std::string("a missing key")));
      }
      write_kv(index, updated());
      return Status::ok();

    case KvOp::delete_key:
      if (existing != nullptr) delete_kv(index, command.key);
      return Status::ok();

    case KvOp::delete_cas:
      if (existing == nullptr) return Status::ok();
      if (existing->modify_index != command.cas_index) {
        return Status::conflict("CAS index " + std::to_string(command.cas_index) + " does not match " +
                                std::to_string(existing->modify_index));
      }
      delete_kv(index, command.key);
      return Status::ok();

    case KvOp::delete_tree: {
      std::vector<std::string> doomed;
      for (auto kv_it = data_.kvs.lower_bound(command.key);
           kv_it != data_.kvs.end() && has_prefix(kv_it->first, command.key); ++kv_it) {
        doomed.push_back(kv_it->first);
      }
      for (const auto& key : doomed) delete_kv(index, key);
      return Status::ok();
    }

    case KvOp::lock: {
      if (command.session.empty()) return Status::invalid_argument("lock requires a session");
      if (data_.sessions.count(command.session) == 0) {
        return Status::invalid_argument("session " + command.session + " does not exist");
      }
      if (existing != nullptr && !existing->session.empty() && existing->session != command.session) {
        return Status::conflict("key " + command.key + " is locked by session " + existing->session);
      }
      const bool new_holder = existing == nullptr || existing->session != command.session;
      if (new_holder) {
        auto delay = data_.kv_lock_delays.find(command.key);
        if (delay != data_.kv_lock_delays.end()) {
          if (delay->second > time_ns) {
            return Status::conflict("key " + command.key + " is in its lock-delay period");
          }
          data_.kv_lock_delays.erase(delay);
        }
      }
      KvEntry entry = updated();
      if (new_holder) {
        entry.session = command.session;
        entry.lock_index += 1;
      }
      write_kv(index, std::move(entry));
      return Status::ok();
    }

    case KvOp::unlock: {
      if (command.session.empty()) return Status::invalid_argument("unlock requires a session");
      if (existing == nullptr || existing->session != command.session) {
        return Status::conflict("key " + command.key + " is not locked by session " + command.session);
      }
      KvEntry entry = updated();
      entry.session.clear();
      write_kv(index, std::move(entry));
      return Status::ok();
    }
  }
  return Status::invalid_argument("unknown KV operation");
}

bool StateStore::write_kv(Index index, KvEntry entry) {
  auto it = data_.kvs.find(entry.key);
  if (it != data_.kvs.end()) {
    if (same_content(it->second, entry)) return false;
    entry.create_index = it->second.create_index;
  } else {
    entry.create_index = index;
  }
  entry.modify_index = index;
  const std::string key = entry.key;
  data_.kvs[key] = std::move(entry);
  data_.kv_tombstones.erase(key);
  touch_table(kKvsTable, watch_key::kKvs, index);
  mark(watch_key::kv(key));
  return true;
}

void StateStore::delete_kv(Index index, const std::string& key) {
  data_.kvs.erase(key);
  data_.kv_tombstones[key] = index;
  touch_table(kKvsTable, watch_key::kKvs, index);
  mark(watch_key::kv(key));
}

Status StateStore::apply_command(Index, int64_t, const ReapKvTombstones& command) {
  // Nothing a reader sees changes, so no watcher wakes; only the indexes that
  // the tombstones held move into their directories' floors.
  for (auto it = data_.kv_tombstones.begin(); it != data_.kv_tombstones.end();) {
    if (it->second > command.up_to) {
      ++it;
      continue;
    }
    Index& floor = data_.kv_reaped_floors[kv_directory(it->first)];
    floor = std::max(floor, it->second);
    it = data_.kv_tombstones.erase(it);
  }
  return Status::ok();
}

bool StateStore::has_kv_tombstones_through(Index index) const {
  return std::any_of(data_.kv_tombstones.begin(), data_.kv_tombstones.end(),
                     [index](const auto& tombstone) { return tombstone.second <= index; });
}

// --- Sessions --------------------------------------------------------------

Status StateStore::apply_command(Index index, int64_t, const CreateSession& command) {
  Session session = command.session;
  if (session.id.empty()) return Status::invalid_argument("session ID is required");
  if (data_.sessions.count(session.id) != 0) {
    return Status::invalid_argument("session " + session.id + " already exists");
  }
  if (session.node.empty()) return Status::invalid_argument("session node is required");
  if (find_node(session.node) == nullptr) {
    return Status::invalid_argument("node " + session.node + " is not registered");
  }
  if (session.behavior.empty()) session.behavior = "release";
  if (session.behavior != "release" && session.behavior != "delete") {
    return Status::invalid_argument("session behavior must be release or delete, not \"" + session.behavior + "\"");
  }
  if (session.ttl_ns < 0) return Status::invalid_argument("session TTL must not be negative");
  if (session.lock_delay_ns < 0) return Status::invalid_argument("session lock delay must not be negative");
  session.lock_delay_ns = std::min(session.lock_delay_ns, kMaxLockDelayNs);
  for (const auto* list : {&session.node_checks, &session.service_checks}) {
    for (const auto& check_id : *list) {
      const Check* check = find_check(session.node, check_id);
      if (check == nullptr) {
        return Status::invalid_argument("check " + check_id + " is not registered on node " + session.node);
      }
      if (check->status == kCritical) {
        return Status::invalid_argument("check " + check_id + " on node " + session.node +
                                        " is critical; a session cannot depend on it");
      }
    }
  }
  session.create_index = index;
  session.modify_index = index;
  const std::string id = session.id;
  data_.sessions[id] = std::move(session);
  touch_table(kSessionsTable, watch_key::kSessions, index);
  mark(watch_key::session(id));
  return Status::ok();
}

Status StateStore::apply_command(Index index, int64_t time_ns, const DestroySession& command) {
  if (command.id.empty()) return Status::invalid_argument("session ID is required");
  destroy_session(index, time_ns, command.id);
  return Status::ok();
}

void StateStore::destroy_session(Index index, int64_t time_ns, const std::string& id) {
  auto it = data_.sessions.find(id);
  if (it == data_.sessions.end()) return;
  const Session session = std::move(it->second);
  data_.sessions.erase(it);

  std::vector<std::string> held;
  for (const auto& [key, entry] : data_.kvs) {
    if (entry.session == id) held.push_back(key);
  }
  for (const auto& key : held) {
    if (session.behavior == "delete") {
      delete_kv(index, key);
    } else {
      KvEntry entry = data_.kvs[key];
      entry.session.clear();
      write_kv(index, std::move(entry));
    }
    if (session.lock_delay_ns > 0) data_.kv_lock_delays[key] = lock_delay_deadline(time_ns, session.lock_delay_ns);
  }
  touch_table(kSessionsTable, watch_key::kSessions, index);
  mark(watch_key::session(id));
}

void StateStore::invalidate_sessions_for_check(Index index, int64_t time_ns, const std::string& node,
                                               const std::string& check_id) {
  std::vector<std::string> doomed;
  for (const auto& [id, session] : data_.sessions) {
    if (session.node == node && (contains(session.node_checks, check_id) || contains(session.service_checks, check_id))) {
      doomed.push_back(id);
    }
  }
  for (const auto& id : doomed) destroy_session(index, time_ns, id);
}

// --- index and watch bookkeeping ------------------------------------------

void StateStore::mark(std::string watch_key) { changed_.push_back(std::move(watch_key)); }

void StateStore::touch_table(const char* table, const char* watch_key, Index index) {
  data_.table_indexes[table] = index;
  mark(watch_key);
}

void StateStore::touch_node(const std::string& node, Index index) {
  if (data_.nodes.count(node) != 0) data_.node_indexes[node] = index;
  mark(watch_key::node(node));
}

void StateStore::touch_service(const std::string& name, Index index) {
  data_.service_indexes[name] = index;
  mark(watch_key::service(name));
}

void StateStore::touch_service_health(const std::string& name, Index index) {
  data_.service_health_indexes[name] = index;
  mark(watch_key::service_health(name));
}

void StateStore::touch_check_health(const Check& check, Index index) {
  if (!check.service_id.empty()) {
    touch_service_health(check.service_name, index);
    return;
  }
  // A node-level check counts toward the health of every service on the node.
  for (const Service* service : services_on(check.node)) touch_service_health(service->name, index);
}

// ---------------------------------------------------------------------------
// queries

const Node* StateStore::find_node(const std::string& name) const {
  auto it = data_.nodes.find(name);
  return it == data_.nodes.end() ? nullptr : &it->second;
}

const Node* StateStore::find_node_by_id(const std::string& id) const {
  if (id.empty()) return nullptr;
  for (const auto& [name, node] : data_.nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

const Service* StateStore::find_service(const std::string& node, const std::string& service_id) const {
  auto it = data_.services.find({node, service_id});
  return it == data_.services.end() ? nullptr : &it->second;
}

const Check* StateStore::find_check(const std::string& node, const std::string& check_id) const {
  auto it = data_.checks.find({node, check_id});
  return it == data_.checks.end() ? nullptr : &it->second;
}

std::vector<const Service*> StateStore::services_on(const std::string& node) const {
  std::vector<const Service*> result;
  for (auto it = data_.services.lower_bound({node, ""}); it != data_.services.end() && it->first.first == node;
       ++it) {
    result.push_back(&it->second);
  }
  return result;
}

Index StateStore::table_index(const char* table) const {
  auto it = data_.table_indexes.find(table);
  return at_least_one(it == data_.table_indexes.end() ? 0 : it->second);
}

Index StateStore::node_index(const std::string& node) const {
  const Node* found = find_node(node);
  if (found == nullptr) return table_index(kNodesTable);
  auto it = data_.node_indexes.find(node);
  return at_least_one(std::max(found->modify_index, it == data_.node_indexes.end() ? 0 : it->second));
}

Index StateStore::service_index(const std::string& service) const {
  Index index = 0;
  if (auto it = data_.service_indexes.find(service); it != data_.service_indexes.end()) index = it->second;
  if (auto it = data_.service_health_indexes.find(service); it != data_.service_health_indexes.end()) {
    index = std::max(index, it->second);
  }
  return at_least_one(index);
}

Index StateStore::kv_prefix_index(const std::string& prefix) const {
  Index index = 0;
  for (auto it = data_.kvs.lower_bound(prefix); it != data_.kvs.end() && has_prefix(it->first, prefix); ++it) {
    index = std::max(index, it->second.modify_index);
  }
  for (auto it = data_.kv_tombstones.lower_bound(prefix);
       it != data_.kv_tombstones.end() && has_prefix(it->first, prefix); ++it) {
    index = std::max(index, it->second);
  }
  return at_least_one(std::max(index, kv_reaped_floor(prefix)));
}

Index StateStore::kv_reaped_floor(const std::string& prefix) const {
  const auto& floors = data_.kv_reaped_floors;
  if (floors.empty()) return 0;
  // A reaped key under `prefix` had its directory under `prefix` too, unless
  // `prefix` ends inside the key's last segment: then both share a directory.
  Index floor = 0;
  for (auto it = floors.lower_bound(prefix); it != floors.end() && has_prefix(it->first, prefix); ++it) {
    floor = std::max(floor, it->second);
  }
  if (auto it = floors.find(kv_directory(prefix)); it != floors.end()) floor = std::max(floor, it->second);
  return floor;
}

std::vector<Check> StateStore::health_checks_for(const Service& service) const {
  std::vector<Check> result;
  for (auto it = data_.checks.lower_bound({service.node, ""});
       it != data_.checks.end() && it->first.first == service.node; ++it) {
    if (it->second.service_id.empty() || it->second.service_id == service.id) result.push_back(it->second);
  }
  return result;
}

Query<std::vector<Node>> StateStore::nodes(WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kNodes);
  Query<std::vector<Node>> result;
  result.value.reserve(data_.nodes.size());
  for (const auto& [name, node] : data_.nodes) result.value.push_back(node);
  result.index = table_index(kNodesTable);
  return result;
}

Query<std::optional<NodeServices>> StateStore::node(const std::string& name, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::node(name));
  Query<std::optional<NodeServices>> result;
  result.index = node_index(name);
  if (const Node* found = find_node(name)) {
    NodeServices node_services;
    node_services.node = *found;
    for (const Service* service : services_on(name)) node_services.services.push_back(*service);
    result.value = std::move(node_services);
  }
  return result;
}

Query<std::map<std::string, std::vector<std::string>>> StateStore::services(WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kServices);
  Query<std::map<std::string, std::vector<std::string>>> result;
  for (const auto& [key, service] : data_.services) {
    auto& tags = result.value[service.name];
    tags.insert(tags.end(), service.tags.begin(), service.tags.end());
  }
  for (auto& [name, tags] : result.value) {
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  }
  result.index = table_index(kServicesTable);
  return result;
}

Query<std::vector<ServiceInstance>> StateStore::service_instances(const std::string& service,
                                                                  WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::service(service));
  Query<std::vector<ServiceInstance>> result;
  for (const auto& [key, instance] : data_.services) {
    if (instance.name != service) continue;
    const Node* host = find_node(instance.node);
    if (host == nullptr) continue;
    result.value.push_back(ServiceInstance{*host, instance});
  }
  auto it = data_.service_indexes.find(service);
  result.index = at_least_one(it == data_.service_indexes.end() ? 0 : it->second);
  return result;
}

Query<std::vector<Service>> StateStore::node_services(const std::string& node, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::node(node));
  Query<std::vector<Service>> result;
  for (const Service* service : services_on(node)) result.value.push_back(*service);
  result.index = node_index(node);
  return result;
}

Query<std::vector<HealthEntry>> StateStore::service_health(const std::string& service, WatchKeys* watch) const {
  if (watch) {
    watch->insert(watch_key::service(service));
    watch->insert(watch_key::service_health(service));
  }
  Query<std::vector<HealthEntry>> result;
  for (const auto& [key, instance] : data_.services) {
    if (instance.name != service) continue;
    const Node* host = find_node(instance.node);
    if (host == nullptr) continue;
    result.value.push_back(HealthEntry{*host, instance, health_checks_for(instance)});
  }
  result.index = service_index(service);
  return result;
}

Query<std::vector<Check>> StateStore::service_checks(const std::string& service, WatchKeys* watch) const {
  if (watch) {
    watch->insert(watch_key::service(service));
    watch->insert(watch_key::service_health(service));
  }
  Query<std::vector<Check>> result;
  for (const auto& [key, check] : data_.checks) {
    if (!check.service_id.empty() && check.service_name == service) result.value.push_back(check);
  }
  result.index = service_index(service);
  return result;
}

Query<std::vector<Check>> StateStore::node_checks(const std::string& node, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::node(node));
  Query<std::vector<Check>> result;
  for (auto it = data_.checks.lower_bound({node, ""}); it != data_.checks.end() && it->first.first == node;
       ++it) {
    result.value.push_back(it->second);
  }
  result.index = node_index(node);
  return result;
}

Query<std::vector<Check>> StateStore::checks_in_state(const std::string& state, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kChecks);
  Query<std::vector<Check>> result;
  for (const auto& [key, check] : data_.checks) {
    if (state == "any" || check.status == state) result.value.push_back(check);
  }
  result.index = table_index(kChecksTable);
  return result;
}

Query<std::optional<KvEntry>> StateStore::kv_get(const std::string& key, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kv(key));
  Query<std::optional<KvEntry>> result;
  if (auto it = data_.kvs.find(key); it != data_.kvs.end()) {
    result.value = it->second;
    result.index = at_least_one(it->second.modify_index);
  } else if (auto tomb = data_.kv_tombstones.find(key); tomb != data_.kv_tombstones.end()) {
    result.index = at_least_one(tomb->second);
  } else {
    result.index = at_least_one(kv_reaped_floor(key));
  }
  return result;
}

Query<std::vector<KvEntry>> StateStore::kv_list(const std::string& prefix, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kv_prefix(prefix));
  Query<std::vector<KvEntry>> result;
  for (auto it = data_.kvs.lower_bound(prefix); it != data_.kvs.end() && has_prefix(it->first, prefix); ++it) {
    result.value.push_back(it->second);
  }
  result.index = kv_prefix_index(prefix);
  return result;
}

Query<std::vector<std::string>> StateStore::kv_keys(const std::string& prefix, const std::string& separator,
                                                    WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kv_prefix(prefix));
  Query<std::vector<std::string>> result;
  for (auto it = data_.kvs.lower_bound(prefix); it != data_.kvs.end() && has_prefix(it->first, prefix); ++it) {
    std::string key = it->first;
    if (!separator.empty()) {
      auto cut = key.find(separator, prefix.size());
      if (cut != std::string::npos) key.resize(cut + separator.size());
    }
    if (result.value.empty() || result.value.back() != key) result.value.push_back(std::move(key));
  }
  result.index = kv_prefix_index(prefix);
  return result;
}

Query<std::optional<Session>> StateStore::session(const std::string& id, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::session(id));
  Query<std::optional<Session>> result;
  if (auto it = data_.sessions.find(id); it != data_.sessions.end()) {
    result.value = it->second;
    result.index = at_least_one(it->second.modify_index);
  } else {
    result.index = table_index(kSessionsTable);
  }
  return result;
}

Query<std::vector<Session>> StateStore::sessions(WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kSessions);
  Query<std::vector<Session>> result;
  for (const auto& [id, session] : data_.sessions) result.value.push_back(session);
  result.index = table_index(kSessionsTable);
  return result;
}

Query<std::vector<Session>> StateStore::node_sessions(const std::string& node, WatchKeys* watch) const {
  if (watch) watch->insert(watch_key::kSessions);
  Query<std::vector<Session>> result;
  for (const auto& [id, session] : data_.sessions) {
    if (session.node == node) result.value.push_back(session);
  }
  result.index = table_index(kSessionsTable);
  return result;
}

}  // namespace roster::catalog
