#include "agent/config/agent_config.h"

#include <algorithm>
#include <filesystem>

#include "agent/config/config_file.h"
#include "agent/config/validation.h"

namespace roster::config {
namespace {

namespace fs = std::filesystem;

struct Source {
  std::string path;
  bool is_dir = false;
};

// The *.yaml / *.yml files directly inside `dir`, sorted by file name. Dot
// files (editor swap and backup files) are skipped.
std::vector<std::string> list_config_dir(const std::string& dir, std::vector<ConfigError>& errors) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (ec || !fs::exists(status)) {
    errors.push_back({dir, 0, "config dir does not exist or cannot be read" + (ec ? ": " + ec.message() : std::string())});
    return {};
  }
  if (!fs::is_directory(status)) {
    errors.push_back({dir, 0, "is not a directory; pass files with -config-file"});
    return {};
  }
  std::vector<fs::path> found;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    const std::string extension = path.extension().string();
    if (name.empty() || name.front() == '.') continue;
    if (extension != ".yaml" && extension != ".yml") continue;
    std::error_code type_ec;
    if (!fs::is_regular_file(path, type_ec)) continue;
    found.push_back(path);
  }
  if (ec) {
    errors.push_back({dir, 0, "cannot list config dir: " + ec.message()});
    return {};
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  std::vector<std::string> out;
  for (const fs::path& path : found) out.push_back(path.string());
  return out;
}

class Merger {
 public:
  void apply(const std::string& file, const ConfigFragment& fragment) {
    config_.config_files.push_back(file);
    if (fragment.node_name) config_.node_name = *fragment.node_name;
    if (fragment.datacenter) config_.datacenter = *fragment.datacenter;
    if (fragment.data_dir) config_.data_dir = *fragment.data_dir;
    if (fragment.bind_addr) config_.bind_addr = *fragment.bind_addr;
    if (fragment.advertise_addr) config_.advertise_addr = *fragment.advertise_addr;
    if (fragment.client_addr) config_.client_addr = *fragment.client_addr;
    if (fragment.http_port) config_.http_port = *fragment.http_port;
    if (fragment.serf_lan_port) config_.serf_lan_port = *fragment.serf_lan_port;
    if (fragment.server_port) config_.server_port = *fragment.server_port;
    if (fragment.bootstrap_expect) {
      config_.bootstrap_expect = *fragment.bootstrap_expect;
      locations_["bootstrap_expect"] = fragment.bootstrap_expect_location;
    }
    if (fragment.bootstrap) {
      config_.bootstrap = *fragment.bootstrap;
      locations_["bootstrap"] = fragment.bootstrap_location;
    }
    if (fragment.rpc_hold_timeout) config_.rpc_hold_timeout = *fragment.rpc_hold_timeout;
    if (fragment.raft_multiplier) config_.raft_multiplier = *fragment.raft_multiplier;
    if (fragment.check_update_interval) config_.check_update_interval = *fragment.check_update_interval;
    if (fragment.autopilot_cleanup_dead_servers) {
      config_.autopilot.cleanup_dead_servers = *fragment.autopilot_cleanup_dead_servers;
    }
    if (fragment.autopilot_dead_server_cleanup_after) {
      config_.autopilot.dead_server_cleanup_after = *fragment.autopilot_dead_server_cleanup_after;
    }
    if (fragment.autopilot_server_stabilization_time) {
      config_.autopilot.server_stabilization_time = *fragment.autopilot_server_stabilization_time;
    }
    if (fragment.autopilot_min_quorum) config_.autopilot.min_quorum = *fragment.autopilot_min_quorum;
    config_.start_join.insert(config_.start_join.end(), fragment.start_join.begin(), fragment.start_join.end());
    config_.retry_join.insert(config_.retry_join.end(), fragment.retry_join.begin(), fragment.retry_join.end());
    if (fragment.retry_interval) config_.retry_interval = *fragment.retry_interval;
    if (fragment.retry_max) config_.retry_max = *fragment.retry_max;
    if (fragment.tombstone_ttl) config_.tombstone_ttl = *fragment.tombstone_ttl;
    if (fragment.encrypt) config_.encrypt = *fragment.encrypt;
    if (fragment.leave_on_terminate) config_.leave_on_terminate = *fragment.leave_on_terminate;
    if (fragment.skip_leave_on_interrupt) config_.skip_leave_on_interrupt = *fragment.skip_leave_on_interrupt;
    if (fragment.gossip_profile) config_.gossip.profile = *fragment.gossip_profile;
    if (fragment.gossip.probe_interval) config_.gossip.probe_interval = fragment.gossip.probe_interval;
    if (fragment.gossip.probe_timeout) config_.gossip.probe_timeout = fragment.gossip.probe_timeout;
    if (fragment.gossip.gossip_interval) config_.gossip.gossip_interval = fragment.gossip.gossip_interval;
    if (fragment.gossip.push_pull_interval) config_.gossip.push_pull_interval = fragment.gossip.push_pull_interval;
    if (fragment.gossip.suspicion_mult) config_.gossip.suspicion_mult = fragment.gossip.suspicion_mult;
    if (fragment.gossip.retransmit_mult) config_.gossip.retransmit_mult = fragment.gossip.retransmit_mult;
    if (fragment.gossip.max_members) config_.gossip.max_members = fragment.gossip.max_members;
    if (fragment.http_max_conns_per_client) config_.limits.http_max_conns_per_client = *fragment.http_max_conns_per_client;
    if (fragment.http_max_unsent_response_bytes) {
      config_.limits.http_max_unsent_response_bytes = *fragment.http_max_unsent_response_bytes;
    }
    if (fragment.log_level) config_.log_level = *fragment.log_level;
    if (fragment.enable_script_checks) config_.enable_script_checks = *fragment.enable_script_checks;
    if (fragment.server) config_.server = *fragment.server;
    if (fragment.exec_enabled) config_.exec.enabled = *fragment.exec_enabled;
    if (fragment.exec_root) config_.exec.root = *fragment.exec_root;
    if (fragment.exec_trusted_keys) config_.exec.trusted_keys = *fragment.exec_trusted_keys;
    if (fragment.exec_system) config_.exec.system = *fragment.exec_system;
    for (const auto& [key, value] : fragment.tags) config_.tags[key] = value;
    for (size_t i = 0; i < fragment.services.size(); ++i) {
      upsert(config_.services, service_locations_, fragment.services[i], fragment.service_locations[i]);
    }
    for (size_t i = 0; i < fragment.checks.size(); ++i) {
      upsert(config_.checks, check_locations_, fragment.checks[i], fragment.check_locations[i]);
    }
  }

