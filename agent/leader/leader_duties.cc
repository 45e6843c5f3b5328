#include "agent/leader/leader_duties.h"

#include <spdlog/spdlog.h>

#include "agent/core/agent_core.h"
#include "agent/leader/gossip_reconciler.h"
#include "agent/leader/session_timers.h"

namespace roster::agent {

LeaderDuties::LeaderDuties(boost::asio::io_context& io, AgentCore& core)
    : io_(io), core_(core), session_timers_(std::make_unique<SessionTimers>(io, core.catalog())) {}

LeaderDuties::~LeaderDuties() { set_leading(false); }

void LeaderDuties::set_membership(Membership* membership) {
  if (reconciler_) reconciler_->stop();
  reconciler_.reset();
  if (membership == nullptr) return;
  reconciler_ = std::make_unique<GossipReconciler>(io_, core_, *membership);
  if (leading_) reconciler_->start();
}

void LeaderDuties::set_leading(bool leading) {
  if (leading == leading_) return;
  leading_ = leading;
  if (leading) {
    spdlog::info("leader duties started: session TTLs{}", reconciler_ ? ", gossip reconcile" : "");
    session_timers_->start();
    if (reconciler_) reconciler_->start();
  } else {
    session_timers_->stop();
    if (reconciler_) reconciler_->stop();
  }
}

Result<catalog::Session> LeaderDuties::renew_session(const std::string& id) {
  if (!leading_) return Status::not_leader("session renewals go to the leader");
  return session_timers_->renew(id);
}

}  // namespace roster::agent
