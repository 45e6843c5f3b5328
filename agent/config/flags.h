#pragma once

// Command-line flags of `roster agent`, named as Consul's so the same muscle
// memory works: -dev, -node, -datacenter, -data-dir, -bind, -advertise,
// -client, -http-port, -config-file, -config-dir, -log-level,
// -enable-script-checks, -exec-root, -tag key=value, the gossip flags -serf-lan-port,
// -join, -retry-join, -retry-interval, -retry-max, -encrypt, and the server flags -server,
// -server-port, -bootstrap-expect, -bootstrap, -rpc-hold-timeout. Each flag may be written
// with one dash or two, with its value after a space or '='.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/config/host_info.h"
#include "common/status.h"

namespace roster::config {

// The flags as given; an unset optional means "not on the command line".
struct AgentFlags {
  bool dev = false;
  std::optional<bool> server;
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
  std::optional<std::chrono::nanoseconds> rpc_hold_timeout;
  std::vector<std::string> join;        // appended to start_join
  std::vector<std::string> retry_join;  // appended to retry_join
  std::optional<std::chrono::nanoseconds> retry_interval;
  std::optional<int> retry_max;
  std::optional<std::string> encrypt;
  std::optional<std::string> log_level;
  std::optional<bool> enable_script_checks;
  std::optional<std::string> exec_root;
  std::vector<std::string> config_files;  // in the order given
  std::vector<std::string> config_dirs;   // in the order given
  std::map<std::string, std::string> tags;  // image tags; override the files' tags per key

  bool operator==(const AgentFlags&) const = default;
};

struct ParsedFlags {
  AgentFlags flags;
  // Set when -help / -h was given: print it to stdout and exit 0; `flags` is unset.
  std::optional<std::string> help_text;
};

// Parses `roster agent`'s flags. argv[0] is skipped (the program or
// subcommand name). Bad flags or values give an invalid_argument Status whose
// message is fit to print as is. Never throws.
Result<ParsedFlags> parse_agent_flags(int argc, const char* const* argv);

// The usage text printed by -help.
std::string agent_help();

// Overwrites the fields of `config` that the flags set; tags merge per key.
void apply_flags(AgentConfig& config, const AgentFlags& flags);

// What `roster agent` runs with: the flags' config files then config dirs
// (load_config_sources), the flags on top, then apply_defaults(host). A script
// check without enable_script_checks, exec settings that validate_exec
// refuses, and bootstrap settings that validate_bootstrap refuses are errors here.
// Call it again on SIGHUP to reload, so the flags still win after a reload.
LoadResult load_agent_config(const AgentFlags& flags, const HostInfo& host);

}  // namespace roster::config
