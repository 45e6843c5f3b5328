#include "agent/server/autopilot.h"

#include <spdlog/spdlog.h>

#include "agent/raft/membership.h"
#include "agent/server/raft_catalog.h"

namespace roster::agent {

namespace {
// A refused change (a promotion before catch-up) is asked again after this.
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
// A follower within this many entries of the leader counts as healthy.
constexpr raft::Index kHealthyLag = 1024;
}  // namespace

Autopilot::Autopilot(RaftCatalog& catalog, const Clock& clock, AutopilotOptions options)
    : catalog_(catalog), clock_(clock), options_(options) {}

void Autopilot::start() {
  running_ = true;
  failed_since_.clear();
}

void Autopilot::stop() { running_ = false; }

const MemberInfo* Autopilot::member(raft::ServerId id) const {
  for (const MemberInfo& server : servers_) {
    if (server_id_of(server.id) == id) return &server;
  }
  return nullptr;
}

void Autopilot::tick() {
  raft::RaftNode* node = catalog_.node();
  if (!running_ || node == nullptr || change_in_flight_ || node->role() != raft::Role::leader) return;
  const auto now = clock_.now();
  if (now < next_try_) return;
  const raft::Configuration& configuration = node->configuration();

  auto change = [&](raft::MembershipChange wanted, const std::string& what) {
    change_in_flight_ = true;
    spdlog::info("autopilot: {}", what);
    node->change_membership(wanted, [this, what](Result<raft::Index> result) {
      change_in_flight_ = false;
      if (!result.is_ok()) {
        next_try_ = clock_.now() + kRetryAfter;
        spdlog::debug("autopilot: {}: not yet: {}", what, result.status().to_string());
      }
    });
  };

  // Add servers the pool knows and the configuration does not.
  for (const MemberInfo& server : servers_) {
    if (server.status != MemberStatus::alive || server.server_port == 0) continue;
    const raft::ServerId id = server_id_of(server.id);
    if (raft::find_server(configuration, id) != nullptr) continue;
    raft::MembershipChange add;
    add.kind = raft::MembershipChangeKind::add_non_voter;
    add.server = raft::Server{id, server.ip + ":" + std::to_string(server.server_port), false};
    return change(add, "adding server " + server.name + " as a non-voter");
  }
  // Promote caught-up non-voters.
  for (const raft::Server& server : configuration.servers) {
    if (server.voter) continue;
    const MemberInfo* info = member(server.id);
    if (info == nullptr || info->status != MemberStatus::alive) continue;
    raft::MembershipChange promote;
    promote.kind = raft::MembershipChangeKind::promote;
    promote.server.id = server.id;
    return change(promote, "promoting server " + info->name + " to voter");
  }
  // Remove servers that left, or stayed failed past the cleanup time.
  size_t healthy_voters = 0;
  for (const raft::Server& server : configuration.servers) {
    const MemberInfo* info = member(server.id);
    const bool alive = server.id == node->id() || (info != nullptr && info->status == MemberStatus::alive);
    if (server.voter && alive) ++healthy_voters;
    if (alive) failed_since_.erase(server.id);
    else failed_since_.emplace(server.id, now);
  }
  if (options_.dead_server_cleanup.count() == 0) return;
  for (const raft::Server& server : configuration.servers) {
    if (server.id == node->id()) continue;
    const MemberInfo* info = member(server.id);
    auto failed = failed_since_.find(server.id);
    if (failed == failed_since_.end()) continue;
    const bool left = info != nullptr && info->status == MemberStatus::left;
    if (!left && now - failed->second < options_.dead_server_cleanup) continue;
    raft::Configuration after = configuration;
    std::erase_if(after.servers, [&](const raft::Server& s) { return s.id == server.id; });
    if (healthy_voters < raft::quorum_size(after)) continue;
    raft::MembershipChange remove;
    remove.kind = raft::MembershipChangeKind::remove;
    remove.server.id = server.id;
    const std::string name = info != nullptr ? info->name : std::to_string(server.id);
    return change(remove, "removing server " + name + (left ? " (left the pool)" : " (failed past the cleanup time)"));
  }
}

std::vector<ServerHealth> Autopilot::health() const {
  std::vector<ServerHealth> out;
  const raft::RaftNode* node = catalog_.node();
  if (node == nullptr) return out;
  const raft::Index last = node->commit_index();
  for (const raft::Server& server : node->configuration().servers) {
    ServerHealth health;
    health.id = server.id;
    health.address = server.address;
    health.voter = server.voter;
    health.leader = server.id == node->leader();
    const MemberInfo* info = member(server.id);
    health.name = info != nullptr ? info->name : catalog_.node_name_of(server.id);
    health.serf_status = server.id == node->id() ? "alive" : info != nullptr ? info->state : "none";
    if (health.serf_status == "suspect") health.serf_status = "alive";
    if (server.id == node->id()) {
      health.last_index = node->applied_index();
    } else if (auto match = node->match_index(server.id)) {
      health.last_index = *match;
    }
    health.healthy = health.serf_status == "alive" && (health.leader || health.last_index + kHealthyLag >= last);
    out.push_back(std::move(health));
  }
  return out;
}

bool Autopilot::failure_tolerant() const {
  size_t healthy_voters = 0;
  size_t voters = 0;
  for (const ServerHealth& server : health()) {
    if (!server.voter) continue;
    ++voters;
    if (server.healthy) ++healthy_voters;
  }
  // Consul's FailureTolerance: healthy voters beyond a quorum.
  return voters > 0 && healthy_voters > voters / 2 + 1;
}

}  // namespace roster::agent
