#include "agent/core/agent_core.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/checks/check_runner.h"
#include "agent/core/local_catalog.h"
#include "agent/core/membership.h"
#include "common/duration.h"
#include "common/one_shot_timer.h"
#include "common/uuid.h"

namespace roster::agent {

namespace {

constexpr const char* kSerfHealth = "serfHealth";
// Consul servers list themselves as the `consul` service, on the server RPC
// port; tools find the servers that way.
constexpr const char* kServerServiceId = "consul";
constexpr int kServerRpcPort = 8300;
constexpr const char* kNodeMaintenance = "_node_maintenance";
constexpr const char* kServiceMaintenancePrefix = "_service_maintenance:";
constexpr auto kSessionTtlMax = std::chrono::hours(24);
// Consul's agent/ae: no scaling up to 128 nodes.
constexpr size_t kAntiEntropyScaleThreshold = 128;
constexpr auto kSyncRetry = std::chrono::seconds(2);

catalog::Check to_catalog_check(const std::string& node, const local::CheckDefinition& definition,
                                const std::string& status, const std::string& output) {
  catalog::Check check;
  check.node = node;
  check.check_id = definition.id;
  check.name = definition.name;
  check.notes = definition.notes;
  check.status = status;
  check.output = output;
  check.service_id = definition.service_id;
  check.type = definition.type();
  if (check.type != "ttl" && !check.type.empty()) {
    check.interval = format_go_duration(definition.interval);
    check.timeout = format_go_duration(definition.timeout);
  }
  return check;
}

catalog::Service to_catalog_service(const std::string& node, const local::ServiceDefinition& definition) {
  catalog::Service service;
  service.node = node;
  service.id = definition.id;
  service.name = definition.name;
  service.tags = definition.tags;
  service.address = definition.address;
  service.port = definition.port;
  service.meta = definition.meta;
  service.enable_tag_override = definition.enable_tag_override;
  return service;
}

Status write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Status::internal("cannot write " + temporary.string());
    out << contents;
    out.flush();
    if (!out) return Status::internal("cannot write " + temporary.string());
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) return Status::internal("cannot rename " + temporary.string() + ": " + error.message());
  return Status::ok();
}

}  // namespace


std::chrono::nanoseconds scaled_anti_entropy_interval(std::chrono::nanoseconds base, size_t cluster_size) {
  if (cluster_size <= kAntiEntropyScaleThreshold) return base;
  const double factor = 1.0 + std::log2(static_cast<double>(cluster_size) / kAntiEntropyScaleThreshold);
  return std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
}

namespace {

// What anti-entropy compares: the fields the agent owns, not the indexes.
bool same_service(const catalog::Service& a, const catalog::Service& b) {
  return a.name == b.name && a.tags == b.tags && a.address == b.address && a.port == b.port && a.meta == b.meta &&
         a.enable_tag_override == b.enable_tag_override;
}

bool same_check(const catalog::Check& a, const catalog::Check& b) {
  return a.name == b.name && a.status == b.status && a.notes == b.notes && a.output == b.output &&
         a.service_id == b.service_id && a.type == b.type && a.interval == b.interval && a.timeout == b.timeout;
}

}  // namespace

struct AgentCore::Timers {
  explicit Timers(boost::asio::io_context& io) : anti_entropy(io) {}
  boost::asio::steady_timer anti_entropy;
};

AgentCore::AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options)
    : AgentCore(io, clock, options,
                std::make_unique<LocalCatalog>(clock, options.identity.address + ":" + std::to_string(kServerRpcPort))) {}

