#include "agent/core/agent_core.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/checks/check_runner.h"
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
// Consul invalidates a session only after twice its TTL, to ride out clock skew.
constexpr int kSessionTtlMultiplier = 2;

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

struct AgentCore::Timers {
  explicit Timers(boost::asio::io_context& io) : anti_entropy(io) {}
  boost::asio::steady_timer anti_entropy;
  // One per session with a TTL. A renewal re-arms it, which also drops an
  // expiry that asio had already queued: a renewed session is never destroyed
  // by the deadline it replaced.
  std::map<std::string, std::unique_ptr<OneShotTimer>> sessions;
};

AgentCore::AgentCore(boost::asio::io_context& io, const Clock& clock, CoreOptions options)
    : io_(io), clock_(clock), options_(std::move(options)), started_at_(clock.now()),
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
        Status status = deregister_service(service_id);
        if (!status.is_ok()) spdlog::warn("deregistering service {}: {}", service_id, status.to_string());
      });
}

AgentCore::~AgentCore() { stop(); }

Status AgentCore::start() {
  Status status = sync_to_catalog();
  if (!status.is_ok()) return status;
  spdlog::info("node {} ({}) registered in datacenter {}", options_.identity.name, options_.identity.id,
               options_.identity.datacenter);
  schedule_anti_entropy();
  return Status::ok();
}

void AgentCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (check_runner_) check_runner_->stop();
  timers_->anti_entropy.cancel();
  for (auto& [id, timer] : timers_->sessions) timer->cancel();
}

Result<catalog::Index> AgentCore::submit(catalog::CommandBody body) { return apply_next(std::move(body), nullptr); }

catalog::TxnOutcome AgentCore::submit_transaction(catalog::Transaction transaction) {
  catalog::TxnOutcome outcome;
  auto applied = apply_next(std::move(transaction), &outcome);
  // A store that refused the command before trying its operations (none
  // today) still owes the caller an error it can name.
  if (!applied.is_ok() && outcome.ok()) outcome.errors.push_back({0, applied.status().message()});
  return outcome;
}

Result<catalog::Index> AgentCore::apply_next(catalog::CommandBody body, catalog::TxnOutcome* txn_outcome) {
  catalog::Command command{clock_.unix_nanos(), std::move(body)};
  catalog::Index index = store_.last_index() + 1;
  Status status = store_.apply(index, command, txn_outcome);
  std::vector<std::string> changed = store_.take_changed_watch_keys();
  if (!changed.empty()) watch_hub_.notify(changed);
  if (membership_ != nullptr &&
      std::find(changed.begin(), changed.end(), catalog::watch_key::node(options_.identity.name)) != changed.end()) {
    pass_tags_to_membership(false);
  }
  if (!status.is_ok()) return status;
  return index;
}

catalog::TagMap AgentCore::merged_tags() const {
  const catalog::Node* node = store_.find_node(options_.identity.name);
  return node != nullptr ? node->tags.merged() : catalog::TagMap{};
}

void AgentCore::set_membership(Membership* membership) {
  if (membership_ != nullptr) membership_->set_user_event_handler(nullptr);
  membership_ = membership;
  if (membership_ == nullptr) return;
  pass_tags_to_membership(true);
  membership_->set_user_event_handler([this](const UserEventInfo& event) { deliver_user_event(event); });
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
  watch_hub_.notify({kUserEventWatchKey});
}

// Whatever layer wrote them, the pool gets the merged view, so an operator
// tag set through this agent's API spreads like a runtime or image tag.
void AgentCore::pass_tags_to_membership(bool force) {
  catalog::TagMap merged = merged_tags();
  if (!force && merged == gossiped_tags_) return;
  gossiped_tags_ = merged;
  membership_->set_local_tags(gossiped_tags_);
}

