#pragma once

// Autopilot: the leader's duty of keeping the Raft configuration in step with
// the servers in the gossip pool, as Consul's autopilot does.
//   - A server in the pool that is not in the configuration is added as a
//     non-voter: it receives the log without counting toward quorum.
//   - A non-voter is promoted to voter once it has caught up (the Raft core
//     refuses the promotion before that; autopilot asks again next round).
//   - A server that has left the pool, or been failed in it for longer than
//     dead_server_cleanup (Consul's cleanup_dead_servers), is removed, but
//     only while the healthy voters left would still form a quorum.
// One change at a time; each round runs on the leader's poll.
//
// Thread affinity: the agent's io_context thread.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "agent/core/membership.h"
#include "agent/raft/types.h"
#include "common/clock.h"

namespace roster::agent {

class RaftCatalog;

struct AutopilotOptions {
  std::chrono::milliseconds dead_server_cleanup{std::chrono::seconds(60)};  // 0: never remove
};

// One server as /v1/operator/autopilot/health shows it.
struct ServerHealth {
  raft::ServerId id = 0;
  std::string name;
  std::string address;
  std::string serf_status;  // "alive", "failed", "left", "none"
  bool voter = false;
  bool leader = false;
  bool healthy = false;  // alive in the pool and, for a follower, caught up within a few entries
  raft::Index last_index = 0;  // its match index, as the leader sees it
};

class Autopilot {
 public:
  Autopilot(RaftCatalog& catalog, const Clock& clock, AutopilotOptions options);

  void set_servers(const std::vector<MemberInfo>& servers) { servers_ = servers; }
  void start();
  void stop();
  // One round (the leader calls it on every poll).
  void tick();

  // Every server of the configuration, for the health endpoint.
  std::vector<ServerHealth> health() const;
  // Whether the cluster could lose one more voter and keep a quorum.
  bool failure_tolerant() const;

 private:
  const MemberInfo* member(raft::ServerId id) const;

  RaftCatalog& catalog_;
  const Clock& clock_;
  AutopilotOptions options_;
  std::vector<MemberInfo> servers_;
  std::map<raft::ServerId, std::chrono::steady_clock::time_point> failed_since_;
  bool running_ = false;
  bool change_in_flight_ = false;
  std::chrono::steady_clock::time_point next_try_{};
};

}  // namespace roster::agent
