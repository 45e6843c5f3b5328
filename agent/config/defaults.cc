#include "agent/config/defaults.h"

#include "agent/config/validation.h"

namespace roster::config {

std::vector<ConfigError> apply_defaults(AgentConfig& config, const HostInfo& host) {
  std::vector<ConfigError> errors;
  if (config.node_name.empty()) {
    if (host.hostname.empty()) {
      errors.push_back({"", 0, "cannot read this machine's hostname; set node_name in a config file or pass -node"});
    } else if (Status status = validate_node_name(host.hostname); !status.is_ok()) {
      errors.push_back({"", 0, "the hostname cannot be a node name (" + status.message() + "); set node_name or pass -node"});
    } else {
      config.node_name = host.hostname;
    }
  }

  // As Consul's -dev: a dev agent keeps its gossip on loopback unless told otherwise.
  if (config.bind_addr.empty()) config.bind_addr = config.dev ? "127.0.0.1" : "0.0.0.0";

  if (config.advertise_addr.empty()) {
    const bool bind_any = config.bind_addr == "0.0.0.0" || config.bind_addr == "::";
    if (!bind_any) {
      config.advertise_addr = config.bind_addr;
    } else if (config.dev) {
      config.advertise_addr = "127.0.0.1";
    } else if (host.private_ipv4.size() == 1) {
      config.advertise_addr = host.private_ipv4.front();
    } else if (host.private_ipv4.empty()) {
      errors.push_back({"", 0, "no private IPv4 address found to advertise; set advertise_addr or pass -advertise"});
    } else {
      std::string list;
      for (const std::string& address : host.private_ipv4) list += (list.empty() ? "" : ", ") + address;
      errors.push_back({"", 0, "several private IPv4 addresses found (" + list +
                                   "); choose one with advertise_addr or -advertise (or bind_addr / -bind)"});
    }
  }

  if (config.data_dir.empty() && !config.dev) {
    if (config.server) {
      errors.push_back({"", 0, "data_dir is required: a server needs -data-dir: its Raft log lives there; set "
                               "data_dir in a config file or pass -data-dir (or run with -dev)"});
    } else {
      errors.push_back({"", 0, "data_dir is required: set data_dir in a config file or pass -data-dir (or run with -dev)"});
    }
  }
  return errors;
}

}  // namespace roster::config