AgentCore::AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options,
                     std::unique_ptr<CatalogBackend> catalog)
    : io_(io), clock_(clock), options_(std::move(options)), catalog_(std::move(catalog)), started_at_(clock.now()),
      timers_(std::make_unique<Timers>(io)) {
  checks::RunnerOptions runner_options;
  runner_options.enable_script_checks = options_.enable_script_checks;
  check_runner_ = std::make_unique<checks::CheckRunner>(
      io_, runner_options,
      [this](const std::string& check_id, const checks::CheckResult& result) {
        on_check_changed(check_id, result.status, result.output);
      },
      [this](const std::string& service_id) {
        spdlog::warn("service {} has been critical past its DeregisterCriticalServiceAfter; deregistering it",
                     service_id);
        deregister_service(service_id, [service_id](Status status) {
          if (!status.is_ok()) spdlog::warn("deregistering service {}: {}", service_id, status.to_string());
        });
      });
}

AgentCore::~AgentCore() {
  *alive_ = false;
  stop();
  if (own_node_listener_ != 0 && catalog_) catalog_->watch_hub().unsubscribe(own_node_listener_);
}

Status AgentCore::start() {
  struct FirstSync {
    bool finished = false;
    Status status;
  };
  auto first_sync = std::make_shared<FirstSync>();
  sync_to_catalog([this, first_sync, alive = std::weak_ptr<bool>(alive_)](Status status) {
    first_sync->finished = true;
    first_sync->status = status;
    if (alive.expired()) return;
    last_sync_failed_ = !status.is_ok();
    if (status.is_ok()) {
      spdlog::info("node {} ({}) registered in datacenter {}", options_.identity.name, options_.identity.id,
                   options_.identity.datacenter);
      note_registered();
    } else {
      spdlog::warn("registering node {}: {}; anti-entropy retries", options_.identity.name, status.to_string());
      if (!stopped_) schedule_anti_entropy();
    }
  });
  if (first_sync->finished && !first_sync->status.is_ok()) return first_sync->status;
  watch_own_node();
  schedule_anti_entropy();
  return Status::ok();
}

void AgentCore::note_registered() {
  if (registered_) return;
  registered_ = true;
  std::vector<std::function<void()>> waiting;
  waiting.swap(after_registered_);
  for (auto& work : waiting) work();
}

void AgentCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (check_runner_) check_runner_->stop();
  timers_->anti_entropy.cancel();
}

void AgentCore::write_then(catalog::CommandBody body, StatusDone done) {
  if (!registered_ && !stopped_) {
    after_registered_.push_back([this, body = std::move(body), done = std::move(done)]() mutable {
      write_then(std::move(body), std::move(done));
    });
    return;
  }
  catalog_->write(std::move(body), [done = std::move(done)](Result<catalog::Index> result) {
    if (done) done(result.is_ok() ? Status::ok() : result.status());
  });
}

void AgentCore::write_all(std::vector<catalog::CommandBody> bodies, StatusDone done) {
  if (!registered_ && !stopped_) {
    after_registered_.push_back([this, bodies = std::move(bodies), done = std::move(done)]() mutable {
      write_all(std::move(bodies), std::move(done));
    });
    return;
  }
  write_in_order(std::move(bodies), std::move(done));
}

// One after another, in order: a service registration must follow the node's.
void AgentCore::write_in_order(std::vector<catalog::CommandBody> bodies, StatusDone done) {
  if (bodies.empty()) {
    if (done) done(Status::ok());
    return;
  }
  auto remaining = std::make_shared<std::vector<catalog::CommandBody>>(std::move(bodies));
  auto step = std::make_shared<std::function<void(size_t)>>();
  *step = [this, remaining, done = std::move(done), weak_step = std::weak_ptr<std::function<void(size_t)>>(step),
           alive = std::weak_ptr<bool>(alive_)](size_t next) {
    if (alive.expired()) return;
    if (next == remaining->size()) {
      if (done) done(Status::ok());
      return;
    }
    auto self = weak_step.lock();
    catalog_->write(std::move((*remaining)[next]), [self, next, done, alive](Result<catalog::Index> result) {
      if (alive.expired() || !self) return;
      if (!result.is_ok()) {
        if (done) done(result.status());
        return;
      }
      (*self)(next + 1);
    });
  };
  // The chain keeps itself alive through the write callbacks' copies.
  auto keep = step;
  (*keep)(0);
}