Status AgentCore::sync_to_catalog() {
  const std::string& node_name = options_.identity.name;
  catalog::RegisterNode node_registration;
  node_registration.node.id = options_.identity.id;
  node_registration.node.name = node_name;
  node_registration.node.address = options_.identity.address;
  node_registration.node.datacenter = options_.identity.datacenter;
  node_registration.node.tagged_addresses = {{"lan", options_.identity.address},
                                             {"wan", options_.identity.address}};
  node_registration.runtime_tags = options_.runtime_tags;
  node_registration.image_tags = options_.image_tags;
  catalog::Check serf_health;
  serf_health.node = node_name;
  serf_health.check_id = kSerfHealth;
  serf_health.name = "Serf Health Status";
  serf_health.status = catalog::kPassing;
  serf_health.output = "Agent alive and reachable";
  node_registration.checks.push_back(serf_health);
  for (const auto& [id, check] : checks_) {
    if (check.definition.service_id.empty()) {
      node_registration.checks.push_back(to_catalog_check(node_name, check.definition, check.status, check.output));
    }
  }
  auto registered = submit(node_registration);
  if (!registered.is_ok()) return registered.status();

  for (const auto& [id, service] : services_) {
    catalog::RegisterNode service_registration;
    service_registration.node.name = node_name;
    service_registration.skip_node_update = true;
    service_registration.service = to_catalog_service(node_name, service.definition);
    for (const auto& [check_id, check] : checks_) {
      if (check.definition.service_id == id) {
        service_registration.checks.push_back(
            to_catalog_check(node_name, check.definition, check.status, check.output));
      }
    }
    auto result = submit(service_registration);
    if (!result.is_ok()) return result.status();
  }

  if (options_.identity.server) {
    catalog::RegisterNode server_registration;
    server_registration.node.name = node_name;
    server_registration.skip_node_update = true;
    catalog::Service server_service;
    server_service.node = node_name;
    server_service.id = kServerServiceId;
    server_service.name = kServerServiceId;
    server_service.port = kServerRpcPort;
    server_registration.service = server_service;
    auto result = submit(server_registration);
    if (!result.is_ok()) return result.status();
  }

  // Anti-entropy also removes what the catalog has for this node but the agent
  // does not: the agent is the source of truth for its own services.
  auto catalog_services = store_.node_services(node_name).value;
  for (const auto& service : catalog_services) {
    const bool server_service = options_.identity.server && service.id == kServerServiceId;
    if (!services_.contains(service.id) && !server_service) {
      auto result = submit(catalog::DeregisterNode{node_name, service.id, ""});
      if (!result.is_ok()) return result.status();
    }
  }
  auto catalog_checks = store_.node_checks(node_name).value;
  for (const auto& check : catalog_checks) {
    if (check.check_id != kSerfHealth && !checks_.contains(check.check_id) && check.service_id.empty()) {
      auto result = submit(catalog::DeregisterNode{node_name, "", check.check_id});
      if (!result.is_ok()) return result.status();
    }
  }
  return Status::ok();
}

void AgentCore::schedule_anti_entropy() {
  if (stopped_) return;
  timers_->anti_entropy.expires_after(options_.anti_entropy_interval);
  timers_->anti_entropy.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    Status status = sync_to_catalog();
    if (!status.is_ok()) spdlog::warn("anti-entropy sync failed: {}", status.to_string());
    schedule_anti_entropy();
  });
}

Status AgentCore::register_service(local::ServiceDefinition service) {
  if (service.name.empty()) return Status::invalid_argument("Missing service name");
  if (service.id.empty()) service.id = service.name;
  if (service.port < 0 || service.port > 65535) return Status::invalid_argument("Invalid service port");
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
    if (check.type().empty()) return Status::invalid_argument("check " + check.id + " has no TTL, HTTP, TCP or Args");
    if (!options_.enable_script_checks && check.type() == "script") {
      return Status::permission_denied("Scripts are disabled on this agent; set enable_script_checks to allow them");
    }
  }

  // Replacing a service replaces its checks.
  std::vector<std::string> stale_checks;
  for (const auto& [id, check] : checks_) {
    if (check.definition.service_id == service.id && !id.starts_with(kServiceMaintenancePrefix)) {
      stale_checks.push_back(id);
    }
  }
  for (const auto& id : stale_checks) {
    check_runner_->remove(id);
    checks_.erase(id);
  }

  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  registration.service = to_catalog_service(options_.identity.name, service);
  services_[service.id] = LocalService{service};
  for (auto& check : service_checks) {
    std::string status = check.status.empty() ? catalog::kCritical : check.status;
    checks_[check.id] = LocalCheck{check, status, ""};
    registration.checks.push_back(to_catalog_check(options_.identity.name, check, status, ""));
  }
  auto result = submit(registration);
  if (!result.is_ok()) return result.status();
  for (const auto& id : stale_checks) {
    if (!checks_.contains(id)) (void)submit(catalog::DeregisterNode{options_.identity.name, "", id});
  }
  for (auto& check : service_checks) {
    Status added = check_runner_->add(check);
    if (!added.is_ok()) return added;
  }
  spdlog::info("service {} registered", service.id);
  return Status::ok();
}

Status AgentCore::deregister_service(const std::string& service_id) {
  if (!services_.contains(service_id)) return Status::not_found("Unknown service ID \"" + service_id + "\"");
  services_.erase(service_id);
  for (auto it = checks_.begin(); it != checks_.end();) {
    if (it->second.definition.service_id == service_id) {
      check_runner_->remove(it->first);
      it = checks_.erase(it);
    } else {
      ++it;
    }
  }
  auto result = submit(catalog::DeregisterNode{options_.identity.name, service_id, ""});
  if (!result.is_ok()) return result.status();
  spdlog::info("service {} deregistered", service_id);
  return Status::ok();
}

