#include "agent/server/raft_catalog.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "agent/catalog/codec.h"
#include "agent/raft/membership.h"
#include "agent/rpc/rpc_client.h"
#include "agent/server/autopilot.h"
#include "common/uuid.h"

namespace roster::agent {

namespace {

// How often leadership is looked at, held writes retried, and autopilot run.
constexpr auto kPollInterval = std::chrono::milliseconds(50);
// The verdicts of this many latest entries are kept for their proposers.
constexpr size_t kKeptResults = 8192;

bool has_raft_state(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) return false;
  return std::filesystem::directory_iterator(dir, error) != std::filesystem::directory_iterator();
}

std::chrono::milliseconds remaining(std::chrono::steady_clock::time_point deadline,
                                    std::chrono::steady_clock::time_point now) {
  if (deadline <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) + std::chrono::milliseconds(1);
}

}  // namespace

raft::ServerId server_id_of(const std::string& node_id) {
  raft::ServerId id = 0;
  int digits = 0;
  for (char c : node_id) {
    if (digits == 16) break;
    int value = -1;
    if (c >= '0' && c <= '9') value = c - '0';
    if (c >= 'a' && c <= 'f') value = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') value = c - 'A' + 10;
    if (value < 0) continue;
    id = (id << 4) | static_cast<raft::ServerId>(value);
    ++digits;
  }
  return id == raft::kNoServer ? 1 : id;
}

Result<raft::ServerId> peer_id_of(const std::string& id) {
  if (is_uuid(id)) return server_id_of(id);
  Result<raft::ServerId> number = raft::parse_server_number(id);
  if (number.is_ok()) return number;
  return Status::invalid_argument("id \"" + id +
                                  "\" is neither a node ID (a UUID) nor a Raft server number, the two forms "
                                  "`roster operator raft list-peers` shows");
}

RaftCatalog::RaftCatalog(boost::asio::io_context& io, Env& env, const Clock& clock, RaftCatalogOptions options,
                         std::shared_ptr<spdlog::logger> logger)
    : io_(io), env_(env), clock_(clock), options_(std::move(options)), logger_(std::move(logger)),
      server_id_(server_id_of(options_.node_id)) {
  rpc::RpcClientOptions rpc_options;
  rpc_options.cluster_id = options_.datacenter;
  rpc_options.node_name = options_.node_name;
  rpc_client_ = std::make_unique<rpc::RpcClient>(io_.get_executor(), clock_, logger_, rpc_options);
}

RaftCatalog::~RaftCatalog() {
  *alive_ = false;
  stop();
}

Status RaftCatalog::start() {
  const std::string raft_dir = options_.data_dir + "/raft";
  poll_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
  watch_leadership();
  if (has_raft_state(raft_dir)) {
    logger_->info("raft: {} holds this server's state; rejoining without a bootstrap", raft_dir);
    return open_node(std::nullopt);
  }
  if (options_.bootstrap || options_.bootstrap_expect == 1) {
    raft::Configuration alone;
    alone.servers.push_back(raft::Server{server_id_, server_address(), true});
    logger_->info("raft: bootstrapping a cluster of one (-bootstrap)");
    return open_node(alone);
  }
  if (options_.bootstrap_expect > 1) {
    logger_->info("raft: waiting for {} servers in the gossip pool to bootstrap the cluster",
                  options_.bootstrap_expect);
  } else {
    logger_->info("raft: no state and no bootstrap; waiting to find a cluster in the gossip pool");
  }
  publish_server_tag();
  return Status::ok();
}

void RaftCatalog::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (poll_timer_) poll_timer_->cancel();
  if (autopilot_) autopilot_->stop();
  if (leading_) {
    leading_ = false;
    if (on_leadership_) on_leadership_(false);
  }
  for (auto& write : held_) {
    if (write.done) write.done(Status::unavailable("the server is shutting down"), 0);
  }
  held_.clear();
  rpc_client_->stop();
  node_.reset();
}

std::string RaftCatalog::server_address() const {
  const uint16_t port = node_ ? node_->port() : options_.port;
  return options_.advertise_ip + ":" + std::to_string(port);
}

