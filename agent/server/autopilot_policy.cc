#include "agent/server/autopilot_policy.h"

namespace roster::agent {

namespace {

const MemberInfo* member(const AutopilotInputs& inputs, raft::ServerId id) {
  auto found = inputs.servers.find(id);
  return found == inputs.servers.end() ? nullptr : &found->second;
}

bool alive(const AutopilotInputs& inputs, raft::ServerId id) {
  if (id == inputs.leader) return true;
  const MemberInfo* info = member(inputs, id);
  return info != nullptr && info->status == MemberStatus::alive;
}

std::string name_of(const AutopilotInputs& inputs, raft::ServerId id) {
  const MemberInfo* info = member(inputs, id);
  return info != nullptr ? info->name : std::to_string(id);
}

}  // namespace

bool server_healthy(const AutopilotInputs& inputs, raft::ServerId id) {
  if (!alive(inputs, id)) return false;
  if (id == inputs.leader) return true;
  auto match = inputs.match_index.find(id);
  // A match index of 0 is a follower the leader has not heard from since it
  // took office, or a new server that holds nothing yet.
  if (match == inputs.match_index.end() || match->second == 0) return false;
  return match->second + kHealthyLag >= inputs.commit_index;
}

void AutopilotPolicy::reset() {
  failed_since_.clear();
  healthy_since_.clear();
}

std::optional<std::chrono::steady_clock::time_point> AutopilotPolicy::healthy_since(raft::ServerId id) const {
  auto found = healthy_since_.find(id);
  if (found == healthy_since_.end()) return std::nullopt;
  return found->second;
}

void AutopilotPolicy::observe(const AutopilotInputs& inputs) {
  std::map<raft::ServerId, std::chrono::steady_clock::time_point> failed;
  std::map<raft::ServerId, std::chrono::steady_clock::time_point> healthy;
  for (const raft::Server& server : inputs.configuration.servers) {
    if (!alive(inputs, server.id)) {
      auto since = failed_since_.find(server.id);
      failed[server.id] = since == failed_since_.end() ? inputs.now : since->second;
    }
    if (server_healthy(inputs, server.id)) {
      auto since = healthy_since_.find(server.id);
      healthy[server.id] = since == healthy_since_.end() ? inputs.now : since->second;
    }
  }
  // Servers no longer in the configuration, or back to alive or healthy, are
  // forgotten: a failure or a stable spell has to be seen without a break.
  failed_since_ = std::move(failed);
  healthy_since_ = std::move(healthy);
}

AutopilotRound AutopilotPolicy::next(const AutopilotInputs& inputs) {
  observe(inputs);
  AutopilotRound round;
  const raft::Configuration& configuration = inputs.configuration;

  for (const auto& [id, server] : inputs.servers) {
    if (server.status != MemberStatus::alive || server.server_port == 0) continue;
    if (raft::find_server(configuration, id) != nullptr) continue;
    AutopilotChange add;
    add.change.kind = raft::MembershipChangeKind::add_non_voter;
    add.change.server = raft::Server{id, server.ip + ":" + std::to_string(server.server_port), false};
    add.description = "adding server " + server.name + " as a non-voter";
    round.change = std::move(add);
    return round;
  }

  for (const raft::Server& server : configuration.servers) {
    if (server.voter) continue;
    auto since = healthy_since_.find(server.id);
    if (since == healthy_since_.end() || inputs.now - since->second < options_.server_stabilization) continue;
    AutopilotChange promote;
    promote.change.kind = raft::MembershipChangeKind::promote;
    promote.change.server.id = server.id;
    promote.description = "promoting server " + name_of(inputs, server.id) + " to voter";
    round.change = std::move(promote);
    return round;
  }

  const bool cleanup = options_.dead_server_cleanup.count() != 0;
  const size_t voters = raft::voter_count(configuration);
  size_t alive_voters = 0;
  for (const raft::Server& server : configuration.servers) {
    if (server.voter && alive(inputs, server.id)) ++alive_voters;
  }
  for (const bool voter_pass : {false, true}) {
    for (const raft::Server& server : configuration.servers) {
      if (server.id == inputs.leader || server.voter != voter_pass) continue;
      auto failed = failed_since_.find(server.id);
      if (failed == failed_since_.end()) continue;
      const MemberInfo* info = member(inputs, server.id);
      const bool left = info != nullptr && info->status == MemberStatus::left;
      if (!left && (!cleanup || inputs.now - failed->second < options_.dead_server_cleanup)) continue;
      const std::string name = name_of(inputs, server.id);
      if (server.voter) {
        // Alive voters never count here: the server is failed or left.
        const size_t staying = voters - 1;
        // A server that left (a leave, or an operator's force-leave) chose to
        // go: it is removed as Consul's leader removes it, without the caps
        // that keep failed servers (which may come back) from taking the
        // cluster down to too few voters.
        if (!left && voters < 3) {
          round.held_back.push_back("not removing server " + name + ": it is one of the last " +
                                    std::to_string(voters) + " voters");
          continue;
        }
        if (!left && staying < options_.min_quorum) {
          round.held_back.push_back("not removing server " + name + ": " + std::to_string(staying) +
                                    " voters would stay, fewer than min_quorum " +
                                    std::to_string(options_.min_quorum));
          continue;
        }
        if (alive_voters < staying / 2 + 1) {
          round.held_back.push_back("not removing server " + name + ": the " + std::to_string(alive_voters) +
                                    " alive voters would not be a quorum of the " + std::to_string(staying) +
                                    " that stay");
          continue;
        }
      }
      AutopilotChange remove;
      remove.change.kind = raft::MembershipChangeKind::remove;
      remove.change.server.id = server.id;
      remove.description =
          "removing server " + name + (left ? " (left the pool)" : " (failed past the cleanup time)");
      round.change = std::move(remove);
      return round;
    }
  }
  return round;
}

}  // namespace roster::agent