catalog::TagMap AgentCore::merged_tags() const {
  if (const catalog::StateStore* store = catalog_->replica(); store != nullptr) {
    const catalog::Node* node = store->find_node(options_.identity.name);
    if (node != nullptr) return node->tags.merged();
  }
  if (catalog_tags_) return *catalog_tags_;
  catalog::NodeTags tags;
  tags.runtime_tags = options_.runtime_tags;
  tags.image_tags = options_.image_tags;
  return tags.merged();
}

void AgentCore::set_catalog_tags(catalog::TagMap merged) {
  catalog_tags_ = std::move(merged);
  if (membership_ != nullptr) pass_tags_to_membership(false);
}

void AgentCore::set_membership(Membership* membership) {
  if (membership_ != nullptr) membership_->set_user_event_handler(nullptr);
  membership_ = membership;
  if (membership_ == nullptr) return;
  pass_tags_to_membership(true);
  membership_->set_user_event_handler([this](const UserEventInfo& event) { deliver_user_event(event); });
}

// The node's tags change through any layer, on any server: follow the
// catalog's own record of the node and pass the merged view on to gossip.
void AgentCore::watch_own_node() {
  if (stopped_ || catalog_->replica() == nullptr || own_node_listener_ != 0) return;
  own_node_listener_ = catalog_->watch_hub().subscribe(
      [this, key = catalog::watch_key::node(options_.identity.name)](const std::vector<std::string>& changed) {
        if (membership_ == nullptr) return;
        if (std::find(changed.begin(), changed.end(), key) != changed.end()) pass_tags_to_membership(false);
      });
}

// Consul filters at delivery, against the services registered at that moment.
void AgentCore::deliver_user_event(const UserEventInfo& event) {
  std::vector<LocalServiceTags> services;
  services.reserve(services_.size());
  for (const auto& [id, service] : services_) {
    services.push_back(LocalServiceTags{id, service.definition.name, service.definition.tags});
  }
  if (!user_event_matches(event, options_.identity.name, services)) return;
  user_events_.add(event);
  catalog_->watch_hub().notify({kUserEventWatchKey});
}

// Whatever layer wrote them, the pool gets the merged view, so an operator
// tag set through this agent's API spreads like a runtime or image tag.
void AgentCore::pass_tags_to_membership(bool force) {
  catalog::TagMap merged = merged_tags();
  if (!force && merged == gossiped_tags_) return;
  gossiped_tags_ = merged;
  membership_->set_local_tags(gossiped_tags_);
}

