#pragma once

// What autopilot decides, as a function of what the leader sees: the Raft
// configuration, how far each follower's log matches the leader's, and the
// gossip pool's view of the servers. No I/O and no clock: the time comes in
// with the inputs, so tests step it by hand (agent/server/autopilot.h
// gathers the inputs and carries the change out).
//
// One change per round, in this order, as Consul's autopilot:
//   1. add: a server alive in the pool and not in the configuration joins as
//      a non-voter, so it receives the log without counting toward quorum;
//   2. promote: a non-voter that has been healthy (see server_healthy) for
//      server_stabilization_time without a break becomes a voter;
//   3. remove: a server that left the pool at once (as Consul's leader does
//      on a leave, whatever cleanup_dead_servers says); one failed in it, or
//      unknown to it, once that has lasted dead_server_cleanup, unless that
//      is 0 (cleanup_dead_servers off). Non-voters go first. A failed voter is
//      removed only while
//        - the configuration has at least 3 voters: raft-autopilot removes at
//          most (voters - 1) / 2 voters, so never a majority, and never one
//          of the last 2;
//        - at least min_quorum voters would stay (Consul's min_quorum);
//        - the alive voters that stay still form a quorum of them.
//      A voter that left is removed under the last rule only.
//
// Thread affinity: none of its own; the caller's.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/membership.h"
#include "agent/raft/membership.h"
#include "agent/raft/types.h"

namespace roster::agent {

struct AutopilotOptions {
  // Autopilot's cleanup_dead_servers: how long a server must have been failed
  // in the pool before it is removed. 0: never remove a failed server.
  std::chrono::milliseconds dead_server_cleanup{std::chrono::seconds(60)};
  // How long a non-voter must have been healthy before it is promoted.
  std::chrono::milliseconds server_stabilization{std::chrono::seconds(10)};
  // Never remove a voter when fewer than this many would stay (0: no floor).
  size_t min_quorum = 0;
};

// A follower within this many entries of the leader's log counts as caught up
// (the Raft core's own promotion check uses the same figure).
inline constexpr raft::Index kHealthyLag = 1024;

// What the leader sees in one round.
struct AutopilotInputs {
  std::chrono::steady_clock::time_point now{};
  raft::ServerId leader = raft::kNoServer;  // this server, which runs autopilot
  raft::Configuration configuration;
  raft::Index commit_index = 0;  // the leader's
  // The match index of each follower the leader tracks: the end of the log it
  // has acknowledged. Absent: not tracked (yet).
  std::map<raft::ServerId, raft::Index> match_index;
  // The gossip pool's servers, by Raft server ID.
  std::map<raft::ServerId, MemberInfo> servers;
};

// Alive in the pool and, unless it is the leader, a log acknowledged and
// within kHealthyLag entries of the leader's commit index. A follower that has
// not acknowledged any entry is not healthy, however short the log.
bool server_healthy(const AutopilotInputs& inputs, raft::ServerId id);

struct AutopilotChange {
  raft::MembershipChange change;
  std::string description;  // for the log: "promoting server s4 to voter"
};

struct AutopilotRound {
  std::optional<AutopilotChange> change;
  // Removals held back, and why, for the log ("not removing server s2: ...").
  std::vector<std::string> held_back;
};

class AutopilotPolicy {
 public:
  explicit AutopilotPolicy(AutopilotOptions options) : options_(options) {}

  // Forgets the timings seen so far (leadership was gained anew).
  void reset();
  // Records what this round shows (which servers are failed, which healthy,
  // since when) and returns the one change to make now, if any. Rounds must
  // come with a time that does not go back.
  AutopilotRound next(const AutopilotInputs& inputs);

  // Since when `id` has been healthy without a break, as of the last round.
  std::optional<std::chrono::steady_clock::time_point> healthy_since(raft::ServerId id) const;
  const AutopilotOptions& options() const { return options_; }

 private:
  void observe(const AutopilotInputs& inputs);

  AutopilotOptions options_;
  std::map<raft::ServerId, std::chrono::steady_clock::time_point> failed_since_;
  std::map<raft::ServerId, std::chrono::steady_clock::time_point> healthy_since_;
};

}  // namespace roster::agent