  // Checks that only make sense once every source is in.
  void validate_across_sources(std::vector<ConfigError>& errors) const {
    for (size_t i = 0; i < config_.checks.size(); ++i) {
      const local::CheckDefinition& check = config_.checks[i];
      if (check.service_id.empty()) continue;
      bool known = std::any_of(config_.services.begin(), config_.services.end(),
                               [&](const local::ServiceDefinition& s) { return s.id == check.service_id; });
      if (!known) {
        errors.push_back({check_locations_[i].file, check_locations_[i].line,
                          "check \"" + check.id + "\" names service_id \"" + check.service_id +
                              "\", which no config file defines"});
      }
    }
  }

  AgentConfig take() { return std::move(config_); }
  std::map<std::string, SourceLocation> take_locations() { return std::move(locations_); }

 private:
  template <typename Definition>
  static void upsert(std::vector<Definition>& into, std::vector<SourceLocation>& locations, const Definition& item,
                     const SourceLocation& location) {
    for (size_t i = 0; i < into.size(); ++i) {
      if (into[i].id == item.id) {
        into[i] = item;
        locations[i] = location;
        return;
      }
    }
    into.push_back(item);
    locations.push_back(location);
  }

  AgentConfig config_;
  std::vector<SourceLocation> service_locations_;
  std::vector<SourceLocation> check_locations_;
  std::map<std::string, SourceLocation> locations_;  // see LoadResult::locations
};

LoadResult load_sources(const std::vector<Source>& sources) {
  LoadResult result;
  Merger merger;
  auto load_file = [&](const std::string& file) {
    Result<std::string> text = read_config_file(file);
    if (!text.is_ok()) {
      result.errors.push_back({file, 0, text.status().message()});
      return;
    }
    merger.apply(file, parse_config_text(*text, file, result.errors));
  };
  for (const Source& source : sources) {
    if (!source.is_dir) {
      load_file(source.path);
      continue;
    }
    for (const std::string& file : list_config_dir(source.path, result.errors)) load_file(file);
  }
  merger.validate_across_sources(result.errors);
  result.config = merger.take();
  result.locations = merger.take_locations();
  return result;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string out = file;
  if (!file.empty() && line > 0) out += ":" + std::to_string(line);
  if (!out.empty()) out += ": ";
  return out + message;
}

LoadResult load_config_sources(const std::vector<std::string>& files, const std::vector<std::string>& dirs) {
  std::vector<Source> sources;
  for (const std::string& file : files) sources.push_back({file, false});
  for (const std::string& dir : dirs) sources.push_back({dir, true});
  return load_sources(sources);
}

std::vector<ConfigError> validate_paths(const std::vector<std::string>& paths) {
  std::vector<Source> sources;
  for (const std::string& path : paths) {
    std::error_code ec;
    sources.push_back({path, fs::is_directory(path, ec)});
  }
  if (sources.empty()) return {{"", 0, "nothing to validate: name at least one config file or dir"}};
  LoadResult result = load_sources(sources);
  // -server and -dev may come from flags, so only what the files alone
  // contradict is checked here (as data_dir is not required here).
  std::vector<ConfigError> bootstrap = validate_bootstrap(result.config, result.locations, /*mode_known=*/false);
  result.errors.insert(result.errors.end(), bootstrap.begin(), bootstrap.end());
  return result.errors;
}

}  // namespace roster::config