std::vector<catalog::CommandBody> AgentCore::sync_commands(const NodeRecord& record) const {
  const std::string& node_name = options_.identity.name;
  std::vector<catalog::CommandBody> commands;

  // The node itself, its runtime and image layers (never the operator's),
  // and its node-level checks.
  const std::map<std::string, std::string> tagged = {{"lan", options_.identity.address},
                                                     {"wan", options_.identity.address}};
  const bool node_in_sync = record.node && record.node->id == options_.identity.id &&
                            record.node->address == options_.identity.address &&
                            record.node->datacenter == options_.identity.datacenter &&
                            record.node->tagged_addresses == tagged &&
                            record.node->tags.runtime_tags == options_.runtime_tags &&
                            record.node->tags.image_tags == options_.image_tags;
  auto catalog_check = [&record](const std::string& id) -> const catalog::Check* {
    for (const auto& check : record.checks) {
      if (check.check_id == id) return &check;
    }
    return nullptr;
  };
  catalog::RegisterNode node_registration;
  node_registration.node.id = options_.identity.id;
  node_registration.node.name = node_name;
  node_registration.node.address = options_.identity.address;
  node_registration.node.datacenter = options_.identity.datacenter;
  node_registration.node.tagged_addresses = tagged;
  node_registration.runtime_tags = options_.runtime_tags;
  node_registration.image_tags = options_.image_tags;
  // serfHealth is the leader's to keep (it follows the gossip pool); the
  // agent only seeds it when the catalog has none, so a new node starts
  // healthy even before the leader's reconciler has seen it.
  if (catalog_check(kSerfHealth) == nullptr) {
    catalog::Check serf_health;
    serf_health.node = node_name;
    serf_health.check_id = kSerfHealth;
    serf_health.name = "Serf Health Status";
    serf_health.status = catalog::kPassing;
    serf_health.output = "Agent alive and reachable";
    node_registration.checks.push_back(serf_health);
  }
  bool node_checks_in_sync = true;
  for (const auto& [id, check] : checks_) {
    if (!check.definition.service_id.empty()) continue;
    catalog::Check wanted = to_catalog_check(node_name, check.definition, check.status, check.output);
    if (check.definition.id.starts_with(kNodeMaintenance)) wanted.type = "maintenance";
    const catalog::Check* have = catalog_check(id);
    if (have == nullptr || !same_check(*have, wanted)) node_checks_in_sync = false;
    node_registration.checks.push_back(std::move(wanted));
  }
  if (!node_in_sync || !node_checks_in_sync || catalog_check(kSerfHealth) == nullptr) {
    commands.emplace_back(std::move(node_registration));
  }

  auto catalog_service = [&record](const std::string& id) -> const catalog::Service* {
    for (const auto& service : record.services) {
      if (service.id == id) return &service;
    }
    return nullptr;
  };
  for (const auto& [id, service] : services_) {
    catalog::RegisterNode service_registration;
    service_registration.node.name = node_name;
    service_registration.skip_node_update = true;
    service_registration.service = to_catalog_service(node_name, service.definition);
    bool in_sync = catalog_service(id) != nullptr && same_service(*catalog_service(id), *service_registration.service);
    for (const auto& [check_id, check] : checks_) {
      if (check.definition.service_id != id) continue;
      catalog::Check wanted = to_catalog_check(node_name, check.definition, check.status, check.output);
      if (check_id.starts_with(kServiceMaintenancePrefix)) wanted.type = "maintenance";
      const catalog::Check* have = catalog_check(check_id);
      if (have == nullptr || !same_check(*have, wanted)) in_sync = false;
      service_registration.checks.push_back(std::move(wanted));
    }
    if (!in_sync) commands.emplace_back(std::move(service_registration));
  }

  if (options_.identity.server && catalog_service(kServerServiceId) == nullptr) {
    catalog::RegisterNode server_registration;
    server_registration.node.name = node_name;
    server_registration.skip_node_update = true;
    catalog::Service server_service;
    server_service.node = node_name;
    server_service.id = kServerServiceId;
    server_service.name = kServerServiceId;
    server_service.port = kServerRpcPort;
    server_registration.service = server_service;
    commands.emplace_back(std::move(server_registration));
  }

  // The agent is the source of truth for its own services and checks:
  // whatever the catalog has for this node beyond them goes.
  for (const auto& service : record.services) {
    const bool server_service = options_.identity.server && service.id == kServerServiceId;
    if (!services_.contains(service.id) && !server_service) {
      commands.emplace_back(catalog::DeregisterNode{node_name, service.id, ""});
    }
  }
  for (const auto& check : record.checks) {
    if (check.check_id != kSerfHealth && !checks_.contains(check.check_id) &&
        (check.service_id.empty() || services_.contains(check.service_id))) {
      commands.emplace_back(catalog::DeregisterNode{node_name, "", check.check_id});
    }
  }
  return commands;
}

void AgentCore::sync_to_catalog(StatusDone done) {
  catalog_->read_node(options_.identity.name, [this, done = std::move(done), alive = std::weak_ptr<bool>(alive_)](
                                                  Result<NodeRecord> record) mutable {
    if (alive.expired()) return;
    if (!record.is_ok()) {
      if (done) done(record.status());
      return;
    }
    std::vector<catalog::CommandBody> commands = sync_commands(*record);
    if (commands.empty()) {
      ++syncs_in_sync_;
      if (done) done(Status::ok());
      return;
    }
    sync_writes_ += commands.size();
    write_in_order(std::move(commands), std::move(done));
  });
}