Status AgentCore::register_check(local::CheckDefinition check) {
  if (check.name.empty()) return Status::invalid_argument("Missing check name");
  if (check.id.empty()) check.id = check.name;
  if (check.id == kSerfHealth) return Status::invalid_argument("check ID serfHealth is reserved");
  if (!check.service_id.empty() && !services_.contains(check.service_id)) {
    return Status::invalid_argument("ServiceID \"" + check.service_id + "\" does not exist");
  }
  if (check.type().empty()) return Status::invalid_argument("Must provide TTL or HTTP, TCP or Args");
  if (!options_.enable_script_checks && check.type() == "script") {
    return Status::permission_denied("Scripts are disabled on this agent; set enable_script_checks to allow them");
  }
  std::string status = check.status.empty() ? catalog::kCritical : check.status;
  if (!catalog::is_valid_check_status(status)) return Status::invalid_argument("Invalid check status \"" + status + "\"");
  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  registration.checks.push_back(to_catalog_check(options_.identity.name, check, status, ""));
  auto result = submit(registration);
  if (!result.is_ok()) return result.status();
  checks_[check.id] = LocalCheck{check, status, ""};
  return check_runner_->add(check);
}

Status AgentCore::deregister_check(const std::string& check_id) {
  if (!checks_.contains(check_id)) return Status::not_found("Unknown check ID \"" + check_id + "\"");
  check_runner_->remove(check_id);
  checks_.erase(check_id);
  auto result = submit(catalog::DeregisterNode{options_.identity.name, "", check_id});
  return result.is_ok() ? Status::ok() : result.status();
}

Status AgentCore::update_ttl_check(const std::string& check_id, const std::string& status,
                                   const std::string& output) {
  auto found = checks_.find(check_id);
  if (found == checks_.end()) return Status::not_found("Unknown check ID \"" + check_id + "\"");
  if (!found->second.definition.ttl) {
    return Status::invalid_argument("check \"" + check_id + "\" is not a TTL check");
  }
  Status updated = check_runner_->update_ttl(check_id, status, output);
  if (!updated.is_ok()) return updated;
  // Record it now, so the caller's next read sees it; the runner's own
  // notification that follows finds nothing left to change.
  on_check_changed(check_id, status, output);
  return Status::ok();
}

void AgentCore::on_check_changed(const std::string& check_id, const std::string& status,
                                 const std::string& output) {
  auto found = checks_.find(check_id);
  if (found == checks_.end()) return;
  if (found->second.status != status) {
    spdlog::info("check {} is now {}", check_id, status);
  }
  found->second.status = status;
  found->second.output = output;
  auto result = submit(catalog::UpdateCheck{options_.identity.name, check_id, status, output});
  if (!result.is_ok()) spdlog::warn("recording check {}: {}", check_id, result.status().to_string());
}

Status AgentCore::set_node_maintenance(bool enable, const std::string& reason) {
  return set_maintenance_check(kNodeMaintenance, "", enable,
                               reason.empty() ? "Maintenance mode is enabled for this node, but no reason was "
                                                "provided. This is a default message."
                                              : reason);
}

Status AgentCore::set_service_maintenance(const std::string& service_id, bool enable, const std::string& reason) {
  if (!services_.contains(service_id)) return Status::not_found("Unknown service ID \"" + service_id + "\"");
  return set_maintenance_check(kServiceMaintenancePrefix + service_id, service_id, enable,
                               reason.empty() ? "Maintenance mode is enabled for this service, but no reason was "
                                                "provided. This is a default message."
                                              : reason);
}

// Maintenance is a critical check the agent owns and never runs, as in Consul.
Status AgentCore::set_maintenance_check(const std::string& check_id, const std::string& service_id, bool enable,
                                        const std::string& notes) {
  if (!enable) {
    if (!checks_.contains(check_id)) return Status::ok();
    checks_.erase(check_id);
    auto result = submit(catalog::DeregisterNode{options_.identity.name, "", check_id});
    return result.is_ok() ? Status::ok() : result.status();
  }
  local::CheckDefinition check;
  check.id = check_id;
  check.name = service_id.empty() ? "Node Maintenance Mode" : "Service Maintenance Mode";
  check.service_id = service_id;
  check.notes = notes;
  checks_[check_id] = LocalCheck{check, catalog::kCritical, ""};
  catalog::RegisterNode registration;
  registration.node.name = options_.identity.name;
  registration.skip_node_update = true;
  auto catalog_check = to_catalog_check(options_.identity.name, check, catalog::kCritical, "");
  catalog_check.type = "maintenance";
  registration.checks.push_back(catalog_check);
  auto result = submit(registration);
  return result.is_ok() ? Status::ok() : result.status();
}

