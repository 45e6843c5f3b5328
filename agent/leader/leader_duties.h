#pragma once

// LeaderDuties: what a server does only while it is the Raft leader, each duty
// its own class, all started when the server becomes leader and stopped when
// it stops leading: reconciling the gossip pool into the catalog
// (GossipReconciler) and running session TTLs (SessionTimers). A -dev agent
// leads itself from the start.
//
// Thread affinity: the agent's io_context thread.
// REQUIRES: `io` and `core` outlive it.

#include <memory>
#include <string>

#include "agent/catalog/types.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::agent {

class AgentCore;
class GossipReconciler;
class Membership;
class SessionTimers;

class LeaderDuties {
 public:
  LeaderDuties(boost::asio::io_context& io, AgentCore& core);
  ~LeaderDuties();
  LeaderDuties(const LeaderDuties&) = delete;
  LeaderDuties& operator=(const LeaderDuties&) = delete;

  // The pool to reconcile; null detaches it. Not owned; REQUIRES: it
  // outlives this object or is detached first.
  void set_membership(Membership* membership);

  // Leadership gained (true) or lost (false).
  void set_leading(bool leading);
  bool leading() const { return leading_; }

  // Restarts a session's TTL on the leader. Errors: not_leader, not_found.
  Result<catalog::Session> renew_session(const std::string& id);

  SessionTimers& session_timers() { return *session_timers_; }
  GossipReconciler* reconciler() { return reconciler_.get(); }

 private:
  boost::asio::io_context& io_;
  AgentCore& core_;
  bool leading_ = false;
  std::unique_ptr<SessionTimers> session_timers_;
  std::unique_ptr<GossipReconciler> reconciler_;
};

}  // namespace roster::agent