void AgentCore::schedule_anti_entropy() {
  if (stopped_) return;
  size_t cluster_size = 1;
  if (membership_ != nullptr) cluster_size = membership_->members().size();
  auto interval = scaled_anti_entropy_interval(options_.anti_entropy_interval, cluster_size);
  // A sync that failed (no leader yet, a server unreachable) is tried again
  // soon, so a new node shows up as soon as the cluster can take it.
  if (last_sync_failed_) interval = std::min<std::chrono::nanoseconds>(interval, kSyncRetry);
  timers_->anti_entropy.expires_after(interval);
  timers_->anti_entropy.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    if (sync_running_) return schedule_anti_entropy();
    sync_running_ = true;
    sync_to_catalog([this, alive = std::weak_ptr<bool>(alive_)](Status status) {
      if (alive.expired()) return;
      sync_running_ = false;
      last_sync_failed_ = !status.is_ok();
      if (status.is_ok()) note_registered();
      if (!status.is_ok()) {
        spdlog::warn("anti-entropy sync failed: {}", status.to_string());
        schedule_anti_entropy();  // sooner than the full interval armed below
      }
    });
    schedule_anti_entropy();
  });
}

void AgentCore::register_service(local::ServiceDefinition service, StatusDone done) {
  if (service.name.empty()) return done(Status::invalid_argument("Missing service name"));
  if (service.id.empty()) service.id = service.name;
  if (service.port < 0 || service.port > 65535) return done(Status::invalid_argument("Invalid service port"));
  std::vector<local::CheckDefinition> service_checks = std::move(service.checks);
  service.checks.clear();
  for (size_t i = 0; i < service_checks.size(); ++i) {
    auto& check = service_checks[i];
    if (check.id.empty()) {
      check.id = "service:" + service.id;
      if (service_checks.size() > 1) check.id += ":" + std::to_string(i + 1);
    }
    if (check.name.empty()) check.name = "Service '" + service.name + "' check";
    check.service_id = service.id;
    if (check.type().empty()) {
      return done(Status::invalid_argument("check " + check.id + " has no TTL, HTTP, TCP or Args"));
    }
    if (!options_.enable_script_checks && check.type() == "script") {
      return done(
          Status::permission_denied("Scripts are disabled on this agent; set enable_script_checks to allow them"));
    }
  }

  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  registration.service = to_catalog_service(options_.identity.name, service);
  for (auto& check : service_checks) {
    std::string status = check.status.empty() ? catalog::kCritical : check.status;
    registration.checks.push_back(to_catalog_check(options_.identity.name, check, status, ""));
  }
  // Replacing a service replaces its checks: the old ones leave the catalog
  // after the new registration is in.
  std::vector<std::string> stale_checks;
  for (const auto& [id, check] : checks_) {
    const bool replaced = std::any_of(service_checks.begin(), service_checks.end(),
                                      [&id](const local::CheckDefinition& c) { return c.id == id; });
    if (check.definition.service_id == service.id && !id.starts_with(kServiceMaintenancePrefix) && !replaced) {
      stale_checks.push_back(id);
    }
  }
  std::vector<catalog::CommandBody> commands;
  commands.emplace_back(std::move(registration));
  for (const auto& id : stale_checks) commands.emplace_back(catalog::DeregisterNode{options_.identity.name, "", id});

  write_all(std::move(commands), [this, service = std::move(service), service_checks = std::move(service_checks),
                                  stale_checks, done = std::move(done)](Status status) mutable {
    if (!status.is_ok()) return done(status);
    for (const auto& id : stale_checks) {
      check_runner_->remove(id);
      checks_.erase(id);
    }
    const std::string service_id = service.id;
    services_[service_id] = LocalService{std::move(service)};
    for (auto& check : service_checks) {
      check_runner_->remove(check.id);
      std::string check_status = check.status.empty() ? catalog::kCritical : check.status;
      checks_[check.id] = LocalCheck{check, check_status, ""};
    }
    Status first_error;
    for (auto& check : service_checks) {
      Status added = check_runner_->add(check);
      if (!added.is_ok() && first_error.is_ok()) first_error = added;
    }
    spdlog::info("service {} registered", service_id);
    done(first_error);
  });
}

