#pragma once

// RaftCatalog: a server's catalog. The state store is the Raft state machine;
// every write is a log entry, applied on every server at the same index.
//
// Writes. On the leader, write() proposes the command and completes once it is
// applied here, with the store's own verdict (a failed CAS is a conflict). On
// a follower, it is sent to the leader as a "Catalog.Apply" RPC. While there
// is no leader (an election), a write is held and retried for hold_timeout
// (Consul's rpc_hold_timeout, 7 s), so a leader change is not an error to the
// user. Only a refusal that appended nothing (not_leader) is retried, so a
// write is never applied twice by its retry.
//
// Bootstrap. The Raft node is opened when the cluster can start:
//   - at once when the data directory holds Raft state (a restarted server
//     never bootstraps again), or with -bootstrap (a cluster of one);
//   - with -bootstrap-expect N, once the gossip pool shows N servers that
//     expect N and none of which holds Raft state: all of them bootstrap the
//     same configuration (every server sorted by ID), so they write the same
//     first entry;
//   - otherwise, once a server with Raft state is seen, without a bootstrap:
//     the leader's autopilot adds it as a non-voter, and promotes it once it
//     has caught up.
//
// Recovery. A data_dir/raft/peers.json an operator wrote after a permanent
// loss of quorum is applied when the node opens (RaftNode, "Recovery"); its
// ids are read by peer_id_of(). A refused file makes start() fail.
//
// The server port (Raft and RPC) is served from the moment the node opens.
//
// Thread affinity: the agent's io_context thread (a single thread: it is
// the Raft strand too).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/catalog_backend.h"
#include "agent/core/catalog_replica.h"
#include "agent/core/membership.h"
#include "agent/raft/raft_node.h"
#include "agent/rpc/rpc.h"
#include "common/clock.h"
#include "common/env.h"

namespace spdlog {
class logger;
}

namespace roster::rpc {
class RpcClient;
}

namespace roster::agent {

class Autopilot;

struct RaftCatalogOptions {
  std::string node_name;
  std::string node_id;     // the agent's UUID; the Raft server ID is made from it
  std::string datacenter;  // also the cluster ID every server frame carries
  std::string bind_ip = "0.0.0.0";
  uint16_t port = raft::kDefaultServerRpcPort;  // 0 picks a free port (tests)
  std::string advertise_ip;                     // what other servers dial
  std::string data_dir;                         // Raft state goes in data_dir/raft
  int bootstrap_expect = 0;
  bool bootstrap = false;
  std::chrono::milliseconds tick{100};
  uint32_t election_ticks = 10;
  std::chrono::milliseconds hold_timeout{7000};
  // Autopilot's cleanup_dead_servers: a server that has been failed in the
  // gossip pool this long is removed from the configuration. 0: never.
  std::chrono::milliseconds dead_server_cleanup{std::chrono::seconds(60)};
  // Autopilot's server_stabilization_time: how long a new server must be
  // healthy before it is promoted to a voter.
  std::chrono::milliseconds server_stabilization{std::chrono::seconds(10)};
  // Autopilot's min_quorum: never remove a failed voter when fewer than this
  // many voters would stay (0: no floor beyond autopilot's own).
  size_t min_quorum = 0;
  uint64_t snapshot_threshold = 16384;
};

// The Raft server ID of a node: its UUID's first 64 bits (never 0).
raft::ServerId server_id_of(const std::string& node_id);
// The server a peers.json "id" names: a node ID (a UUID, as list-peers shows a
// server the catalog knows) or a Raft server number in decimal (as it shows
// any other). invalid_argument for anything else.
Result<raft::ServerId> peer_id_of(const std::string& id);

class RaftCatalog final : public CatalogBackend, private raft::StateMachine {
 public:
  // Leadership gained (true) or lost (false), after the fact.
  using LeadershipHandler = std::function<void(bool leading)>;

  RaftCatalog(boost::asio::io_context& io, Env& env, const Clock& clock, RaftCatalogOptions options,
              std::shared_ptr<spdlog::logger> logger);
  ~RaftCatalog() override;
  RaftCatalog(const RaftCatalog&) = delete;
  RaftCatalog& operator=(const RaftCatalog&) = delete;

  // Opens the Raft node if it can start now (see "Bootstrap"). Errors: the
  // node's (storage, binding the port).
  Status start();
  void stop();

