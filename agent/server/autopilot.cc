#include "agent/server/autopilot.h"

#include <spdlog/spdlog.h>

#include "agent/raft/membership.h"
#include "agent/server/raft_catalog.h"

namespace roster::agent {

namespace {
// A refused change (the Raft core's own catch-up check, a change still in
// flight) is asked again after this.
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
}  // namespace

Autopilot::Autopilot(RaftCatalog& catalog, const Clock& clock, AutopilotOptions options)
    : catalog_(catalog), clock_(clock), policy_(options) {}

void Autopilot::start() {
  running_ = true;
  policy_.reset();
  held_back_.clear();
}

void Autopilot::stop() { running_ = false; }

const MemberInfo* Autopilot::member(raft::ServerId id) const {
  for (const MemberInfo& server : servers_) {
    if (server_id_of(server.id) == id) return &server;
  }
  return nullptr;
}

AutopilotInputs Autopilot::inputs() const {
  const raft::RaftNode* node = catalog_.node();
  AutopilotInputs inputs;
  inputs.now = clock_.now();
  inputs.leader = node->id();
  inputs.configuration = node->configuration();
  inputs.commit_index = node->commit_index();
  for (const raft::Server& server : inputs.configuration.servers) {
    if (auto match = node->match_index(server.id)) inputs.match_index[server.id] = *match;
  }
  for (const MemberInfo& server : servers_) inputs.servers[server_id_of(server.id)] = server;
  return inputs;
}

void Autopilot::tick() {
  raft::RaftNode* node = catalog_.node();
  if (!running_ || node == nullptr || change_in_flight_ || node->role() != raft::Role::leader) return;
  const auto now = clock_.now();
  if (now < next_try_) return;

  AutopilotRound round = policy_.next(inputs());
  std::set<std::string> held_back(round.held_back.begin(), round.held_back.end());
  for (const std::string& reason : held_back) {
    if (!held_back_.contains(reason)) spdlog::warn("autopilot: {}", reason);
  }
  held_back_ = std::move(held_back);
  if (!round.change) return;

  change_in_flight_ = true;
  const std::string what = round.change->description;
  spdlog::info("autopilot: {}", what);
  node->change_membership(round.change->change, [this, what](Result<raft::Index> result) {
    change_in_flight_ = false;
    if (!result.is_ok()) {
      next_try_ = clock_.now() + kRetryAfter;
      spdlog::debug("autopilot: {}: not yet: {}", what, result.status().to_string());
    }
  });
}

std::vector<ServerHealth> Autopilot::health() const {
  std::vector<ServerHealth> out;
  const raft::RaftNode* node = catalog_.node();
  if (node == nullptr) return out;
  const AutopilotInputs seen = inputs();
  for (const raft::Server& server : seen.configuration.servers) {
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
    } else if (auto match = seen.match_index.find(server.id); match != seen.match_index.end()) {
      health.last_index = match->second;
    }
    if (node->role() == raft::Role::leader) {
      health.healthy = server_healthy(seen, server.id);
    } else {
      // A follower does not track the others' logs: it goes by gossip and
      // its own log.
      health.healthy = health.serf_status == "alive" &&
                       (health.leader || health.last_index + kHealthyLag >= seen.commit_index);
    }
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