void AgentCore::deregister_service(const std::string& service_id, StatusDone done) {
  if (!services_.contains(service_id)) return done(Status::not_found("Unknown service ID \"" + service_id + "\""));
  write_then(catalog::DeregisterNode{options_.identity.name, service_id, ""},
             [this, service_id, done = std::move(done)](Status status) {
               if (!status.is_ok()) return done(status);
               services_.erase(service_id);
               for (auto it = checks_.begin(); it != checks_.end();) {
                 if (it->second.definition.service_id == service_id) {
                   check_runner_->remove(it->first);
                   it = checks_.erase(it);
                 } else {
                   ++it;
                 }
               }
               spdlog::info("service {} deregistered", service_id);
               done(Status::ok());
             });
}

void AgentCore::register_check(local::CheckDefinition check, StatusDone done) {
  if (check.name.empty()) return done(Status::invalid_argument("Missing check name"));
  if (check.id.empty()) check.id = check.name;
  if (check.id == kSerfHealth) return done(Status::invalid_argument("check ID serfHealth is reserved"));
  if (!check.service_id.empty() && !services_.contains(check.service_id)) {
    return done(Status::invalid_argument("ServiceID \"" + check.service_id + "\" does not exist"));
  }
  if (check.type().empty()) return done(Status::invalid_argument("Must provide TTL or HTTP, TCP or Args"));
  if (!options_.enable_script_checks && check.type() == "script") {
    return done(
        Status::permission_denied("Scripts are disabled on this agent; set enable_script_checks to allow them"));
  }
  std::string status = check.status.empty() ? catalog::kCritical : check.status;
  if (!catalog::is_valid_check_status(status)) {
    return done(Status::invalid_argument("Invalid check status \"" + status + "\""));
  }
  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  registration.checks.push_back(to_catalog_check(options_.identity.name, check, status, ""));
  write_then(std::move(registration), [this, check = std::move(check), status, done = std::move(done)](Status written) {
    if (!written.is_ok()) return done(written);
    check_runner_->remove(check.id);
    checks_[check.id] = LocalCheck{check, status, ""};
    done(check_runner_->add(check));
  });
}

void AgentCore::deregister_check(const std::string& check_id, StatusDone done) {
  if (!checks_.contains(check_id)) return done(Status::not_found("Unknown check ID \"" + check_id + "\""));
  write_then(catalog::DeregisterNode{options_.identity.name, "", check_id},
             [this, check_id, done = std::move(done)](Status status) {
               if (!status.is_ok()) return done(status);
               check_runner_->remove(check_id);
               checks_.erase(check_id);
               done(Status::ok());
             });
}

void AgentCore::update_ttl_check(const std::string& check_id, const std::string& status, const std::string& output,
                                 StatusDone done) {
  auto found = checks_.find(check_id);
  if (found == checks_.end()) return done(Status::not_found("Unknown check ID \"" + check_id + "\""));
  if (!found->second.definition.ttl) {
    return done(Status::invalid_argument("check \"" + check_id + "\" is not a TTL check"));
  }
  Status updated = check_runner_->update_ttl(check_id, status, output);
  if (!updated.is_ok()) return done(updated);
  // The runner's own notification that follows finds nothing left to change.
  const bool status_changed = found->second.status != status;
  found->second.status = status;
  found->second.output = output;
  // Consul's check_update_interval: new output under the same status is
  // written at most once per interval; the periodic sync carries it later.
  const auto now = clock_.now();
  if (!status_changed && options_.check_update_interval.count() > 0) {
    auto last = check_output_written_.find(check_id);
    if (last != check_output_written_.end() && now - last->second < options_.check_update_interval) {
      return done(Status::ok());
    }
  }
  // Otherwise the caller's next read must see it: answer once the catalog has it.
  check_output_written_[check_id] = now;
  write_then(catalog::UpdateCheck{options_.identity.name, check_id, status, output}, std::move(done));
}