  // The gossip pool's server members (this one included or not), on every
  // change. Feeds bootstrap, the transport's peers and autopilot.
  void set_servers(const std::vector<MemberInfo>& servers);
  // What this server should gossip about itself (ServerTag), when it changed.
  void set_server_tag_handler(std::function<void(const ServerTag&)> handler);
  void set_leadership_handler(LeadershipHandler handler) { on_leadership_ = std::move(handler); }
  // Whether `node` may call this server: a member of the gossip pool. A call
  // from anyone else is refused (permission_denied), logged once a minute per
  // node and counted. Null: every caller is served.
  void set_caller_check(std::function<bool(const std::string& node)> check) { caller_check_ = std::move(check); }
  uint64_t rpc_unknown_callers() const { return rpc_unknown_callers_; }
  // Serves RPC methods other than the catalog's own (Api.Forward).
  void set_rpc_handler(rpc::RpcHandler handler) { extra_rpc_ = std::move(handler); }
  // Sends an RPC to another server (the leader): forwarding uses it too.
  rpc::RpcClient& rpc_client() { return *rpc_client_; }

  // --- CatalogBackend ---
  void write(catalog::CommandBody body, WriteDone done) override;
  void write_transaction(catalog::Transaction transaction, TxnDone done) override;
  void read_node(const std::string& node, std::function<void(Result<NodeRecord>)> done) override;
  const catalog::StateStore* replica() const override { return &replica_.store(); }
  catalog::WatchHub& watch_hub() override { return replica_.watch_hub(); }
  void prepare_read(Consistency mode, std::optional<std::chrono::nanoseconds> max_stale, ReadyDone done) override;
  ReadFreshness freshness() const override;
  bool is_leader() const override;
  std::string leader_address() const override;
  std::vector<std::string> peer_addresses() const override;

  // --- status, for /v1/operator and tests ---
  raft::RaftNode* node() { return node_.get(); }
  const raft::RaftNode* node() const { return node_.get(); }
  raft::ServerId server_id() const { return server_id_; }
  // "ip:port" of this server's port.
  std::string server_address() const;
  // Node name of a server ID, as gossip last showed it ("" when unknown).
  std::string node_name_of(raft::ServerId id) const;
  bool started() const { return node_ != nullptr; }
  // Null until the node opens.
  const Autopilot* autopilot() const { return autopilot_.get(); }

 private:
  struct PendingWrite {
    std::string command;  // encoded, with its timestamp
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Status, catalog::Index)> done;
  };
  struct ApplyResult {
    Status status;
    std::optional<catalog::TxnOutcome> outcome;
  };

  // raft::StateMachine
  void apply(const raft::Entry& entry) override;
  std::string snapshot() override;
  void restore(const raft::Snapshot& snapshot) override;

  Status open_node(std::optional<raft::Configuration> bootstrap);
  void maybe_bootstrap();
  void send(PendingWrite write);
  void hold(PendingWrite write);
  void read_node_by(const std::string& node, std::chrono::steady_clock::time_point deadline,
                    std::function<void(Result<NodeRecord>)> done);
  void retry_held();
  void watch_leadership();
  void serve_rpc(const rpc::CallInfo& caller, const std::string& method, std::string payload, rpc::Reply reply);
  void publish_server_tag();
  std::optional<ApplyResult> take_result(catalog::Index index);

  boost::asio::io_context& io_;
  Env& env_;
  const Clock& clock_;
  RaftCatalogOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  raft::ServerId server_id_;
  CatalogReplica replica_;
  std::unique_ptr<raft::RaftNode> node_;
  std::unique_ptr<rpc::RpcClient> rpc_client_;
  std::unique_ptr<Autopilot> autopilot_;
  std::vector<MemberInfo> servers_;  // gossip's view
  std::map<raft::ServerId, std::string> names_;
  std::deque<PendingWrite> held_;
  std::map<catalog::Index, ApplyResult> results_;  // the latest applied entries' verdicts
  bool leading_ = false;
  bool stopped_ = false;
  std::unique_ptr<boost::asio::steady_timer> poll_timer_;
  LeadershipHandler on_leadership_;
  rpc::RpcHandler extra_rpc_;
  std::function<bool(const std::string&)> caller_check_;
  uint64_t rpc_unknown_callers_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> unknown_logged_;
  std::function<void(const ServerTag&)> on_server_tag_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::agent
