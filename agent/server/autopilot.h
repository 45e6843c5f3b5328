#pragma once

// Autopilot: the leader's duty of keeping the Raft configuration in step with
// the servers in the gossip pool, as Consul's autopilot does. What to change
// is AutopilotPolicy's (agent/server/autopilot_policy.h: adding new servers
// as non-voters, promoting them once stable, removing dead servers without
// ever costing the quorum); this class gathers what the leader sees, asks it,
// and proposes the change. One change at a time; each round runs on the
// leader's poll.
//
// Thread affinity: the agent's io_context thread.

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "agent/core/membership.h"
#include "agent/raft/types.h"
#include "agent/server/autopilot_policy.h"
#include "common/clock.h"

namespace roster::agent {

class RaftCatalog;

// One server as /v1/operator/autopilot/health shows it.
struct ServerHealth {
  raft::ServerId id = 0;
  std::string name;
  std::string address;
  std::string serf_status;  // "alive", "failed", "left", "none"
  bool voter = false;
  bool leader = false;
  bool healthy = false;  // server_healthy(), as of now
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
  AutopilotInputs inputs() const;

  RaftCatalog& catalog_;
  const Clock& clock_;
  AutopilotPolicy policy_;
  std::vector<MemberInfo> servers_;
  std::set<std::string> held_back_;  // logged once until it changes
  bool running_ = false;
  bool change_in_flight_ = false;
  std::chrono::steady_clock::time_point next_try_{};
};

}  // namespace roster::agent
