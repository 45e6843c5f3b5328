#pragma once

// The narrow seam between roster-deploy and the catalog: blocking reads of
// the node list and of the roster/deploy/ KV tree, KV writes, and the
// session calls the standby lock needs. HttpCatalogApi implements it over the
// agent's HTTP API; tests/fakes/fake_catalog_api.h in memory.
//
// Blocking reads follow Consul's blocking queries: they return when the data
// changed past `index`, or after `wait` with the same index. Every call may
// fail with unavailable (the agent cannot be reached); callers hold on to
// what they last read.
//
// Thread safety: implementations must allow calls from several threads at
// once (one watcher thread per blocking read, the planning loop writing, the
// lock renewing its session).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace roster::deploy {

struct CatalogNode {
  std::string name;
  std::string id;
  std::string address;
  std::map<std::string, std::string> tags;  // merged (Consul's Meta)
};

struct NodeList {
  uint64_t index = 0;
  std::vector<CatalogNode> nodes;  // sorted by name
};

struct KvEntry {
  std::string key;
  std::string value;  // decoded bytes
  uint64_t modify_index = 0;
  std::string session;  // the lock holder, when held
};

struct KvTree {
  uint64_t index = 0;
  std::vector<KvEntry> entries;  // sorted by key; empty when the prefix holds nothing
};

class CatalogApi {
 public:
  virtual ~CatalogApi() = default;

  // GET /v1/catalog/nodes?index=&wait=
  virtual Result<NodeList> nodes(uint64_t index, std::chrono::milliseconds wait) = 0;
  // GET /v1/kv/<prefix>?recurse&index=&wait=. An empty tree is not an error.
  virtual Result<KvTree> kv_tree(const std::string& prefix, uint64_t index, std::chrono::milliseconds wait) = 0;
  // GET /v1/kv/<key>?index=&wait=; entries holds the key or nothing.
  virtual Result<KvTree> kv_get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) = 0;

  virtual Status kv_put(const std::string& key, const std::string& value) = 0;
  virtual Status kv_delete(const std::string& key) = 0;

  // PUT /v1/session/create with Behavior delete; returns the session ID.
  virtual Result<std::string> session_create(const std::string& name, std::chrono::seconds ttl,
                                             std::chrono::seconds lock_delay) = 0;
  // not_found when the session no longer exists (expired or invalidated).
  virtual Status session_renew(const std::string& session) = 0;
  virtual Status session_destroy(const std::string& session) = 0;
  // PUT /v1/kv/<key>?acquire= / ?release=; false when another session holds it
  // (or the lock delay is running).
  virtual Result<bool> kv_acquire(const std::string& key, const std::string& value, const std::string& session) = 0;
  virtual Result<bool> kv_release(const std::string& key, const std::string& session) = 0;
};

}  // namespace roster::deploy