Status RaftCatalog::open_node(std::optional<raft::Configuration> bootstrap) {
  raft::RaftNodeOptions node_options;
  node_options.raft.id = server_id_;
  node_options.raft.election_ticks = options_.election_ticks;
  node_options.raft.snapshot_threshold = options_.snapshot_threshold;
  node_options.raft.seed = server_id_;
  node_options.transport.cluster_id = options_.datacenter;
  node_options.transport.local_id = server_id_;
  node_options.transport.bind_ip = options_.bind_ip;
  node_options.transport.port = options_.port;
  node_options.transport.rpc_handler = [this, alive = std::weak_ptr<bool>(alive_)](
                                           const rpc::CallInfo& caller, const std::string& method,
                                           std::string payload, rpc::Reply reply) {
    if (alive.expired()) return reply(Status::unavailable("the server is shutting down"));
    serve_rpc(caller, method, std::move(payload), std::move(reply));
  };
  node_options.data_dir = options_.data_dir + "/raft";
  node_options.bootstrap = std::move(bootstrap);
  node_options.peer_id_of = peer_id_of;
  node_options.tick_interval = options_.tick;
  auto opened = raft::RaftNode::open(io_.get_executor(), env_, clock_, *this, std::move(node_options), logger_);
  if (!opened.is_ok()) return opened.status();
  node_ = std::move(opened).value();
  // The port may have been picked (0); the advertised address uses the bound one.
  if (options_.port == 0) options_.port = node_->port();
  autopilot_ = std::make_unique<Autopilot>(
      *this, clock_,
      AutopilotOptions{options_.dead_server_cleanup, options_.server_stabilization, options_.min_quorum});
  set_servers(servers_);
  publish_server_tag();
  logger_->info("raft: server {} serving on {}", server_id_, server_address());
  return Status::ok();
}

void RaftCatalog::set_server_tag_handler(std::function<void(const ServerTag&)> handler) {
  on_server_tag_ = std::move(handler);
  publish_server_tag();
}

void RaftCatalog::publish_server_tag() {
  if (!on_server_tag_) return;
  ServerTag tag;
  tag.port = node_ ? node_->port() : options_.port;
  tag.bootstrap_expect = options_.bootstrap_expect;
  tag.in_cluster = node_ != nullptr;
  on_server_tag_(tag);
}

void RaftCatalog::set_servers(const std::vector<MemberInfo>& servers) {
  servers_ = servers;
  names_.clear();
  for (const MemberInfo& server : servers_) names_[server_id_of(server.id)] = server.name;
  names_[server_id_] = options_.node_name;
  if (!node_) {
    maybe_bootstrap();
    return;
  }
  std::map<raft::ServerId, std::string> peers;
  for (const MemberInfo& server : servers_) {
    if (server.status != MemberStatus::alive || server.server_port == 0) continue;
    peers[server_id_of(server.id)] = server.ip + ":" + std::to_string(server.server_port);
  }
  node_->set_known_peers(std::move(peers));
  if (autopilot_) autopilot_->set_servers(servers_);
}

// Bootstraps once the expected servers are all in the pool, and none of them
// is already part of a cluster: joining a running cluster is autopilot's.
void RaftCatalog::maybe_bootstrap() {
  if (node_ || stopped_) return;
  std::vector<const MemberInfo*> candidates;
  bool cluster_exists = false;
  for (const MemberInfo& server : servers_) {
    if (server.status != MemberStatus::alive || server.server_port == 0) continue;
    if (server.in_cluster) cluster_exists = true;
    if (server.bootstrap_expect == options_.bootstrap_expect) candidates.push_back(&server);
  }
  if (cluster_exists) {
    logger_->info("raft: a server in the pool already holds a cluster; joining it instead of bootstrapping");
    Status opened = open_node(std::nullopt);
    if (!opened.is_ok()) logger_->error("raft: cannot start: {}", opened.to_string());
    return;
  }
  if (options_.bootstrap_expect < 2) return;
  const bool self_seen = std::any_of(candidates.begin(), candidates.end(), [this](const MemberInfo* server) {
    return server_id_of(server->id) == server_id_;
  });
  if (!self_seen || candidates.size() < static_cast<size_t>(options_.bootstrap_expect)) return;
  raft::Configuration configuration;
  for (const MemberInfo* server : candidates) {
    configuration.servers.push_back(
        raft::Server{server_id_of(server->id), server->ip + ":" + std::to_string(server->server_port), true});
  }
  std::sort(configuration.servers.begin(), configuration.servers.end(),
            [](const raft::Server& a, const raft::Server& b) { return a.id < b.id; });
  std::string names;
  for (const MemberInfo* server : candidates) names += (names.empty() ? "" : ", ") + server->name;
  logger_->info("raft: {} servers present ({}); bootstrapping the cluster", candidates.size(), names);
  Status opened = open_node(configuration);
  if (!opened.is_ok()) logger_->error("raft: cannot start: {}", opened.to_string());
}

