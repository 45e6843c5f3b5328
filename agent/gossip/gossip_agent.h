#pragma once

// GossipAgent: the agent's side of the gossip pool (agent::Membership over
// the SWIM transport). It owns the transport and adds what an agent needs
// around it:
// - the keyring from -encrypt, kept in <data-dir>/gossip.keyring;
// - -join (must succeed at start, as in Consul), -retry-join with exponential
//   backoff, and, with neither, a rejoin from the peers it last saw
//   (<data-dir>/gossip-peers.json, saved periodically and at stop);
// - the incarnation, saved (with a reserve) before a new one is advertised,
//   so a restart never reuses one;
// - graceful leave, force-leave, keyring operations and statistics;
// - a name or ID collision found on joining is fatal for this (new) node,
//   with a message that says how to fix it.
//
// Thread affinity: the agent core's thread (the io_context's one thread).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/core/membership.h"
#include "agent/gossip/persisted_state.h"
#include "agent/gossip/transport.h"
#include "common/clock.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::metrics {
class Snapshot;
}

namespace roster::catalog {
class WatchHub;
}

namespace roster::gossip {

struct GossipAgentOptions {
  TransportOptions transport;  // its keyring is filled in by start()
  std::string data_dir;        // empty: keep nothing on disk
  std::string encrypt_key;     // base64 (-encrypt); ignored when the keyring file exists
  std::vector<std::string> join;        // -join: at least one must answer, or the agent stops
  std::vector<std::string> retry_join;  // -retry-join: retried until one answers
  std::chrono::milliseconds retry_interval{std::chrono::seconds(30)};  // the backoff's cap
  int retry_max = 0;  // attempts before giving up (and stopping the agent); 0: forever
  std::chrono::milliseconds leave_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds snapshot_interval{std::chrono::seconds(10)};
  // Gossiped under reserved keys (kServerTagKey, kHttpAddressTagKey) beside
  // the node's tags, so members can find a server's HTTP API.
  bool server = false;
  // The server key's value (agent::format_server_tag); empty: "1".
  std::string server_info;
  std::string http_address;  // host:port; empty: not gossiped
};

struct GossipAgentCallbacks {
  // The agent cannot go on (a failed -join, retries exhausted, a collision):
  // log `reason` and exit with a non-zero status.
  std::function<void(const std::string& reason)> on_fatal;
  // A graceful leave finished: the agent should exit 0.
  std::function<void()> on_left;
};

// The members a keyring operation asks: everyone but this node that is
// alive or suspect.
std::vector<Member> keyring_peers(std::vector<Member> members, const std::string& local_name);

class GossipAgent final : public agent::Membership {
 public:
  // `clock` and `watch_hub` must outlive the agent.
  GossipAgent(boost::asio::io_context& io, const Clock& clock, catalog::WatchHub& watch_hub,
              GossipAgentOptions options, GossipAgentCallbacks callbacks);
  ~GossipAgent() override;
  GossipAgent(const GossipAgent&) = delete;
  GossipAgent& operator=(const GossipAgent&) = delete;

  // Loads the keyring and the peer snapshot, binds, starts gossiping, and
  // starts -join / -retry-join / the rejoin. Errors: a bad key or keyring
  // file (invalid_argument), a port in use (unavailable).
  Status start();
  // Saves the peer snapshot and closes the sockets (no leave: see start_leave).
  void stop();

  const Transport& transport() const { return *transport_; }

  // Adds the pool's series (roster.gossip.*: members by state, probes,
  // messages, bytes, refusals, drops) to `snapshot`. Nothing before start().
  // REQUIRES: on the io_context's thread.
  void collect_metrics(metrics::Snapshot& snapshot) const;

  // --- agent::Membership ---
  std::vector<agent::MemberInfo> members() const override;
  agent::MemberInfo local_member() const override;
  uint64_t start_join(const std::vector<std::string>& addresses) override;
  std::optional<agent::JoinOutcome> take_join_outcome(uint64_t ticket) override;
  void start_leave() override;
  bool leave_done() const override { return leave_done_; }
  Status force_leave(const std::string& node) override;
  Result<uint64_t> start_keyring(agent::KeyringOperation op, const std::string& base64_key) override;
  std::optional<agent::KeyringOutcome> take_keyring_outcome(uint64_t ticket) override;
  std::vector<std::string> keyring_keys() const override;
  Status keyring_install(const std::string& base64_key) override;
  Status keyring_use(const std::string& base64_key) override;
  Status keyring_remove(const std::string& base64_key) override;
  std::map<std::string, std::string> stats() const override;
  void set_local_tags(const std::map<std::string, std::string>& tags) override;
  // Replaces what this server gossips about its Raft side and spreads it.
  void set_server_info(std::string server_info);
  Status fire_user_event(const agent::UserEventInfo& event) override;
  void set_user_event_handler(std::function<void(const agent::UserEventInfo&)> handler) override;

 private:
  struct Ticket {
    std::set<std::string> waiting;  // "ip:port"
    agent::JoinOutcome outcome;
    bool done = false;
    std::function<void(const agent::JoinOutcome&)> then;  // internal joins
  };
  struct KeyringTicket {
    size_t waiting = 0;  // answers still to come
    agent::KeyringOutcome outcome;
  };
  struct Timers;

  uint64_t join_then(const std::vector<std::string>& addresses, std::function<void(const agent::JoinOutcome&)> then);
  void on_join_result(const std::string& address, bool ok, const std::string& error);
  void finish_ticket(uint64_t id, Ticket& ticket);
  void retry_join(std::vector<std::string> addresses, int attempt, bool from_snapshot);
  void schedule_snapshot();
  Status save_snapshot(bool forget_peers);
  void watch_leave();
  Status change_keyring(const std::string& base64_key, Status (Transport::*change)(const std::string&),
                        const char* verb);
  // Applies a keyring request to this agent (from a peer, or our own part of
  // start_keyring) and says how it went.
  KeyringReply answer_keyring(const KeyringRequest& request);
  void record_keyring_answer(uint64_t id, const std::string& node, const Result<KeyringReply>& answer);
  std::string path(const char* file) const;
  // `tags` without any reserved key, plus this node's reserved keys.
  TagMap with_reserved_keys(const std::map<std::string, std::string>& tags) const;

  boost::asio::io_context& io_;
  const Clock& clock_;
  catalog::WatchHub& watch_hub_;
  GossipAgentOptions options_;
  GossipAgentCallbacks callbacks_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Timers> timers_;
  std::map<uint64_t, Ticket> tickets_;
  uint64_t next_ticket_ = 1;
  std::map<uint64_t, KeyringTicket> keyring_tickets_;
  std::function<void(const agent::UserEventInfo&)> user_event_handler_;
  uint64_t next_keyring_ticket_ = 1;
  std::optional<PeerSnapshot> restored_;  // what the data dir held at start
  PeerSnapshot saved_;                    // what was written last
  Incarnation reserved_incarnation_ = 0;  // the transport's reservation: never save less
  bool leaving_ = false;
  bool leave_done_ = false;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point leave_deadline_{};
};

}  // namespace roster::gossip
