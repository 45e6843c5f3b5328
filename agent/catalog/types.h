#pragma once

// Plain-data records of the catalog. No behaviour beyond comparison and the
// tag-layer merge; the state store owns every instance.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/check_status.h"

namespace roster::catalog {

using Index = uint64_t;
using TagMap = std::map<std::string, std::string>;

// The three owners of a node's tags (DESIGN.md, "Tags: who owns what").
enum class TagLayer { operator_layer, runtime_layer, image_layer };
const char* tag_layer_name(TagLayer layer);  // "operator", "runtime", "image"

struct NodeTags {
  TagMap operator_tags;  // written through the catalog API; highest precedence
  TagMap runtime_tags;   // set on the node's agent (API or a `tag` task)
  TagMap image_tags;     // from the agent's config file; lowest precedence

  // Per key, the highest layer that has it wins.
  TagMap merged() const;
  TagMap& layer(TagLayer which);
  const TagMap& layer(TagLayer which) const;
  bool operator==(const NodeTags&) const = default;
};

struct Node {
  std::string id;  // UUID made at the agent's first start
  std::string name;
  std::string address;
  std::string datacenter;
  std::map<std::string, std::string> tagged_addresses;
  NodeTags tags;  // exposed to Consul clients as NodeMeta (the merged view)
  Index create_index = 0;
  Index modify_index = 0;
  bool operator==(const Node&) const = default;
};

struct Service {
  std::string node;  // name of the node that hosts the instance
  std::string id;    // unique per node; defaults to the name
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  int port = 0;
  std::map<std::string, std::string> meta;
  bool enable_tag_override = false;
  Index create_index = 0;
  Index modify_index = 0;
  bool operator==(const Service&) const = default;
};

using roster::is_valid_check_status;
using roster::kCritical;
using roster::kPassing;
using roster::kWarning;

struct Check {
  std::string node;
  std::string check_id;
  std::string name;
  std::string status = kCritical;
  std::string notes;
  std::string output;
  std::string service_id;    // empty for a node-level check
  std::string service_name;
  std::vector<std::string> service_tags;
  std::string type;          // "ttl", "http", "tcp", "script", "maintenance" or ""
  std::string interval;      // as given, Go duration text; informational in the catalog
  std::string timeout;
  Index create_index = 0;
  Index modify_index = 0;
  bool operator==(const Check&) const = default;
};

struct KvEntry {
  std::string key;
  std::string value;  // raw bytes
  uint64_t flags = 0;
  std::string session;  // holder of the lock, if any
  Index lock_index = 0;
  Index create_index = 0;
  Index modify_index = 0;
  bool operator==(const KvEntry&) const = default;
};

// The longest lock-delay a session gets, as Consul's structs.MaxLockDelay: a
// longer one is cut to this, so no client can lock a key away for years.
inline constexpr int64_t kMaxLockDelayNs = 60'000'000'000;

struct Session {
  std::string id;
  std::string name;
  std::string node;
  std::vector<std::string> node_checks;  // invalidate the session when one goes critical
  std::vector<std::string> service_checks;
  std::string behavior = "release";      // "release" or "delete"
  int64_t lock_delay_ns = 15'000'000'000;  // at most kMaxLockDelayNs once stored
  int64_t ttl_ns = 0;                    // 0: no TTL
  std::string ttl;                       // the TTL as the client wrote it ("90s"), shown back unchanged as Consul does
  Index create_index = 0;
  Index modify_index = 0;
  bool operator==(const Session&) const = default;
};

}  // namespace roster::catalog