// ---- the state machine ----

void RaftCatalog::apply(const raft::Entry& entry) {
  if (entry.type != raft::EntryType::command) return;
  ApplyResult result;
  auto command = catalog::decode_command(entry.data);
  if (!command.is_ok()) {
    // Every server refuses it the same way, so the replicas stay equal.
    logger_->error("raft: entry {} is not a catalog command ({}); skipped", entry.index,
                   command.status().to_string());
    result.status = Status::internal("not a catalog command: " + command.status().message());
  } else {
    const bool transaction = std::holds_alternative<catalog::Transaction>(command->body);
    catalog::TxnOutcome outcome;
    result.status = replica_.apply(entry.index, *command, transaction ? &outcome : nullptr);
    if (transaction) result.outcome = std::move(outcome);
  }
  results_[entry.index] = std::move(result);
  while (results_.size() > kKeptResults) results_.erase(results_.begin());
}

std::string RaftCatalog::snapshot() { return catalog::encode_snapshot(replica_.store().snapshot()); }

void RaftCatalog::restore(const raft::Snapshot& snapshot) {
  auto data = catalog::decode_snapshot(snapshot.data ? *snapshot.data : std::string());
  if (!data.is_ok()) {
    logger_->critical("raft: snapshot at index {} does not decode: {}", snapshot.meta.last_index,
                      data.status().to_string());
    return;
  }
  replica_.restore(std::move(data).value());
  results_.clear();
}

std::optional<RaftCatalog::ApplyResult> RaftCatalog::take_result(catalog::Index index) {
  auto found = results_.find(index);
  if (found == results_.end()) return std::nullopt;
  ApplyResult result = std::move(found->second);
  results_.erase(found);
  return result;
}

// ---- writes ----

void RaftCatalog::write(catalog::CommandBody body, WriteDone done) {
  PendingWrite pending;
  pending.command = catalog::encode_command(catalog::Command{clock_.unix_nanos(), std::move(body)});
  pending.deadline = clock_.now() + options_.hold_timeout;
  pending.done = [done = std::move(done)](Status status, catalog::Index index) {
    if (!done) return;
    if (!status.is_ok()) return done(std::move(status));
    done(index);
  };
  send(std::move(pending));
}

void RaftCatalog::write_transaction(catalog::Transaction transaction, TxnDone done) {
  if (!is_leader()) {
    // The API forwards transactions whole to the leader; one reaching a
    // follower found no leader to go to.
    return done(TxnResult{Status::not_leader("No cluster leader"), 0, {}});
  }
  const std::string command = catalog::encode_command(catalog::Command{clock_.unix_nanos(), std::move(transaction)});
  node_->propose(command, [this, done = std::move(done), alive = std::weak_ptr<bool>(alive_)](
                              Result<raft::Index> index) {
    if (alive.expired()) return;
    if (!index.is_ok()) return done(TxnResult{index.status(), 0, {}});
    std::optional<ApplyResult> result = take_result(*index);
    TxnResult out;
    out.index = *index;
    if (result) {
      out.status = result->status;
      if (result->outcome) out.outcome = std::move(*result->outcome);
    }
    if (!out.status.is_ok() && out.outcome.ok()) out.outcome.errors.push_back({0, out.status.message()});
    done(std::move(out));
  });
}

// On the leader: propose. On a follower: send it to the leader. With no
// leader: hold it until one is known or the hold time runs out.
void RaftCatalog::send(PendingWrite write) {
  if (stopped_) return write.done(Status::unavailable("the server is shutting down"), 0);
  const auto now = clock_.now();
  if (!node_ || node_->leader() == raft::kNoServer) return hold(std::move(write));
  if (node_->role() == raft::Role::leader) {
    auto shared = std::make_shared<PendingWrite>(std::move(write));
    node_->propose(shared->command, [this, shared, alive = std::weak_ptr<bool>(alive_)](Result<raft::Index> index) {
      if (alive.expired()) return;
      if (!index.is_ok()) return shared->done(index.status(), 0);
      std::optional<ApplyResult> result = take_result(*index);
      if (result && !result->status.is_ok()) return shared->done(result->status, *index);
      shared->done(Status::ok(), *index);
    });
    return;
  }
  const std::string leader = leader_address();
  if (leader.empty()) return hold(std::move(write));
  auto shared = std::make_shared<PendingWrite>(std::move(write));
  rpc_client_->call(leader, kApplyMethod, shared->command, remaining(shared->deadline, now),
                    [this, shared, alive = std::weak_ptr<bool>(alive_)](Result<std::string> answer) {
                      if (alive.expired()) return;
                      if (answer.is_ok()) {
                        auto index = decode_applied_index(*answer);
                        return shared->done(index.is_ok() ? Status::ok() : index.status(),
                                            index.is_ok() ? *index : 0);
                      }
                      // Refused before anything was appended, or never sent: safe to send again.
                      if (answer.status().code() == StatusCode::not_leader || rpc::never_sent(answer.status())) {
                        return hold(std::move(*shared));
                      }
                      shared->done(answer.status(), 0);
                    });
}

