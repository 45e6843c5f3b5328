// /v1/operator/raft/*, /v1/operator/autopilot/health and /v1/snapshot:
// operating a server cluster, in Consul's shapes.
//
// The Raft routes are answered by a server (a client agent forwards them);
// writes among them (remove-peer, transfer-leader) by the leader, which
// Api::handle forwards to. An agent without Raft (-dev) answers as Consul's
// single dev server would: one server, itself, the leader.

#include <boost/asio/steady_timer.hpp>

#include <charconv>
#include <memory>

#include "agent/catalog/snapshot_file.h"
#include "agent/http/api_internal.h"
#include "agent/raft/membership.h"
#include "agent/raft/raft.h"
#include "agent/server/autopilot.h"
#include "agent/server/raft_catalog.h"

namespace roster::http {

namespace {

// How long transfer-leader waits for leadership to move, and how often it looks.
constexpr auto kTransferWait = std::chrono::seconds(5);
constexpr auto kTransferPoll = std::chrono::milliseconds(50);

// A running Raft node, or the answer to give when there is none.
Result<agent::RaftCatalog*> raft_of(Context& context) {
  agent::RaftCatalog* catalog = context.options.raft_catalog;
  if (catalog == nullptr) return Status::internal("not a server: this agent runs no Raft");
  if (catalog->node() == nullptr) return Status::unavailable("this server has not joined a Raft cluster yet (waiting to bootstrap)");
  return catalog;
}

bool dev_mode(Context& context) {
  return context.options.raft_catalog == nullptr && context.core.catalog().replica() != nullptr;
}

// The ID Consul shows for a server: its node ID (a UUID), which the store
// knows for every node that registered; the Raft number otherwise.
std::string server_id_text(Context& context, raft::ServerId id, const std::string& name) {
  if (!name.empty()) {
    if (const catalog::Node* node = context.core.store().find_node(name); node != nullptr && !node->id.empty()) {
      if (agent::server_id_of(node->id) == id) return node->id;
    }
  }
  return std::to_string(id);
}

// The server a remove-peer or transfer-leader names: by Raft number, by node
// ID (UUID), or by "ip:port".
Result<raft::ServerId> find_server(Context& context, const raft::Configuration& configuration, const std::string& id,
                                   const std::string& address) {
  for (const raft::Server& server : configuration.servers) {
    if (!address.empty() && server.address == address) return server.id;
    if (id.empty()) continue;
    uint64_t number = 0;
    auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
    if (error == std::errc() && end == id.data() + id.size() && number == server.id) return server.id;
    if (id == server_id_text(context, server.id, context.options.raft_catalog->node_name_of(server.id))) return server.id;
  }
  const std::string what = address.empty() ? "ID " + id : "address " + address;
  return Status::not_found("no server with " + what + " in the Raft configuration");
}

// Polls a leader's role after it was asked to hand leadership over. Each
// pending wait holds the watch; the last one to finish releases it.
struct TransferWatch : std::enable_shared_from_this<TransferWatch> {
  TransferWatch(agent::AgentCore& core, raft::RaftNode& node, Respond respond)
      : core(core), node(node), timer(core.io()), deadline(core.clock().now() + kTransferWait),
        respond(std::move(respond)) {}

  void arm() {
    timer.expires_after(kTransferPoll);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
      if (error) return self->respond(HttpResponse::error(503, "the agent is shutting down"));
      self->check();
    });
  }

  void check() {
    if (node.role() != raft::Role::leader) return respond(HttpResponse::json(200, R"({"Success":true})"));
    if (core.clock().now() >= deadline) {
      return respond(HttpResponse::error(500, "leadership did not move within 5s; this server still leads"));
    }
    arm();
  }

  agent::AgentCore& core;
  raft::RaftNode& node;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;
  Respond respond;
};

}  // namespace

HandleResult handle_operator_raft_configuration(Context& context) {
  const catalog::Index index = context.core.store().last_index();
  if (dev_mode(context)) {
    const auto peers = context.core.catalog().peer_addresses();
    json server = {{"ID", context.core.identity().id},
                   {"Node", context.core.identity().name},
                   {"Address", peers.empty() ? context.core.identity().address : peers.front()},
                   {"Leader", true},
                   {"Voter", true},
                   {"ProtocolVersion", "3"}};
    return respond_json(json{{"Servers", json::array({server})}, {"Index", index}});
  }
  auto catalog = raft_of(context);
  if (!catalog.is_ok()) return respond_status(catalog.status());
  const raft::RaftNode& node = *(*catalog)->node();
  json servers = json::array();
  for (const raft::Server& server : node.configuration().servers) {
    const std::string name = (*catalog)->node_name_of(server.id);
    servers.push_back({{"ID", server_id_text(context, server.id, name)},
                       {"Node", name},
                       {"Address", server.address},
                       {"Leader", server.id == node.leader()},
                       {"Voter", server.voter},
                       {"ProtocolVersion", "3"}});
  }
  return respond_json(json{{"Servers", servers}, {"Index", node.applied_index()}});
}

