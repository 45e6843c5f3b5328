#pragma once

// Membership: what the agent core and the HTTP API need from the gossip pool,
// without knowing how it is gossiped. agent/gossip/gossip_agent.h implements
// it over the SWIM transport; tests can put a fake behind it.
//
// Long operations (join, leave) start here and finish later; their end is
// announced on the core's WatchHub under join_watch_key(ticket) and
// kLeaveWatchKey, so an HTTP request can wait for it like a blocking query.
//
// Thread affinity: the agent core's thread.

#include <charconv>
#include <cstdint>
#include <string_view>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/core/user_events.h"
#include "common/status.h"

namespace roster::agent {

// Serf's member status codes, as Consul's /v1/agent/members reports them.
enum class MemberStatus : int { none = 0, alive = 1, leaving = 2, left = 3, failed = 4 };

struct MemberInfo {
  std::string name;
  std::string id;
  std::string ip;
  uint16_t port = 0;
  std::map<std::string, std::string> tags;  // the node's merged tags; never a reserved gossip key
  MemberStatus status = MemberStatus::alive;  // a suspect member is alive, as in Serf
  std::string state;                          // "alive", "suspect", "failed", "left", "leaving"
  bool server = false;                        // gossiped by the node itself
  std::string http_address;                   // host:port of its HTTP API; empty if it did not say
  // A server's own word about its Raft side (ServerTag, below).
  uint16_t server_port = 0;    // its server RPC port
  int bootstrap_expect = 0;    // its -bootstrap-expect
  bool in_cluster = false;     // it holds Raft state: never bootstrap beside it
};

// What a server gossips about itself under the reserved server key:
// "port=8300;expect=3;raft=1". A bare "1" (a -dev agent) is a server on the
// default port.
struct ServerTag {
  uint16_t port = 8300;
  int bootstrap_expect = 0;
  bool in_cluster = false;
};
// Lenient: unknown fields are skipped and bad numbers keep the defaults, so
// a newer server's tag still reads.
inline std::string format_server_tag(const ServerTag& tag) {
  return "port=" + std::to_string(tag.port) + ";expect=" + std::to_string(tag.bootstrap_expect) +
         ";raft=" + (tag.in_cluster ? "1" : "0");
}

inline ServerTag parse_server_tag(const std::string& value) {
  ServerTag tag;
  std::string_view rest = value;
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    std::string_view field = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const size_t equals = field.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = field.substr(0, equals);
    std::string_view text = field.substr(equals + 1);
    int number = 0;
    auto [ptr, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || ptr != text.data() + text.size()) continue;
    if (key == "port" && number > 0 && number <= 65535) tag.port = static_cast<uint16_t>(number);
    if (key == "expect" && number >= 0 && number <= 100) tag.bootstrap_expect = number;
    if (key == "raft") tag.in_cluster = number == 1;
  }
  return tag;
}


struct JoinOutcome {
  int joined = 0;                   // addresses that answered
  std::vector<std::string> errors;  // one line per address that did not
};

inline std::string join_watch_key(uint64_t ticket) { return "gossip/join/" + std::to_string(ticket); }

enum class KeyringOperation : uint8_t { list, install, use, remove };

// The answers of every member asked, in the shape of Consul's
// /v1/operator/keyring.
struct KeyringOutcome {
  int num_nodes = 0;  // members asked, this agent included
  int num_responses = 0;
  int num_errors = 0;
  std::map<std::string, std::string> messages;  // node -> why it failed or did not answer
  std::map<std::string, int> keys;              // base64 key -> nodes that hold it
  std::map<std::string, int> primary_keys;      // base64 key -> nodes that send with it
};

inline std::string keyring_watch_key(uint64_t ticket) { return "gossip/keyring/" + std::to_string(ticket); }
inline constexpr const char* kLeaveWatchKey = "gossip/leave";
// Fires on every change to the member list: a join, a tag or address update,
// a failure, a leave, a reap. The leader's gossip reconciler waits on it.
inline constexpr const char* kMembersWatchKey = "gossip/members";

class Membership {
 public:
  virtual ~Membership() = default;

  virtual std::vector<MemberInfo> members() const = 0;
  virtual MemberInfo local_member() const = 0;

  // Starts joining `addresses` ("ip", "ip:port" or "host:port"). The outcome
  // is ready once join_watch_key(ticket) fires (or at once: check first).
  virtual uint64_t start_join(const std::vector<std::string>& addresses) = 0;
  // The outcome of a finished join (given once), nullopt while it runs.
  virtual std::optional<JoinOutcome> take_join_outcome(uint64_t ticket) = 0;

  // Graceful leave; kLeaveWatchKey fires when it has propagated (or timed out),
  // and the agent then shuts down.
  virtual void start_leave() = 0;
  virtual bool leave_done() const = 0;
  // Errors: not_found (no such member), invalid_argument (this node).
  virtual Status force_leave(const std::string& node) = 0;

  // Runs a keyring operation on this agent and every other live member of
  // the pool, as Consul does; the outcome is ready once
  // keyring_watch_key(ticket) fires (or at once: check first). Errors, with
  // nothing sent: invalid_argument (not a base64 32-byte key), unavailable
  // (encryption is off here).
  virtual Result<uint64_t> start_keyring(KeyringOperation op, const std::string& base64_key) = 0;
  virtual std::optional<KeyringOutcome> take_keyring_outcome(uint64_t ticket) = 0;

  // This agent's own keyring. Keys in base64, primary first. Errors:
  // unavailable when encryption is off.
  virtual std::vector<std::string> keyring_keys() const = 0;
  virtual Status keyring_install(const std::string& base64_key) = 0;
  virtual Status keyring_use(const std::string& base64_key) = 0;
  virtual Status keyring_remove(const std::string& base64_key) = 0;

  // "key" -> "value" for /v1/agent/self's Stats.serf_lan and `roster info`.
  virtual std::map<std::string, std::string> stats() const = 0;

  // This node's merged tags changed (any layer); spread them.
  virtual void set_local_tags(const std::map<std::string, std::string>& tags) = 0;

  // Fires a user event through the pool (Serf's user events). The event is
  // valid (validate_user_event) and carries its ID. Errors: too_large (over
  // the gossip size limit, which counts the name, payload, ID and filters),
  // unavailable (the agent has left the pool).
  virtual Status fire_user_event(const UserEventInfo& event) = 0;
  // Every user event delivered to this node (once each, its own included,
  // unfiltered) goes to `handler`; null: nowhere.
  virtual void set_user_event_handler(std::function<void(const UserEventInfo&)> handler) = 0;
};

}  // namespace roster::agent
