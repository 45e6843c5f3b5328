#pragma once

// AgentCore: one agent's own state and how it reaches the catalog.
//
// It owns the node's own services and checks (the "local state" that
// anti-entropy keeps in the catalog), the health-check runner and the
// CatalogBackend: -dev's in-memory LocalCatalog, a server's RaftCatalog or a
// client agent's RemoteCatalog. Every change goes to the catalog first; the
// local state changes in the write's callback, once the catalog holds it, so
// a failed write leaves the agent as it was.
//
// Anti-entropy compares the catalog's record of this node with the local
// state and writes only the differences: an idle, in-sync agent makes no
// catalog writes at all.
//
// Thread affinity: every method runs on the agent's io_context thread (the
// core strand). HTTP sessions reach it through handlers that run there too.
// Callbacks run there as well; with -dev's LocalCatalog they run before the
// method returns.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/catalog/command.h"
#include "agent/catalog/state_store.h"
#include "agent/catalog/watch_hub.h"
#include "agent/core/catalog_backend.h"
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
  // The full sync's base interval; Consul scales it up with the cluster's size
  // (scaled_anti_entropy_interval) so the servers see a bounded sync rate.
  std::chrono::nanoseconds anti_entropy_interval{std::chrono::seconds(60)};
  // Consul's check_update_interval: a check whose output changes but whose
  // status does not is written at most this often. 0: every change.
  std::chrono::nanoseconds check_update_interval{std::chrono::minutes(5)};
};

using StatusDone = std::function<void(Status)>;