HandleResult handle_operator_raft_peer(Context& context) {
  const std::string id = context.request.param("id").value_or("");
  const std::string address = context.request.param("address").value_or("");
  if (id.empty() == address.empty()) {
    return respond_error(400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
  }
  if (dev_mode(context)) return respond_error(500, "not a server: -dev runs without Raft, there is no peer to remove");
  auto catalog = raft_of(context);
  if (!catalog.is_ok()) return respond_status(catalog.status());
  raft::RaftNode& node = *(*catalog)->node();
  auto target = find_server(context, node.configuration(), id, address);
  if (!target.is_ok()) return respond_status(target.status());
  if (*target == node.id()) {
    // A leader cannot commit its own removal safely and keep answering; it
    // hands leadership over, and the new leader removes it.
    Status stepped = node.step_down();
    return respond_error(500, "this server is the leader; " +
                                  (stepped.is_ok() ? std::string("it is handing over leadership, retry on the new leader")
                                                   : "it could not step down: " + stepped.message()));
  }
  raft::MembershipChange change;
  change.kind = raft::MembershipChangeKind::remove;
  change.server.id = *target;
  return run_async(context, [&node, change](Respond respond_with) {
    node.change_membership(change, [respond_with](Result<raft::Index> result) {
      respond_with(result.is_ok() ? HttpResponse::json(200, "true") : status_answer(result.status()));
    });
  });
}

HandleResult handle_operator_raft_transfer_leader(Context& context) {
  if (dev_mode(context)) return respond_error(500, "not a server: -dev runs without Raft, there is no leadership to transfer");
  auto catalog = raft_of(context);
  if (!catalog.is_ok()) return respond_status(catalog.status());
  raft::RaftNode& node = *(*catalog)->node();
  if (node.role() != raft::Role::leader) return respond_error(503, "this server is not the leader");
  const std::string id = context.request.param("id").value_or("");
  Status started = Status::ok();
  if (id.empty()) {
    started = node.step_down();
  } else {
    auto target = find_server(context, node.configuration(), id, "");
    if (!target.is_ok()) return respond_status(target.status());
    if (*target == node.id()) return respond_error(400, "server " + id + " is already the leader");
    started = node.transfer_leadership(*target);
  }
  if (!started.is_ok()) return respond_status(started);
  // Raft reports nothing when a transfer completes: watch the role until
  // this server no longer leads, or give up (the core abandons a transfer
  // that takes longer than an election timeout, and leads on).
  agent::AgentCore& core = context.core;
  return run_async(context, [&core, &node](Respond respond_with) {
    auto watch = std::make_shared<TransferWatch>(core, node, std::move(respond_with));
    watch->arm();
  });
}

HandleResult handle_operator_autopilot_health(Context& context) {
  if (dev_mode(context)) {
    json server = {{"ID", context.core.identity().id},
                   {"Name", context.core.identity().name},
                   {"Address", context.core.identity().address},
                   {"SerfStatus", "alive"},
                   {"Leader", true},
                   {"Voter", true},
                   {"Healthy", true},
                   {"LastIndex", context.core.store().last_index()}};
    return respond_json(json{{"Healthy", true}, {"FailureTolerance", 0}, {"Servers", json::array({server})}});
  }
  auto catalog = raft_of(context);
  if (!catalog.is_ok()) return respond_status(catalog.status());
  const agent::Autopilot* autopilot = (*catalog)->autopilot();
  if (autopilot == nullptr) return respond_error(503, "autopilot is not running yet");
  json servers = json::array();
  size_t voters = 0;
  size_t healthy_voters = 0;
  bool all_healthy = true;
  for (const agent::ServerHealth& server : autopilot->health()) {
    if (server.voter) {
      ++voters;
      if (server.healthy) ++healthy_voters;
    }
    all_healthy = all_healthy && server.healthy;
    servers.push_back({{"ID", server_id_text(context, server.id, server.name)},
                       {"Name", server.name},
                       {"Address", server.address},
                       {"SerfStatus", server.serf_status},
                       {"Leader", server.leader},
                       {"Voter", server.voter},
                       {"Healthy", server.healthy},
                       {"LastIndex", server.last_index}});
  }
  // Consul's FailureTolerance: healthy voters beyond a quorum of all voters.
  const size_t quorum = voters / 2 + 1;
  const size_t tolerance = healthy_voters > quorum ? healthy_voters - quorum : 0;
  const bool healthy = all_healthy && voters > 0;
  // Consul answers an unhealthy cluster 429 with the same body, so probes can
  // use the status alone.
  return respond_json(json{{"Healthy", healthy}, {"FailureTolerance", tolerance}, {"Servers", servers}},
                      healthy ? 200 : 429);
}

HandleResult handle_snapshot(Context& context) {
  if (context.request.method == "GET") {
    const catalog::StoreData& data = context.core.store().snapshot();
    HttpResponse response;
    response.status = 200;
    response.content_type = "application/octet-stream";
    response.body = catalog::encode_snapshot_file(data);
    return respond(with_index_headers(std::move(response), data.last_index));
  }
  auto data = catalog::decode_snapshot_file(context.request.body);
  if (!data.is_ok()) return respond_error(400, "invalid snapshot: " + data.status().message());
  return write_and_respond(context, catalog::RestoreCatalog{std::move(data).value()},
                           [](Result<catalog::Index> result) {
                             return result.is_ok() ? HttpResponse::json(200, "") : status_answer(result.status());
                           });
}

}  // namespace roster::http
