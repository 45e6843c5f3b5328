#pragma once

// One YAML config file turned into a ConfigFragment: only the fields the file
// sets, plus where each service and check was written, so that merging several
// files can still point at a line. yaml-cpp stays inside config_file.cc.

#include <optional>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/local/definitions.h"
#include "common/status.h"

namespace roster::config {

struct ConfigFragment {
  std::optional<std::string> node_name;
  std::optional<std::string> datacenter;
  std::optional<std::string> data_dir;
  std::optional<std::string> bind_addr;
  std::optional<std::string> advertise_addr;
  std::optional<std::string> client_addr;
  std::optional<int> http_port;
  std::optional<int> serf_lan_port;
  std::optional<int> server_port;
  std::optional<int> bootstrap_expect;
  std::optional<bool> bootstrap;
  SourceLocation bootstrap_expect_location;  // where bootstrap_expect was set
  SourceLocation bootstrap_location;         // where bootstrap was set
  std::optional<std::chrono::nanoseconds> rpc_hold_timeout;  // performance.rpc_hold_timeout
  std::optional<int> raft_multiplier;                        // performance.raft_multiplier
  std::optional<std::chrono::nanoseconds> check_update_interval;
  std::optional<bool> autopilot_cleanup_dead_servers;
  std::optional<std::chrono::nanoseconds> autopilot_dead_server_cleanup_after;
  std::optional<std::chrono::nanoseconds> autopilot_server_stabilization_time;
  std::optional<int> autopilot_min_quorum;
  std::vector<std::string> start_join;  // appended across files
  std::vector<std::string> retry_join;
  std::optional<std::chrono::nanoseconds> retry_interval;
  std::optional<int> retry_max;
  std::optional<std::string> encrypt;
  std::optional<bool> leave_on_terminate;
  std::optional<bool> skip_leave_on_interrupt;
  std::optional<std::string> gossip_profile;
  GossipSettings gossip;  // only the optional timing keys are used
  std::optional<int> http_max_conns_per_client;
  std::optional<uint64_t> http_max_unsent_response_bytes;
  std::optional<std::string> log_level;
  std::optional<bool> enable_script_checks;
  std::optional<bool> server;
  std::optional<bool> exec_enabled;
  std::optional<std::string> exec_root;
  std::optional<std::vector<std::string>> exec_trusted_keys;  // a later file replaces the list
  std::optional<std::string> exec_system;                     // "real" or "sandbox"
  std::optional<std::chrono::nanoseconds> tombstone_ttl;
  std::map<std::string, std::string> tags;
  std::vector<local::ServiceDefinition> services;
  std::vector<SourceLocation> service_locations;  // parallel to services
  std::vector<local::CheckDefinition> checks;
  std::vector<SourceLocation> check_locations;    // parallel to checks
};

// Parses one YAML document. Problems are appended to `errors`, each naming
// `source_name` and a 1-based line; the fragment holds whatever parsed cleanly.
// Never throws. Keys match case-insensitively with '_' and '-' ignored, so
// Consul's spellings (`ServiceID`, `TTL`, `DeregisterCriticalServiceAfter`) work.
ConfigFragment parse_config_text(const std::string& text, const std::string& source_name,
                                 std::vector<ConfigError>& errors);

// The whole of a config file, or an error saying why it cannot be read.
Result<std::string> read_config_file(const std::string& path);

}  // namespace roster::config
