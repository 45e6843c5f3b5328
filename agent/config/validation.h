#pragma once

// Value rules shared by config files and command-line flags, so a value is
// accepted or refused the same way wherever it comes from.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/agent_config.h"
#include "common/status.h"

namespace roster::config {

inline constexpr size_t kMaxTagKeyLength = 128;
inline constexpr size_t kMaxTagValueLength = 512;

// performance.raft_multiplier, as Consul: 1 (production timing) to 10.
inline constexpr int kMinRaftMultiplier = 1;
inline constexpr int kMaxRaftMultiplier = 10;
// A sanity cap on bootstrap_expect (real clusters run 3, 5 or 7 servers).
inline constexpr int kMaxBootstrapExpect = 1000;
// autopilot.min_quorum: a floor on voters, so the same sanity cap.
inline constexpr int kMaxMinQuorum = kMaxBootstrapExpect;

// A node tag (image, runtime or operator layer). Keys are 1-128 characters of
// letters, digits, '_', '-', '.', '/': nothing that clashes with selector syntax
// (`role=web`, `env in (qa,prod)`, `!maintenance`) or with `?node-meta=key:value`.
// Values are 1-512 characters without control characters.
Status validate_tag(std::string_view key, std::string_view value);

// A service's meta pair: same key rules as a tag; the value may be empty.
Status validate_meta(std::string_view key, std::string_view value);

// True for a literal IPv4 or IPv6 address (no port, no brackets).
bool is_ip_address(const std::string& text);

// "host:port" with a non-empty host and a port in 1-65535; IPv6 hosts in brackets.
Status validate_host_port(std::string_view text);

// Accepts trace, debug, info, warn, warning, error, err, critical, off in any
// case, and returns one of trace, debug, info, warn, error, critical, off
// (all of which spdlog::level::from_str reads).
Result<std::string> normalize_log_level(std::string_view text);

// Datacenter names: 1-64 of [a-z0-9_-] after lowercasing (as Consul). Returns the
// lowercase name.
Result<std::string> normalize_datacenter(std::string_view text);

// Node names: 1-128 characters, no whitespace or control characters.
Status validate_node_name(std::string_view text);

// A gossip encryption key as `roster keygen` prints it: base64 of exactly 32
// bytes (AES-256), like Consul's -encrypt.
Status validate_gossip_key(std::string_view text);

// An Ed25519 public key as exec.trusted_keys lists it (what `roster-deploy
// keygen` prints): base64 of exactly 32 bytes.
Status validate_trusted_key(std::string_view text);

// What can be said of an exec root without looking at the disk: an absolute path.
Status validate_exec_root_syntax(std::string_view text);

// The exec settings once every source is in. The root must be absolute; when
// exec is enabled it must also be an existing directory (checked on the real
// file system, so it is not part of validate_paths), and at least one trusted
// key is needed.
Status validate_exec(const ExecSettings& exec);

// bootstrap and bootstrap_expect against each other and against server mode,
// with Consul's rules: they are mutually exclusive, need server mode, and are
// refused with -dev (a dev agent is always a single in-memory server).
// bootstrap_expect 1 is accepted (it behaves as bootstrap). Each error names
// the file and line from `locations` (LoadResult::locations) when a file set
// the setting, and no place when a flag did. With `mode_known` false (roster
// validate, where -server and -dev may still come from flags) only the mutual
// exclusion is checked.
std::vector<ConfigError> validate_bootstrap(const AgentConfig& config,
                                            const std::map<std::string, SourceLocation>& locations, bool mode_known);

}  // namespace roster::config