// The check's state is the agent's own (it ran the check): it is kept at
// once, and the catalog follows; a lost write is repaired by anti-entropy.
void AgentCore::on_check_changed(const std::string& check_id, const std::string& status,
                                 const std::string& output) {
  auto found = checks_.find(check_id);
  if (found == checks_.end()) return;
  const bool status_changed = found->second.status != status;
  if (!status_changed && found->second.output == output) return;
  if (status_changed) spdlog::info("check {} is now {}", check_id, status);
  found->second.status = status;
  found->second.output = output;
  // Consul's check_update_interval: output alone is written at most once per
  // interval; the periodic sync carries the latest output after that.
  const auto now = clock_.now();
  if (!status_changed && options_.check_update_interval.count() > 0) {
    auto last = check_output_written_.find(check_id);
    if (last != check_output_written_.end() && now - last->second < options_.check_update_interval) return;
  }
  check_output_written_[check_id] = now;
  write_then(catalog::UpdateCheck{options_.identity.name, check_id, status, output}, [check_id](Status written) {
    if (!written.is_ok()) spdlog::warn("recording check {}: {}", check_id, written.to_string());
  });
}

void AgentCore::set_node_maintenance(bool enable, const std::string& reason, StatusDone done) {
  set_maintenance_check(kNodeMaintenance, "", enable,
                        reason.empty() ? "Maintenance mode is enabled for this node, but no reason was "
                                         "provided. This is a default message."
                                       : reason,
                        std::move(done));
}

void AgentCore::set_service_maintenance(const std::string& service_id, bool enable, const std::string& reason,
                                        StatusDone done) {
  if (!services_.contains(service_id)) return done(Status::not_found("Unknown service ID \"" + service_id + "\""));
  set_maintenance_check(kServiceMaintenancePrefix + service_id, service_id, enable,
                        reason.empty() ? "Maintenance mode is enabled for this service, but no reason was "
                                         "provided. This is a default message."
                                       : reason,
                        std::move(done));
}

// Maintenance is a critical check the agent owns and never runs, as in Consul.
void AgentCore::set_maintenance_check(const std::string& check_id, const std::string& service_id, bool enable,
                                      const std::string& notes, StatusDone done) {
  if (!enable) {
    if (!checks_.contains(check_id)) return done(Status::ok());
    return write_then(catalog::DeregisterNode{options_.identity.name, "", check_id},
                      [this, check_id, done = std::move(done)](Status status) {
                        if (status.is_ok()) checks_.erase(check_id);
                        done(status);
                      });
  }
  local::CheckDefinition check;
  check.id = check_id;
  check.name = service_id.empty() ? "Node Maintenance Mode" : "Service Maintenance Mode";
  check.service_id = service_id;
  check.notes = notes;
  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  auto catalog_check = to_catalog_check(options_.identity.name, check, catalog::kCritical, "");
  catalog_check.type = "maintenance";
  registration.checks.push_back(catalog_check);
  write_then(std::move(registration), [this, check, done = std::move(done)](Status status) {
    if (status.is_ok()) checks_[check.id] = LocalCheck{check, catalog::kCritical, ""};
    done(status);
  });
}

