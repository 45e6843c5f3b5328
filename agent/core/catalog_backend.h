#pragma once

// CatalogBackend: the one way the agent reads and writes the catalog.
//
// Three kinds of agent stand behind it, and the HTTP handlers and AgentCore
// cannot tell them apart:
//   - LocalCatalog (-dev): an in-memory store, each write applied at once;
//   - RaftCatalog (a server): the store is the Raft state machine, a write is
//     a log entry, proposed here or forwarded to the leader;
//   - RemoteCatalog (a client agent): no store at all; writes and reads are
//     RPCs to the servers.
//
// Writes complete through a callback, after the entry committed and was
// applied (or with the reason it was not), so a caller changes its own state
// only once the catalog holds the write. LocalCatalog completes a write
// before write() returns; the others complete it later, on the same thread.
//
// Watchers are woken from the apply path: every entry applied on a server
// (whoever proposed it) notifies the server's WatchHub with the keys it
// changed, so blocking queries on any server see every write.
//
// Thread affinity: the agent's io_context thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "agent/catalog/watch_hub.h"
#include "common/status.h"

namespace roster::agent {

// How fresh a read must be (Consul's consistency modes).
enum class Consistency : uint8_t {
  default_mode,  // served by the leader, without a quorum round
  consistent,    // the leader confirms it still leads (ReadIndex) before answering
  stale,         // any server answers from what it has
};

// The X-Consul-KnownLeader and X-Consul-LastContact of a read.
struct ReadFreshness {
  bool known_leader = true;
  std::chrono::milliseconds last_contact{0};  // since the leader was last heard from; 0 on the leader
};

// What the Raft side of a server looks like, for /v1/status and /v1/operator.
struct RaftPeer {
  std::string id;       // the server's node ID
  std::string node;     // its node name, when known
  std::string address;  // "ip:port" of its server port
  bool voter = true;
  bool leader = false;
};

// The catalog's record of one node: what anti-entropy compares with the
// agent's local state.
struct NodeRecord {
  std::optional<catalog::Node> node;
  std::vector<catalog::Service> services;
  std::vector<catalog::Check> checks;
};

// The record of `name` in `store`.
NodeRecord node_record(const catalog::StateStore& store, const std::string& name);
// The catalog's RPC methods on the server port, served by every server (and
// by a -dev agent) for client agents and followers.
inline constexpr const char* kApplyMethod = "Catalog.Apply";        // an encoded Command -> its index
inline constexpr const char* kReadNodeMethod = "Catalog.ReadNode";  // a node name -> its NodeRecord
// Catalog.Apply's answer: the applied index, 8 bytes big-endian.
std::string encode_applied_index(catalog::Index index);
Result<catalog::Index> decode_applied_index(std::string_view bytes);
// A NodeRecord on the wire ("Catalog.ReadNode"), in the snapshot encoding.
std::string encode_node_record(const NodeRecord& record);
Result<NodeRecord> decode_node_record(std::string_view bytes);

class CatalogBackend {
 public:
  using WriteDone = std::function<void(Result<catalog::Index>)>;
  // The transaction's per-operation results or errors, and its index (0 when
  // it never reached the log: then `status` says why).
  struct TxnResult {
    Status status;
    catalog::Index index = 0;
    catalog::TxnOutcome outcome;
  };
  using TxnDone = std::function<void(TxnResult)>;
  using ReadyDone = std::function<void(Status)>;

  virtual ~CatalogBackend() = default;

  // Appends `body` to the catalog and calls done with its index once it is
  // applied, or with why not: the store's own refusal (conflict for a failed
  // CAS or lock, invalid_argument, not_found), unavailable (no leader within
  // the hold time; the write may or may not apply later).
  virtual void write(catalog::CommandBody body, WriteDone done) = 0;
  virtual void write_transaction(catalog::Transaction transaction, TxnDone done) = 0;

  // The catalog's record of `node` as the leader holds it once it has applied
  // everything committed (a ReadIndex round), for anti-entropy: a server that
  // has just restarted, or a follower behind, must not take its own lagging
  // copy for the catalog's and rewrite what is already there.
  virtual void read_node(const std::string& node, std::function<void(Result<NodeRecord>)> done) = 0;

  // The local copy of the catalog, or null on a client agent (which then
  // forwards reads whole to a server).
  virtual const catalog::StateStore* replica() const = 0;
  // Woken from the apply path; on a client agent only local keys (user events,
  // gossip operations, writes in flight) fire here.
  virtual catalog::WatchHub& watch_hub() = 0;

  // Calls done(ok) once the replica may answer a read in `mode`: at once for
  // stale (if the replica is within max_stale of the leader, when given),
  // after a ReadIndex round for consistent. not_leader when this server
  // cannot answer in that mode (the caller forwards to the leader), and
  // unavailable when there is no leader. Only for a backend with a replica.
  virtual void prepare_read(Consistency mode, std::optional<std::chrono::nanoseconds> max_stale,
                            ReadyDone done) = 0;
  virtual ReadFreshness freshness() const = 0;

  // Whether this agent is the Raft leader (always, in -dev).
  virtual bool is_leader() const = 0;
  // "ip:port" of the leader's server port, or "" when none is known.
  virtual std::string leader_address() const = 0;
  // The voting servers' server-port addresses, as /v1/status/peers lists them.
  virtual std::vector<std::string> peer_addresses() const = 0;
};

}  // namespace roster::agent
