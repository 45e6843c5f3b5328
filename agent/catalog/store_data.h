#pragma once

// StoreData: the whole catalog as plain data. Its own header because a
// command (RestoreCatalog) carries one, and the store includes the commands.

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "agent/catalog/types.h"

namespace roster::catalog {

// Everything the store holds, as plain data. Snapshot and restore copy it whole.
struct StoreData {
  Index last_index = 0;
  std::map<std::string, Node> nodes;                                      // by name
  // Node name -> last change to the node, its services or its checks: the
  // index of /v1/catalog/node/<n>. Node::modify_index moves only when the node
  // itself changes, as in Consul, so it never passes the nodes table index.
  std::map<std::string, Index> node_indexes;
  std::map<std::pair<std::string, std::string>, Service> services;        // (node, service id)
  std::map<std::pair<std::string, std::string>, Check> checks;            // (node, check id)
  std::map<std::string, KvEntry> kvs;                                     // by key
  std::map<std::string, Index> kv_tombstones;                             // deleted key -> delete index
  // Directory of a reaped tombstone's key (up to its last '/', "" for none)
  // -> the highest reaped delete index there. A KV query's index is at least
  // the floor of every directory its keys could have been in.
  std::map<std::string, Index> kv_reaped_floors;
  std::map<std::string, int64_t> kv_lock_delays;                          // key -> unix ns until which acquire fails
  std::map<std::string, Session> sessions;                                // by id
  std::map<std::string, Index> table_indexes;                             // "nodes", "services", "checks", "kvs", "sessions"
  std::map<std::string, Index> service_indexes;                           // service name -> last instance change
  std::map<std::string, Index> service_health_indexes;                    // service name -> last check change
  bool operator==(const StoreData&) const = default;
};

}  // namespace roster::catalog