void RaftCatalog::hold(PendingWrite write) {
  if (clock_.now() >= write.deadline) {
    return write.done(Status::unavailable("No cluster leader (waited " +
                                          std::to_string(options_.hold_timeout.count()) + " ms)"),
                      0);
  }
  held_.push_back(std::move(write));
}

void RaftCatalog::retry_held() {
  if (held_.empty()) return;
  std::deque<PendingWrite> waiting;
  waiting.swap(held_);
  for (auto& write : waiting) send(std::move(write));
}

void RaftCatalog::watch_leadership() {
  if (stopped_ || !poll_timer_) return;
  poll_timer_->expires_after(kPollInterval);
  poll_timer_->async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
    if (error || alive.expired() || stopped_) return;
    const bool leading = is_leader();
    if (leading != leading_) {
      leading_ = leading;
      logger_->info("raft: this server {} leadership (term {})", leading ? "took" : "lost",
                    node_ ? node_->term() : 0);
      if (leading && autopilot_) autopilot_->start();
      if (!leading && autopilot_) autopilot_->stop();
      if (on_leadership_) on_leadership_(leading);
    }
    if (autopilot_ && leading) autopilot_->tick();
    retry_held();
    watch_leadership();
  });
}

// ---- RPC ----

void RaftCatalog::serve_rpc(const rpc::CallInfo& caller, const std::string& method, std::string payload,
                            rpc::Reply reply) {
  if (caller_check_ && !caller_check_(caller.from_node)) {
    ++rpc_unknown_callers_;
    const auto now = clock_.now();
    auto logged = unknown_logged_.find(caller.from_node);
    if (logged == unknown_logged_.end() || now - logged->second > std::chrono::minutes(1)) {
      if (unknown_logged_.size() > 1024) unknown_logged_.clear();  // bounded, whatever callers claim
      unknown_logged_[caller.from_node] = now;
      logger_->warn("rpc: refused {} from {} ({}): not a member of the gossip pool", method, caller.from_node,
                    caller.peer_address);
    }
    return reply(Status::permission_denied("node \"" + caller.from_node + "\" is not a member of this cluster's pool"));
  }
  if (method == kReadNodeMethod) {
    return read_node(payload, [reply = std::move(reply)](Result<NodeRecord> record) {
      if (!record.is_ok()) return reply(record.status());
      reply(encode_node_record(*record));
    });
  }
  if (method != kApplyMethod) {
    if (extra_rpc_) return extra_rpc_(caller, method, std::move(payload), std::move(reply));
    return reply(Status::invalid_argument("unknown RPC method \"" + method + "\""));
  }
  if (!node_ || node_->leader() == raft::kNoServer) return reply(Status::not_leader("No cluster leader"));
  if (node_->role() != raft::Role::leader) {
    // A client agent may ask any server: a follower passes the write on to
    // the leader, once (a leader that changed meanwhile answers not_leader,
    // and the client retries).
    return rpc_client_->call(leader_address(), kApplyMethod, std::move(payload), options_.hold_timeout,
                             [reply = std::move(reply)](Result<std::string> answer) {
                               // The leader could not be reached and nothing was sent: the
                               // caller may try again, as with no leader at all.
                               if (!answer.is_ok() && rpc::never_sent(answer.status())) {
                                 return reply(Status::not_leader("the leader cannot be reached"));
                               }
                               reply(std::move(answer));
                             });
  }
  // A command that does not decode is refused here, before it costs a log
  // entry on every server.
  if (auto decoded = catalog::decode_command(payload); !decoded.is_ok()) {
    logger_->warn("raft: Catalog.Apply from {} ({}): not a catalog command: {}", caller.from_node,
                  caller.peer_address, decoded.status().message());
    return reply(Status::invalid_argument("not a catalog command: " + decoded.status().message()));
  }
  node_->propose(std::move(payload), [this, reply = std::move(reply), alive = std::weak_ptr<bool>(alive_)](
                                         Result<raft::Index> index) {
    if (alive.expired()) return reply(Status::unavailable("the server is shutting down"));
    if (!index.is_ok()) return reply(index.status());
    std::optional<ApplyResult> result = take_result(*index);
    if (result && !result->status.is_ok()) return reply(result->status);
    reply(encode_applied_index(*index));
  });
}