// Consul's agent/ae scaling: the interval grows with log2 of the cluster size
// beyond 128 nodes, so a 10,000-node fleet syncs about every 7 minutes.
std::chrono::nanoseconds scaled_anti_entropy_interval(std::chrono::nanoseconds base, size_t cluster_size);

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
  // A -dev agent: its catalog is its own, in memory.
  AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options);
  // An agent whose catalog is `catalog` (a server's or a client's).
  AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options,
            std::unique_ptr<CatalogBackend> catalog);
  ~AgentCore();
  AgentCore(const AgentCore&) = delete;
  AgentCore& operator=(const AgentCore&) = delete;

  // Starts checks and anti-entropy, whose first sync registers this node.
  // With a catalog that answers at once (-dev), returns that sync's error;
  // otherwise a failed sync is logged and retried.
  Status start();
  // Stops timers and checks; the io_context can then run dry.
  void stop();

  const NodeIdentity& identity() const { return options_.identity; }
  CatalogBackend& catalog() { return *catalog_; }
  const CatalogBackend& catalog() const { return *catalog_; }
  // The local replica. REQUIRES: catalog().replica() != null (-dev, servers).
  const catalog::StateStore& store() const { return *catalog_->replica(); }
  catalog::WatchHub& watch_hub() { return catalog_->watch_hub(); }
  const Clock& clock() const { return clock_; }
  boost::asio::io_context& io() { return io_; }
  std::chrono::steady_clock::time_point started_at() const { return started_at_; }

  // --- this agent's services and checks (/v1/agent/...) ---
  // Each validates, writes to the catalog, and on success changes the local
  // state and calls done(ok); on failure done gets the error and nothing
  // local changed.
  void register_service(local::ServiceDefinition service, StatusDone done);
  void deregister_service(const std::string& service_id, StatusDone done);
  void register_check(local::CheckDefinition check, StatusDone done);
  void deregister_check(const std::string& check_id, StatusDone done);
  // status: "passing", "warning" or "critical".
  void update_ttl_check(const std::string& check_id, const std::string& status, const std::string& output,
                        StatusDone done);
  void set_node_maintenance(bool enable, const std::string& reason, StatusDone done);
  void set_service_maintenance(const std::string& service_id, bool enable, const std::string& reason,
                               StatusDone done);
  const std::map<std::string, LocalService>& local_services() const { return services_; }
  const std::map<std::string, LocalCheck>& local_checks() const { return checks_; }

  // --- tags ---
  void set_runtime_tags(const catalog::TagMap& set, const std::vector<std::string>& remove, StatusDone done);
  // The runtime layer as this agent holds it (and persists it).
  const catalog::TagMap& runtime_tags() const { return options_.runtime_tags; }
  // Replaces the image layer and the config-defined services and checks
  // (SIGHUP); done gets the first error.
  void reload(const catalog::TagMap& image_tags, const std::vector<local::ServiceDefinition>& services,
              const std::vector<local::CheckDefinition>& checks, StatusDone done);

  // --- sessions ---
  // Fills defaults (id, node, "serfHealth" check) and writes the session; its
  // TTL is run by the leader (agent/leader/session_timers.h).
  void create_session(catalog::Session session, std::function<void(Result<std::string>)> done);

  // --- gossip ---
  // The gossip pool, or null before it is wired (and in unit tests). Not
  // owned; REQUIRES: it outlives this core or is reset to null first. Setting
  // it hands it this node's current merged tags; afterwards every change to
  // them (any layer, SIGHUP included) is passed on.
  void set_membership(Membership* membership);
  Membership* membership() const { return membership_; }
  // This node's merged tags as the catalog has them. A client agent holds no
  // catalog: it merges its own layers, or uses what set_catalog_tags() last
  // brought from the servers (operator tags included).
  catalog::TagMap merged_tags() const;
  // A client agent's view of its node's merged tags, from a blocking query
  // on the servers; passed on to gossip when it changed.
  void set_catalog_tags(catalog::TagMap merged);

  // --- user events (/v1/event) ---
  // The events delivered to this node whose filters match it.
  const UserEventLog& user_events() const { return user_events_; }
  // Keeps `event` if its filters match this node and its services (the
  // membership hands every delivered event here) and wakes kUserEventWatchKey.
  void deliver_user_event(const UserEventInfo& event);

  // Brings the catalog's record of this node in line with the local state,
  // writing only what differs. done(ok) when the two agree.
  void sync_to_catalog(StatusDone done);
  // Full syncs that found nothing to write, and catalog writes anti-entropy
  // made (tests and metrics: an in-sync agent must not write).
  uint64_t syncs_in_sync() const { return syncs_in_sync_; }
  uint64_t sync_writes() const { return sync_writes_; }

 private:
  void write_then(catalog::CommandBody body, StatusDone done);
  void write_all(std::vector<catalog::CommandBody> bodies, StatusDone done);
  // write_all() without waiting for registered_: the sync that registers.
  void write_in_order(std::vector<catalog::CommandBody> bodies, StatusDone done);
  std::vector<catalog::CommandBody> sync_commands(const NodeRecord& record) const;
  void set_maintenance_check(const std::string& check_id, const std::string& service_id, bool enable,
                             const std::string& notes, StatusDone done);
  void on_check_changed(const std::string& check_id, const std::string& status, const std::string& output);
  void schedule_anti_entropy();
  void watch_own_node();
  void pass_tags_to_membership(bool force);

  boost::asio::io_context& io_;
  const Clock& clock_;
  CoreOptions options_;
  std::unique_ptr<CatalogBackend> catalog_;
  std::chrono::steady_clock::time_point started_at_;
  std::map<std::string, LocalService> services_;
  std::map<std::string, LocalCheck> checks_;
  // When each check's output was last written without a status change.
  std::map<std::string, std::chrono::steady_clock::time_point> check_output_written_;
  std::vector<std::string> config_service_ids_;
  std::vector<std::string> config_check_ids_;
  std::unique_ptr<checks::CheckRunner> check_runner_;
  struct Timers;
  std::unique_ptr<Timers> timers_;
  bool stopped_ = false;
  bool sync_running_ = false;
  bool last_sync_failed_ = false;
  // Whether a sync has put this node in the catalog since start(). Services,
  // checks and tags are written with skip_node_update, so write_then() and
  // write_all() hold them in after_registered_ until then: with a cluster,
  // the first sync finishes only once there is a leader.
  bool registered_ = false;
  std::vector<std::function<void()>> after_registered_;
  void note_registered();
  uint64_t syncs_in_sync_ = 0;
  uint64_t sync_writes_ = 0;
  uint64_t own_node_listener_ = 0;
  Membership* membership_ = nullptr;
  catalog::TagMap gossiped_tags_;
  std::optional<catalog::TagMap> catalog_tags_;  // a client agent's last view from the servers
  UserEventLog user_events_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::agent
