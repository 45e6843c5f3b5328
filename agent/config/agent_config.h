#pragma once

// The agent's configuration as loaded from YAML files and config dirs.
// Flags are layered on top by agent/config/flags.h; host-dependent defaults
// (hostname, advertise address) are filled in by agent/config/defaults.h.
// The YAML schema is documented in docs/CONFIG.md.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/local/definitions.h"

namespace roster::config {

// Gossip timing. `profile` picks the base: "lan" (Serf's and memberlist's LAN
// defaults) or "local" (memberlist's DefaultLocalConfig, for loopback and
// tests); each key that is set overrides the profile's value.
struct GossipSettings {
  std::string profile = "lan";
  std::optional<std::chrono::nanoseconds> probe_interval;
  std::optional<std::chrono::nanoseconds> probe_timeout;
  std::optional<std::chrono::nanoseconds> gossip_interval;
  std::optional<std::chrono::nanoseconds> push_pull_interval;
  std::optional<int> suspicion_mult;
  std::optional<int> retransmit_mult;
  std::optional<int> max_members;  // the member table's cap (SwimConfig::max_members)
  bool operator==(const GossipSettings&) const = default;
};

// The `exec` block: whether this agent runs deploy bundles (docs/DEPLOY.md).
// Exec is off unless enabled; an enabled agent runs only bundles signed by one
// of `trusted_keys`.
struct ExecSettings {
  bool enabled = false;
  std::string root = "/";                 // prefixed to every path a task names
  std::vector<std::string> trusted_keys;  // base64 of raw 32-byte Ed25519 public keys
  // "real": apt and systemd; "sandbox": package and service state kept as
  // files under the root (agent/exec/sandbox_managers.h), for demos and tests.
  std::string system = "real";
  bool operator==(const ExecSettings&) const = default;
};

// Consul's `limits` block: what one agent lets its HTTP clients hold.
struct LimitsSettings {
  int http_max_conns_per_client = 200;  // 0: no limit
  uint64_t http_max_unsent_response_bytes = 64ull * 1024 * 1024;
  bool operator==(const LimitsSettings&) const = default;
};

// Consul's `autopilot` block: how servers tidy the Raft configuration.
struct AutopilotSettings {
  bool cleanup_dead_servers = true;
  // A server failed in gossip this long is removed from the Raft configuration.
  std::chrono::nanoseconds dead_server_cleanup_after{std::chrono::seconds(60)};
  // A new server must be healthy this long before it is promoted to a voter.
  std::chrono::nanoseconds server_stabilization_time{std::chrono::seconds(10)};
  // Dead-server cleanup never leaves fewer voters than this (0: no floor but
  // autopilot's own: it never removes a majority, nor one of the last 2).
  int min_quorum = 0;
  bool operator==(const AutopilotSettings&) const = default;
};

struct AgentConfig {
  bool dev = false;
  bool server = false;  // -server or `server: true`; -dev is a server whatever this says
  std::string node_name;            // default: the hostname (filled by apply_defaults)
  std::string datacenter = "dc1";
  std::string data_dir;             // required unless dev; main picks a dev data dir
  std::string bind_addr;            // default: 127.0.0.1 with -dev (as Consul), else 0.0.0.0
  std::string advertise_addr;       // default: bind_addr, or a private address when 0.0.0.0
  std::string client_addr = "127.0.0.1";  // the HTTP API listens here
  int http_port = 8500;
  int serf_lan_port = 8301;         // gossip, UDP and TCP; 0 picks a free port
  int server_port = 8300;           // server RPC and Raft (Consul's ports.server); 0 picks a free port
  int bootstrap_expect = 0;         // servers to wait for before the first election; 0: off
  bool bootstrap = false;           // elect this server alone (Consul's -bootstrap)
  // How long a server-bound RPC waits for a leader (or retries) before failing.
  std::chrono::nanoseconds rpc_hold_timeout{std::chrono::seconds(7)};
  int raft_multiplier = 1;          // 1..10: scales Raft's election and heartbeat timeouts
  // How often an unchanged check's output is written to the servers; 0 writes every change.
  std::chrono::nanoseconds check_update_interval{std::chrono::minutes(5)};
  AutopilotSettings autopilot;
  std::vector<std::string> start_join;  // -join: must succeed at start
  std::vector<std::string> retry_join;  // -retry-join: retried with backoff
  std::chrono::nanoseconds retry_interval{std::chrono::seconds(30)};  // the backoff's cap
  int retry_max = 0;                    // 0: retry forever
  std::string encrypt;                  // base64 AES-256 gossip key
  bool leave_on_terminate = false;      // SIGTERM leaves gracefully (Consul's default for clients: no)
  bool skip_leave_on_interrupt = false; // SIGINT exits without leaving (default: it leaves)
  GossipSettings gossip;
  LimitsSettings limits;
  ExecSettings exec;
  std::string log_level = "info";   // one of trace, debug, info, warn, error, critical, off
  bool enable_script_checks = false;
  // How long a deleted KV key's tombstone is kept (Consul's tombstone TTL).
  std::chrono::nanoseconds tombstone_ttl{std::chrono::minutes(15)};
  std::map<std::string, std::string> tags;  // image tags (the lowest tag layer)
  std::vector<local::ServiceDefinition> services;
  std::vector<local::CheckDefinition> checks;  // node-level and service-referencing checks
  std::vector<std::string> config_files;       // what was loaded, in order

  bool operator==(const AgentConfig&) const = default;
};

// Where a config file set something: the file and the 1-based line.
struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based
  bool operator==(const SourceLocation&) const = default;
};

struct ConfigError {
  std::string file;  // empty when the error is not tied to a file
  int line = 0;      // 1-based; 0 when not tied to a line
  std::string message;

  // "file:line: message", "file: message" without a line, "message" without a file.
  std::string to_string() const;
  bool operator==(const ConfigError&) const = default;
};

struct LoadResult {
  AgentConfig config;
  std::vector<ConfigError> errors;  // empty means the config is usable
  // Where the last file to set each of these keys set it: "bootstrap",
  // "bootstrap_expect". They are checked against -server and -dev once the
  // flags are in, and those errors still name the file and line.
  std::map<std::string, SourceLocation> locations;
  bool ok() const { return errors.empty(); }
};

// Loads each file, then every *.yaml / *.yml directly inside each dir (sorted by
// file name), in that order. Later sources override earlier ones per field;
// tags merge per key; services and checks are appended, and a later service
// (or check) with the same id replaces the earlier one in place. Every problem
// is collected with its file and line; nothing throws.
LoadResult load_config_sources(const std::vector<std::string>& files, const std::vector<std::string>& dirs);

// For `roster validate`: each path may be a file (read whatever its extension)
// or a dir (its *.yaml / *.yml). Loads them together, as the agent would, and
// returns every error with file:line. Does not require data_dir, which may
// come from a flag.
std::vector<ConfigError> validate_paths(const std::vector<std::string>& paths);

}  // namespace roster::config