void AgentCore::set_runtime_tags(const catalog::TagMap& set, const std::vector<std::string>& remove,
                                 StatusDone done) {
  catalog::TagMap next = options_.runtime_tags;
  for (const auto& [key, value] : set) next[key] = value;
  for (const auto& key : remove) next.erase(key);
  catalog::UpdateTags update;
  update.node = options_.identity.name;
  update.layer = catalog::TagLayer::runtime_layer;
  update.set = set;
  update.remove = remove;
  write_then(std::move(update), [this, next = std::move(next), done = std::move(done)](Status status) mutable {
    if (!status.is_ok()) return done(status);
    // Kept on disk once the catalog has it, so a restart does not bring back
    // a layer the fleet never saw.
    if (!options_.data_dir.empty()) {
      nlohmann::json document = next;
      Status written = write_file_atomically(std::filesystem::path(options_.data_dir) / "runtime-tags.json",
                                             document.dump(2));
      if (!written.is_ok()) return done(written);
    }
    options_.runtime_tags = std::move(next);
    // A client agent holds no replica to watch: it passes its layers on here.
    if (membership_ != nullptr) pass_tags_to_membership(false);
    done(Status::ok());
  });
}

void AgentCore::reload(const catalog::TagMap& image_tags, const std::vector<local::ServiceDefinition>& services,
                       const std::vector<local::CheckDefinition>& checks, StatusDone done) {
  options_.image_tags = image_tags;
  if (membership_ != nullptr && catalog_->replica() == nullptr) pass_tags_to_membership(false);
  // Config-defined services and checks are replaced wholesale: drop the old
  // ones from the local state, then let one sync bring the catalog along.
  for (const auto& id : config_check_ids_) {
    check_runner_->remove(id);
    checks_.erase(id);
  }
  for (const auto& id : config_service_ids_) {
    services_.erase(id);
    for (auto it = checks_.begin(); it != checks_.end();) {
      if (it->second.definition.service_id == id) {
        check_runner_->remove(it->first);
        it = checks_.erase(it);
      } else {
        ++it;
      }
    }
  }
  config_check_ids_.clear();
  config_service_ids_.clear();
  auto first_error = std::make_shared<Status>();
  auto pending = std::make_shared<size_t>(services.size() + checks.size() + 1);
  auto finish = [this, first_error, pending, done = std::move(done)](Status status) {
    if (!status.is_ok() && first_error->is_ok()) *first_error = status;
    if (--*pending > 0) return;
    sync_to_catalog([first_error, done](Status synced) { done(first_error->is_ok() ? synced : *first_error); });
  };
  for (const auto& service : services) {
    const std::string id = service.id.empty() ? service.name : service.id;
    register_service(service, [this, id, finish](Status status) {
      if (status.is_ok()) config_service_ids_.push_back(id);
      finish(status);
    });
  }
  for (const auto& check : checks) {
    const std::string id = check.id.empty() ? check.name : check.id;
    register_check(check, [this, id, finish](Status status) {
      if (status.is_ok()) config_check_ids_.push_back(id);
      finish(status);
    });
  }
  finish(Status::ok());
}

void AgentCore::create_session(catalog::Session session, std::function<void(Result<std::string>)> done) {
  auto ttl = std::chrono::nanoseconds(session.ttl_ns);
  if (session.ttl_ns != 0 && (ttl < options_.session_ttl_min || ttl > kSessionTtlMax)) {
    return done(Status::invalid_argument("Invalid Session TTL '" + format_go_duration(ttl) + "', must be between [" +
                                         format_go_duration(options_.session_ttl_min) + "=" +
                                         format_go_duration(kSessionTtlMax) + "]"));
  }
  if (session.behavior.empty()) session.behavior = "release";
  if (session.behavior != "release" && session.behavior != "delete") {
    return done(Status::invalid_argument("Invalid Behavior setting '" + session.behavior + "'"));
  }
  if (session.node.empty()) session.node = options_.identity.name;
  session.id = generate_uuid_v4();
  std::string id = session.id;
  write_then(catalog::CreateSession{std::move(session)}, [id, done = std::move(done)](Status status) {
    if (!status.is_ok()) return done(status);
    done(id);
  });
}

}  // namespace roster::agent
