#pragma once

// AgentCore: one agent's state and its writes to the catalog.
//
// It owns the catalog state store and the watch hub, the node's own services
// and checks (the "local state" that anti-entropy keeps in the catalog), the
// health-check runner and session TTL timers. In -dev mode the agent is its own
// server and applies commands to the store directly, one index at a time; the
// Raft issue replaces submit() with a replicated log without touching callers.
//
// Thread affinity: every method runs on the agent's io_context thread (the
// core strand). HTTP sessions reach it through handlers that run there too.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "agent/catalog/watch_hub.h"
#include "agent/core/user_events.h"
#include "agent/local/definitions.h"
#include "common/clock.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::checks {
class CheckRunner;
}

namespace roster::agent {

class Membership;

struct NodeIdentity {
  std::string id;
  std::string name;
  std::string datacenter;
  std::string address;       // advertised address
  std::string http_address;  // host:port of the HTTP API
  bool server = true;
};

struct CoreOptions {
  NodeIdentity identity;
  catalog::TagMap image_tags;
  catalog::TagMap runtime_tags;   // restored from the data dir
  std::string data_dir;           // empty: keep nothing on disk (-dev without -data-dir)
  bool enable_script_checks = false;
  std::chrono::nanoseconds session_ttl_min{std::chrono::seconds(10)};
  std::chrono::nanoseconds anti_entropy_interval{std::chrono::seconds(60)};
};

// A service as registered with this agent, with the checks it owns.
struct LocalService {
  local::ServiceDefinition definition;
};

struct LocalCheck {
  local::CheckDefinition definition;
  std::string status;
  std::string output;
};

class AgentCore {
 public:
  AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options);
  ~AgentCore();
  AgentCore(const AgentCore&) = delete;
  AgentCore& operator=(const AgentCore&) = delete;

  // Registers this node in the catalog and starts checks and anti-entropy.
  Status start();
  // Stops timers and checks; the io_context can then run dry.
  void stop();

  const NodeIdentity& identity() const { return options_.identity; }
  const catalog::StateStore& store() const { return store_; }
  catalog::WatchHub& watch_hub() { return watch_hub_; }
  const Clock& clock() const { return clock_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }

  // Applies a command at the next index and wakes the watchers of what
  // changed. Returns the index, or the store's error (conflict for a failed
  // CAS or lock, which the HTTP API answers with `false`).
  Result<catalog::Index> submit(catalog::CommandBody body);
  // Applies a transaction as one command at the next index, all of it or
  // none. The outcome holds each operation's result, or the errors of every
  // failed operation (and then the catalog did not change).
  catalog::TxnOutcome submit_transaction(catalog::Transaction transaction);

  // --- this agent's services and checks (/v1/agent/...) ---
  Status register_service(local::ServiceDefinition service);
  Status deregister_service(const std::string& service_id);
  Status register_check(local::CheckDefinition check);
  Status deregister_check(const std::string& check_id);
  // status: "passing", "warning" or "critical".
  Status update_ttl_check(const std::string& check_id, const std::string& status, const std::string& output);
  Status set_node_maintenance(bool enable, const std::string& reason);
  Status set_service_maintenance(const std::string& service_id, bool enable, const std::string& reason);
  const std::map<std::string, LocalService>& local_services() const { return services_; }
  const std::map<std::string, LocalCheck>& local_checks() const { return checks_; }

  // --- tags ---
  Status set_runtime_tags(const catalog::TagMap& set, const std::vector<std::string>& remove);
  // The runtime layer as this agent holds it (and persists it).
  const catalog::TagMap& runtime_tags() const { return options_.runtime_tags; }
  // Replaces the image layer and the config-defined services and checks (SIGHUP).
  Status reload(const catalog::TagMap& image_tags, const std::vector<local::ServiceDefinition>& services,
                const std::vector<local::CheckDefinition>& checks);

  // --- sessions ---
  // Fills defaults (id, node, "serfHealth" check) and starts the TTL timer.
  Result<std::string> create_session(catalog::Session session);
  Status destroy_session(const std::string& id);
  Result<catalog::Session> renew_session(const std::string& id);

  // --- gossip ---
  // The gossip pool, or null before it is wired (and in unit tests). Not
  // owned; REQUIRES: it outlives this core or is reset to null first. Setting
  // it hands it this node's current merged tags; afterwards every change to
  // them (any layer, SIGHUP included) is passed on.
  void set_membership(Membership* membership);
  Membership* membership() const { return membership_; }
  // This node's merged tags as the catalog has them.
  catalog::TagMap merged_tags() const;

  // --- user events (/v1/event) ---
  // The events delivered to this node whose filters match it.
  const UserEventLog& user_events() const { return user_events_; }
  // Keeps `event` if its filters match this node and its services (the
  // membership hands every delivered event here) and wakes kUserEventWatchKey.
  void deliver_user_event(const UserEventInfo& event);

  // Re-registers this node, its services and checks. The store ignores what
  // has not changed, so an in-sync catalog costs nothing and wakes nobody.
  Status sync_to_catalog();

 private:
  Result<catalog::Index> apply_next(catalog::CommandBody body, catalog::TxnOutcome* txn_outcome);
  Status set_maintenance_check(const std::string& check_id, const std::string& service_id, bool enable,
                               const std::string& notes);
  void on_check_changed(const std::string& check_id, const std::string& status, const std::string& output);
  void arm_session_timer(const std::string& id, std::chrono::nanoseconds ttl);
  void schedule_anti_entropy();
  void pass_tags_to_membership(bool force);

  boost::asio::io_context& io_;
  const Clock& clock_;
  CoreOptions options_;
  std::chrono::steady_clock::time_point started_at_;
  catalog::StateStore store_;
  catalog::WatchHub watch_hub_;
  std::map<std::string, LocalService> services_;
  std::map<std::string, LocalCheck> checks_;
  std::vector<std::string> config_service_ids_;
  std::vector<std::string> config_check_ids_;
  std::unique_ptr<checks::CheckRunner> check_runner_;
  struct Timers;
  std::unique_ptr<Timers> timers_;
  bool stopped_ = false;
  Membership* membership_ = nullptr;
  catalog::TagMap gossiped_tags_;
  UserEventLog user_events_;
};

}  // namespace roster::agent
