#pragma once

// The defaults that depend on the machine or on other settings, applied after
// files and flags are merged: node name, advertise address, and the data_dir
// requirement.

#include <vector>

#include "agent/config/agent_config.h"
#include "agent/config/host_info.h"

namespace roster::config {

// - node_name: the hostname when unset.
// - advertise_addr when unset: bind_addr, unless bind_addr is 0.0.0.0 (or ::);
//   then 127.0.0.1 in dev mode, else the one private IPv4 address of the host
//   (an error when there are none or several, as Consul does).
// - data_dir is required unless dev (main picks a dev data dir); for a server
//   the message says why (its Raft log lives there).
// Returns the problems found; `config` is changed only where a default applies.
std::vector<ConfigError> apply_defaults(AgentConfig& config, const HostInfo& host);

}  // namespace roster::config
