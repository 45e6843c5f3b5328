#pragma once

// GossipReconciler: the leader's duty of keeping the catalog's nodes in step
// with the gossip pool, as Consul's leader reconciles Serf members.
//
// For every member other than this agent (which registers itself):
// - alive (suspect included): a catalog node with the member's ID, name and
//   IP as address, its gossiped tags as the runtime tag layer of a node the
//   catalog did not have yet (afterwards the node's own agent syncs its
//   layers; the operator layer is never touched), and a passing
//   `serfHealth` check ("Serf Health Status");
// - failed: the same node, with `serfHealth` critical (sessions tied to it
//   are invalidated by the store);
// - left: the node is deregistered with its services and checks;
// - leaving: left as it is until the member has left.
// A catalog node with a `serfHealth` check that is no longer a member at all
// (reaped) is deregistered too, once this leader has not known it as a
// member for `reap_grace`: a leader elected just after every server
// restarted has not heard yet of the members that come back (Consul's Serf
// remembers them in its snapshot), and must not deregister them and their
// services and operator tags in the meantime. Nodes registered through the
// catalog API without `serfHealth` are not the reconciler's.
//
// Nothing is written for a node that is already as gossip says: an in-sync
// reconcile submits no command, so the catalog's index does not move and no
// watcher wakes.
//
// It reconciles when started, on every change the membership announces on
// the core's WatchHub (agent::kMembersWatchKey: joins, tag and address
// updates, failures, leaves, reaps; coalesced into one pass on the next turn
// of the io_context), and every `interval` as a safety net (a member node
// deleted through the catalog API comes back then).
//
// Started by the agent's wiring on a server while it leads (a -dev agent
// leads itself); stopped when it stops leading.
//
// Thread affinity: the agent core's thread (the io_context's), as AgentCore.
// REQUIRES: `io`, `core` and `membership` outlive the reconciler.

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "agent/core/membership.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::agent {

class AgentCore;

inline constexpr const char* kSerfHealthCheckId = "serfHealth";
inline constexpr const char* kSerfHealthCheckName = "Serf Health Status";
inline constexpr const char* kSerfAliveOutput = "Agent alive and reachable";
inline constexpr const char* kSerfFailedOutput = "Agent not live or unreachable";

// One catalog write a reconcile pass makes.
struct ReconcileStep {
  std::string node;
  std::string what;  // for the log: "register (member alive)", "deregister (member left)"
  catalog::CommandBody command;
};

// The writes that bring `store` in line with `members`, in node-name order
// (members first, then reaped nodes): pure, no I/O. `local_node` (this
// agent) is skipped; `datacenter` is written on new nodes. Of the nodes no
// member names, only those in `reapable` are deregistered. Empty when the
// catalog already agrees.
std::vector<ReconcileStep> plan_gossip_reconcile(const catalog::StateStore& store,
                                                 const std::vector<MemberInfo>& members,
                                                 const std::set<std::string>& reapable,
                                                 const std::string& local_node, const std::string& datacenter);

struct GossipReconcilerOptions {
  std::chrono::nanoseconds interval{std::chrono::seconds(60)};  // Consul's reconcile interval
  // How long a node gossip does not know must stay unknown to this leader
  // before it is deregistered as reaped.
  std::chrono::nanoseconds reap_grace{std::chrono::seconds(60)};
};

struct ReconcileOutcome {
  int written = 0;  // commands applied
  int failed = 0;   // commands the store refused (logged; retried next pass)
};

class GossipReconciler {
 public:
  GossipReconciler(boost::asio::io_context& io, AgentCore& core, Membership& membership,
                   GossipReconcilerOptions options = {});
  ~GossipReconciler();
  GossipReconciler(const GossipReconciler&) = delete;
  GossipReconciler& operator=(const GossipReconciler&) = delete;

  // Reconciles at once, then on member changes and every interval, until stop().
  void start();
  void stop();
  bool running() const { return running_; }

  // One pass: plans and writes. Safe to call whether started or not. The
  // outcome counts the writes answered before it returns (all of them with
  // -dev's catalog).
  ReconcileOutcome reconcile();

 private:
  void watch_members();
  std::set<std::string> reapable(const std::vector<MemberInfo>& members);
  void arm_periodic();

  AgentCore& core_;
  Membership& membership_;
  GossipReconcilerOptions options_;
  struct Timers;
  std::unique_ptr<Timers> timers_;
  uint64_t waiter_ = 0;  // the WatchHub waiter on kMembersWatchKey, 0: none
  bool running_ = false;
  // Refusals already logged, so a standing conflict (a node name registered
  // with another ID) is reported once, not every pass.
  std::set<std::string> reported_;
  // Catalog nodes with serfHealth that no member names: since when this
  // reconciler has seen them so (see reap_grace).
  std::map<std::string, std::chrono::steady_clock::time_point> unknown_since_;
  size_t in_flight_ = 0;  // writes of the last pass not yet answered
  bool rerun_ = false;    // a pass was asked for while they were in flight
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::agent
