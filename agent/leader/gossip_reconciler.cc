#include "agent/leader/gossip_reconciler.h"

#include <spdlog/spdlog.h>

#include <map>

#include "agent/core/agent_core.h"
#include "common/one_shot_timer.h"

namespace roster::agent {

namespace {

catalog::Check serf_health_check(const std::string& node, bool alive) {
  catalog::Check check;
  check.node = node;
  check.check_id = kSerfHealthCheckId;
  check.name = kSerfHealthCheckName;
  check.status = alive ? catalog::kPassing : catalog::kCritical;
  check.output = alive ? kSerfAliveOutput : kSerfFailedOutput;
  return check;
}

bool check_agrees(const catalog::Check* check, const catalog::Check& wanted) {
  return check != nullptr && check->status == wanted.status && check->name == wanted.name &&
         check->output == wanted.output && check->service_id.empty();
}

// The registration of a live or failed member, or nullopt when the catalog
// already has it so.
std::optional<catalog::RegisterNode> registration_for(const catalog::StateStore& store, const MemberInfo& member,
                                                      bool alive, const std::string& datacenter) {
  const catalog::Node* existing = store.find_node(member.name);
  catalog::Check wanted_check = serf_health_check(member.name, alive);
  const bool node_agrees = existing != nullptr && (member.id.empty() || existing->id == member.id) &&
                           existing->address == member.ip;
  if (node_agrees && check_agrees(store.find_check(member.name, kSerfHealthCheckId), wanted_check)) {
    return std::nullopt;
  }
  catalog::RegisterNode command;
  command.node.id = member.id;
  command.node.name = member.name;
  command.node.address = member.ip;
  if (existing != nullptr) {
    // A registration replaces these; keep what others wrote, moving only the
    // addresses that followed the old one.
    command.node.datacenter = existing->datacenter;
    command.node.tagged_addresses = existing->tagged_addresses;
    for (auto& [kind, address] : command.node.tagged_addresses) {
      if (address == existing->address) address = member.ip;
    }
  } else {
    command.node.datacenter = datacenter;
    command.node.tagged_addresses = {{"lan", member.ip}, {"wan", member.ip}};
  }
  // A node's tag layers are its agent's to sync (anti-entropy writes its
  // runtime and image layers); gossip only seeds a node the catalog has not
  // seen, so it is tagged before its agent's first sync lands. Writing them on
  // every change would fight the agent's own writes.
  if (existing == nullptr) command.runtime_tags = member.tags;
  command.checks.push_back(std::move(wanted_check));
  return command;
}

const char* status_name(MemberStatus status) {
  switch (status) {
    case MemberStatus::alive: return "alive";
    case MemberStatus::leaving: return "leaving";
    case MemberStatus::left: return "left";
    case MemberStatus::failed: return "failed";
    case MemberStatus::none: break;
  }
  return "none";
}

}  // namespace

std::vector<ReconcileStep> plan_gossip_reconcile(const catalog::StateStore& store,
                                                 const std::vector<MemberInfo>& members,
                                                 const std::set<std::string>& reapable,
                                                 const std::string& local_node, const std::string& datacenter) {
  std::vector<ReconcileStep> steps;
  std::map<std::string, const MemberInfo*> by_name;
  for (const MemberInfo& member : members) {
    if (member.name.empty() || member.name == local_node) continue;
    by_name[member.name] = &member;
  }
  for (const auto& [name, member] : by_name) {
    switch (member->status) {
      case MemberStatus::alive:
      case MemberStatus::failed: {
        const bool alive = member->status == MemberStatus::alive;
        const catalog::Node* existing = store.find_node(name);
        auto command = registration_for(store, *member, alive, datacenter);
        if (!command) break;
        std::string what = existing == nullptr ? "register (member " + std::string(status_name(member->status)) + ")"
                                               : "update (member " + std::string(status_name(member->status)) + ")";
        steps.push_back({name, std::move(what), std::move(*command)});
        break;
      }
      case MemberStatus::left: {
        const catalog::Node* existing = store.find_node(name);
        // A node of that name with another ID is not this member's.
        if (existing == nullptr || (!member->id.empty() && !existing->id.empty() && existing->id != member->id)) break;
        steps.push_back({name, "deregister (member left)", catalog::DeregisterNode{name, "", ""}});
        break;
      }
      case MemberStatus::leaving:
      case MemberStatus::none:
        break;  // as Consul: nothing until it has left
    }
  }
  // Reaped: no longer a member at all. Only nodes that gossip put there
  // (they carry serfHealth) are taken out.
  for (const auto& [name, node] : store.snapshot().nodes) {
    if (name == local_node || by_name.count(name) != 0) continue;
    if (store.find_check(name, kSerfHealthCheckId) == nullptr || reapable.count(name) == 0) continue;
    steps.push_back({name, "deregister (member reaped)", catalog::DeregisterNode{name, "", ""}});
  }
  return steps;
}

struct GossipReconciler::Timers {
  explicit Timers(boost::asio::io_context& io) : soon(io), periodic(io) {}
  OneShotTimer soon;  // coalesces a burst of member changes into one pass
  OneShotTimer periodic;
};

GossipReconciler::GossipReconciler(boost::asio::io_context& io, AgentCore& core, Membership& membership,
                                   GossipReconcilerOptions options)
    : core_(core), membership_(membership), options_(options), timers_(std::make_unique<Timers>(io)) {}

GossipReconciler::~GossipReconciler() { stop(); }

void GossipReconciler::start() {
  if (running_) return;
  running_ = true;
  unknown_since_.clear();  // the grace counts from what this leadership has seen
  spdlog::info("leader: reconciling the gossip pool into the catalog");
  reconcile();
  watch_members();
  arm_periodic();
}

void GossipReconciler::stop() {
  if (!running_) return;
  running_ = false;
  if (waiter_ != 0) core_.watch_hub().cancel(waiter_);
  waiter_ = 0;
  timers_->soon.cancel();
  timers_->periodic.cancel();
}

void GossipReconciler::watch_members() {
  waiter_ = core_.watch_hub().wait({kMembersWatchKey}, [this] {
    waiter_ = 0;
    if (!running_) return;
    // Not from inside the membership's notification: the pool may be in the
    // middle of its own update. One pass on the next turn covers a burst.
    if (!timers_->soon.armed()) timers_->soon.arm_after(std::chrono::nanoseconds(0), [this] { reconcile(); });
    watch_members();
  });
}

void GossipReconciler::arm_periodic() {
  timers_->periodic.arm_after(options_.interval, [this] {
    if (!running_) return;
    reconcile();
    arm_periodic();
  });
}

// The catalog's gossip nodes that no member names and that have been unknown
// to this reconciler for reap_grace; notes when each was first seen so.
std::set<std::string> GossipReconciler::reapable(const std::vector<MemberInfo>& members) {
  const auto now = core_.clock().now();
  std::set<std::string> named;
  for (const MemberInfo& member : members) named.insert(member.name);
  std::set<std::string> out;
  std::map<std::string, std::chrono::steady_clock::time_point> still_unknown;
  for (const auto& [name, node] : core_.store().snapshot().nodes) {
    if (named.count(name) != 0 || core_.store().find_check(name, kSerfHealthCheckId) == nullptr) continue;
    auto since = unknown_since_.find(name);
    const auto first_seen = since == unknown_since_.end() ? now : since->second;
    still_unknown.emplace(name, first_seen);
    if (now - first_seen >= options_.reap_grace) out.insert(name);
  }
  unknown_since_ = std::move(still_unknown);
  return out;
}

// The writes of one pass go out together; a pass asked for while they are
// still in flight runs when they are all done, planned against the catalog
// they produced, so no step is proposed twice. With -dev's catalog the
// writes complete inside this call and the outcome counts them all.
ReconcileOutcome GossipReconciler::reconcile() {
  auto outcome = std::make_shared<ReconcileOutcome>();
  if (in_flight_ > 0) {
    rerun_ = true;
    return *outcome;
  }
  const NodeIdentity& identity = core_.identity();
  if (core_.catalog().replica() == nullptr) return *outcome;
  const std::vector<MemberInfo> members = membership_.members();
  std::vector<ReconcileStep> steps =
      plan_gossip_reconcile(core_.store(), members, reapable(members), identity.name, identity.datacenter);
  in_flight_ += steps.size();
  for (ReconcileStep& step : steps) {
    core_.catalog().write(std::move(step.command), [this, outcome, node = step.node, what = step.what,
                                                    alive = std::weak_ptr<bool>(alive_)](
                                                       Result<catalog::Index> applied) {
      if (alive.expired()) return;
      --in_flight_;
      if (applied.is_ok()) {
        ++outcome->written;
        spdlog::info("leader: node {}: {} from gossip", node, what);
        std::erase_if(reported_, [&](const std::string& key) { return key.starts_with(node + '\n'); });
      } else {
        ++outcome->failed;
        // A standing refusal (another node holds the name or ID) would
        // repeat every pass; say it once.
        if (reported_.insert(node + '\n' + applied.status().message()).second) {
          spdlog::warn("leader: node {}: cannot {} from gossip: {}", node, what, applied.status().message());
        }
      }
      if (in_flight_ == 0 && rerun_ && running_) {
        rerun_ = false;
        reconcile();
      }
    });
  }
  return *outcome;
}

}  // namespace roster::agent