Status AgentCore::set_runtime_tags(const catalog::TagMap& set, const std::vector<std::string>& remove) {
  catalog::TagMap next = options_.runtime_tags;
  for (const auto& [key, value] : set) next[key] = value;
  for (const auto& key : remove) next.erase(key);
  if (!options_.data_dir.empty()) {
    nlohmann::json document = next;
    Status written = write_file_atomically(std::filesystem::path(options_.data_dir) / "runtime-tags.json",
                                           document.dump(2));
    if (!written.is_ok()) return written;
  }
  catalog::UpdateTags update;
  update.node = options_.identity.name;
  update.layer = catalog::TagLayer::runtime_layer;
  update.set = set;
  update.remove = remove;
  auto result = submit(update);
  if (!result.is_ok()) return result.status();
  options_.runtime_tags = std::move(next);
  return Status::ok();
}

Status AgentCore::reload(const catalog::TagMap& image_tags, const std::vector<local::ServiceDefinition>& services,
                         const std::vector<local::CheckDefinition>& checks) {
  options_.image_tags = image_tags;
  for (const auto& id : config_check_ids_) {
    if (checks_.contains(id)) (void)deregister_check(id);
  }
  for (const auto& id : config_service_ids_) {
    if (services_.contains(id)) (void)deregister_service(id);
  }
  config_check_ids_.clear();
  config_service_ids_.clear();
  Status first_error;
  for (const auto& service : services) {
    Status status = register_service(service);
    if (status.is_ok()) {
      config_service_ids_.push_back(service.id.empty() ? service.name : service.id);
    } else if (first_error.is_ok()) {
      first_error = status;
    }
  }
  for (const auto& check : checks) {
    Status status = register_check(check);
    if (status.is_ok()) {
      config_check_ids_.push_back(check.id.empty() ? check.name : check.id);
    } else if (first_error.is_ok()) {
      first_error = status;
    }
  }
  Status synced = sync_to_catalog();
  return first_error.is_ok() ? synced : first_error;
}

Result<std::string> AgentCore::create_session(catalog::Session session) {
  auto ttl = std::chrono::nanoseconds(session.ttl_ns);
  if (session.ttl_ns != 0 && (ttl < options_.session_ttl_min || ttl > kSessionTtlMax)) {
    return Status::invalid_argument("Invalid Session TTL '" + format_go_duration(ttl) + "', must be between [" +
                                    format_go_duration(options_.session_ttl_min) + "=" +
                                    format_go_duration(kSessionTtlMax) + "]");
  }
  if (session.behavior.empty()) session.behavior = "release";
  if (session.behavior != "release" && session.behavior != "delete") {
    return Status::invalid_argument("Invalid Behavior setting '" + session.behavior + "'");
  }
  if (session.node.empty()) session.node = options_.identity.name;
  session.id = generate_uuid_v4();
  std::string id = session.id;
  auto result = submit(catalog::CreateSession{std::move(session)});
  if (!result.is_ok()) return result.status();
  if (ttl.count() > 0) arm_session_timer(id, ttl);
  return id;
}

Status AgentCore::destroy_session(const std::string& id) {
  if (auto timer = timers_->sessions.find(id); timer != timers_->sessions.end()) {
    timer->second->cancel();
    timers_->sessions.erase(timer);
  }
  if (!store_.session(id).value) return Status::ok();
  auto result = submit(catalog::DestroySession{id});
  return result.is_ok() ? Status::ok() : result.status();
}

Result<catalog::Session> AgentCore::renew_session(const std::string& id) {
  auto session = store_.session(id).value;
  if (!session) return Status::not_found("Session id '" + id + "' not found");
  if (session->ttl_ns > 0) arm_session_timer(id, std::chrono::nanoseconds(session->ttl_ns));
  return *session;
}

void AgentCore::arm_session_timer(const std::string& id, std::chrono::nanoseconds ttl) {
  auto& timer = timers_->sessions[id];
  if (!timer) timer = std::make_unique<OneShotTimer>(io_);
  timer->arm_after(ttl * kSessionTtlMultiplier, [this, id] {
    if (stopped_) return;
    spdlog::info("session {} expired without renewal; invalidating it", id);
    Status status = destroy_session(id);
    if (!status.is_ok()) spdlog::warn("invalidating session {}: {}", id, status.to_string());
  });
}

}  // namespace roster::agent