// ---- reads and status ----

// The leader answers after a ReadIndex round; a follower asks the leader
// (once: a leader that changed meanwhile answers not_leader, and the caller
// retries). With no leader known, the read waits for one, as a write does.
void RaftCatalog::read_node(const std::string& node, std::function<void(Result<NodeRecord>)> done) {
  read_node_by(node, clock_.now() + options_.hold_timeout, std::move(done));
}

void RaftCatalog::read_node_by(const std::string& node, std::chrono::steady_clock::time_point deadline,
                               std::function<void(Result<NodeRecord>)> done) {
  if (!node_ || node_->leader() == raft::kNoServer) {
    if (stopped_ || clock_.now() >= deadline) {
      return boost::asio::post(io_, [done = std::move(done)] { done(Status::unavailable("No cluster leader")); });
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, kPollInterval);
    return timer->async_wait([this, timer, node, deadline, done = std::move(done),
                              alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) mutable {
      if (error || alive.expired()) return done(Status::unavailable("the server is shutting down"));
      read_node_by(node, deadline, std::move(done));
    });
  }
  if (node_->role() == raft::Role::leader) {
    return node_->read_index([this, node, done = std::move(done), alive = std::weak_ptr<bool>(alive_)](Status status) {
      if (alive.expired()) return done(Status::unavailable("the server is shutting down"));
      if (!status.is_ok()) return done(status);
      done(node_record(replica_.store(), node));
    });
  }
  rpc_client_->call(leader_address(), kReadNodeMethod, node, options_.hold_timeout,
                    [done = std::move(done)](Result<std::string> answer) {
                      if (!answer.is_ok()) {
                        if (rpc::never_sent(answer.status())) {
                          return done(Status::not_leader("the leader cannot be reached"));
                        }
                        return done(answer.status());
                      }
                      done(decode_node_record(*answer));
                    });
}

void RaftCatalog::prepare_read(Consistency mode, std::optional<std::chrono::nanoseconds> max_stale,
                               ReadyDone done) {
  if (mode == Consistency::stale) {
    if (!node_) return done(Status::unavailable("No cluster leader"));
    if (max_stale && !is_leader() && node_->last_contact() > *max_stale) {
      return done(Status::not_leader("this server's data is older than max_stale"));
    }
    return done(Status::ok());
  }
  if (!is_leader()) {
    return done(leader_address().empty() ? Status::unavailable("No cluster leader")
                                         : Status::not_leader("reads in this mode are served by the leader"));
  }
  if (mode == Consistency::default_mode) return done(Status::ok());
  node_->read_index([done = std::move(done)](Status status) { done(status); });
}

ReadFreshness RaftCatalog::freshness() const {
  ReadFreshness out;
  out.known_leader = node_ && node_->leader() != raft::kNoServer;
  out.last_contact = node_ ? node_->last_contact() : std::chrono::milliseconds(0);
  return out;
}

bool RaftCatalog::is_leader() const { return node_ && node_->role() == raft::Role::leader; }

std::string RaftCatalog::leader_address() const {
  if (!node_) return "";
  const raft::ServerId leader = node_->leader();
  if (leader == raft::kNoServer) return "";
  if (const raft::Server* server = raft::find_server(node_->configuration(), leader); server != nullptr) {
    return server->address;
  }
  return "";
}

std::vector<std::string> RaftCatalog::peer_addresses() const {
  std::vector<std::string> out;
  if (!node_) return out;
  for (const raft::Server& server : node_->configuration().servers) {
    if (server.voter) out.push_back(server.address);
  }
  return out;
}

std::string RaftCatalog::node_name_of(raft::ServerId id) const {
  auto found = names_.find(id);
  return found == names_.end() ? "" : found->second;
}

}  // namespace roster::agent
