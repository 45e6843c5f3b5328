#pragma once

// A deterministic simulator for the SWIM state machine (agent/gossip/swim.h).
//
// N real Swim instances run in virtual time over a fake network with seeded
// per-datagram loss, random latency (so reordering), partitions, and
// crash/restart. Push-pull and TCP probes are reliable when the peer is up and
// reachable, with an extra round trip for a lost segment. A node can be given
// a per-input processing time, so a flood of work queues up behind it as it
// would on an overloaded machine.
//
// Everything comes from one seed: the same seed and script give the same run,
// so a failing seed is a one-line reproduction (`gossip_sim --seed=S ...`).
//
// Invariants checked after every step:
// - a node's own incarnation never goes down (across restarts too: the
//   simulated data dir keeps the last one);
// - once the network has been healed (and the subject up) for longer than a
//   suspicion can last, a live, reachable node is never declared failed.
//   Each such `failed` event is a false positive;
// - a node delivers each user event at most once per life.

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "agent/gossip/swim.h"

namespace roster::sim {

using gossip::Duration;
using gossip::TimePoint;

struct GossipSimOptions {
  size_t nodes = 10;
  uint64_t seed = 1;
  double loss = 0.0;  // per datagram
  Duration min_latency = std::chrono::milliseconds(1);
  Duration max_latency = std::chrono::milliseconds(10);
  Duration processing_time = Duration::zero();  // per input, per node
  // Prints every membership event about this node name to stderr (debugging).
  std::string trace_subject;
  // Applied to every node's SwimConfig after name, ID, address and seed are set.
  std::function<void(gossip::SwimConfig&)> configure;
};

struct FalsePositive {
  TimePoint at;
  size_t observer = 0;
  size_t subject = 0;
};

class GossipSim {
 public:
  explicit GossipSim(GossipSimOptions options);
  ~GossipSim();

  // --- script (each acts at now(); use at() to act later) ---

  // Starts node i and joins it to the given nodes (none: starts alone).
  void start(size_t i, const std::vector<size_t>& join_to);
  // Starts nodes 0..count-1 as a pool that formed before now: each knows
  // all the others as alive. For pools whose joins are not the subject.
  void start_formed(size_t count);
  // Crash: the node stops; its data dir keeps its last incarnation and known
  // peers. By default only the process dies and the host stays up, so TCP
  // connections to the node are refused (kill -9 of the agent); with
  // `host_down` they time out (a powered-off machine).
  void crash(size_t i, bool host_down = false);
  // Restart with the same name and ID, rejoining from its persisted peers.
  void restart(size_t i);
  void leave(size_t i);
  void set_tags(size_t i, gossip::TagMap tags);
  // Fires a user event at node i; returns its ID ("" if Swim refused it,
  // which is also a violation).
  std::string fire_user_event(size_t i, const std::string& name, const std::string& payload);
  // Serf's force-leave of `subject`, asked at node i.
  void force_leave(size_t i, size_t subject);
  // group[i] is node i's side; nodes talk only within a side.
  void partition(std::vector<int> group);
  void heal();
  void set_loss(double loss) { options_.loss = loss; }
  // From now on every TCP connection to a node is refused, live or not (a
  // firewall that resets the gossip TCP port): push-pulls fail and TCP
  // fallback probes report `refused`.
  void set_tcp_refused(bool refused) { tcp_refused_ = refused; }
  // Node i takes `time` per input from now on (a slow, overloaded member);
  // the larger of this and options.processing_time applies.
  void set_processing_time(size_t i, Duration time) { nodes_.at(i).processing_time = time; }
  // Node i freezes for `length` every `period` from now on (a garbage
  // collector, a starved CPU): inputs that arrive meanwhile wait until it
  // wakes. Each node's stalls start at a different phase.
  void set_stalls(size_t i, Duration period, Duration length);
  void at(TimePoint when, std::function<void()> action);

  // --- running ---

  void run_until(TimePoint until);
  void run_for(Duration duration) { run_until(now_ + duration); }
  // Runs until `done` holds (checked every `step`) or `limit` passes; returns
  // the time it first held, or nothing.
  std::optional<TimePoint> run_until_true(const std::function<bool()>& done, Duration limit,
                                          Duration step = std::chrono::milliseconds(50));

  // --- observation ---

  TimePoint now() const { return now_; }
  TimePoint start_time() const;
  size_t size() const { return nodes_.size(); }
  bool is_up(size_t i) const { return nodes_[i].up; }
  const gossip::Swim* swim(size_t i) const { return nodes_[i].swim.get(); }
  std::string name(size_t i) const;

  // Every up node holds every up node as a live member and no down node as alive.
  bool converged() const { return mismatches_ == 0; }
  size_t mismatches() const { return mismatches_; }
  // Up to `limit` (observer, subject) pairs whose view is wrong.
  std::vector<std::pair<size_t, size_t>> wrong_views(size_t limit) const;
  // Up nodes other than i that hold i as failed (or left).
  size_t observers_holding_failed(size_t i) const;
  size_t up_count() const;
  // Up nodes (i included) whose view of i has tags[key] == value.
  size_t observers_with_tag(size_t i, const std::string& key, const std::string& value) const;
  // Up nodes that have delivered the user event with this ID (in this life).
  size_t nodes_with_user_event(const std::string& id) const;

  size_t false_positives() const { return false_positives_.size(); }
  const std::vector<FalsePositive>& false_positive_list() const { return false_positives_; }
  // `suspect` events about live nodes, summed over observers.
  size_t false_suspicions() const { return false_suspicions_; }
  // `failed` events about live, reachable nodes with no window at all (runs
  // without partitions only): a join storm must not produce any.
  size_t failures_of_live_nodes() const { return failures_of_live_nodes_; }
  // Invariant violations, each a sentence naming the seed; empty when none.
  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t datagrams_sent() const { return datagrams_sent_; }
  uint64_t datagram_bytes() const { return datagram_bytes_; }
  uint64_t push_pulls() const { return push_pulls_; }
  uint64_t events_processed() const { return events_processed_; }
  // The window after which a failed event about an up node is a false positive.
  Duration false_positive_window() const { return fp_window_; }

 private:
  enum class Kind : uint8_t { timer, datagram, push_pull, push_pull_reply, tcp_probe, tcp_probe_result, action };
  struct Event {
    TimePoint at;
    uint64_t order = 0;  // ties broken by scheduling order
    Kind kind = Kind::timer;
    uint32_t node = 0;   // the node it happens at
    uint32_t peer = 0;   // the other end
    uint32_t life = 0;   // node's life when scheduled (timers, replies)
    uint64_t version = 0;
    std::string address;
    std::variant<std::monostate, gossip::Packet, gossip::PushPull, gossip::Ping, uint32_t> payload;
    TimePoint deadline;
    bool flag = false;
    bool refused = false;  // tcp_probe_result: the connection was refused
    std::shared_ptr<std::function<void()>> action;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at != b.at ? a.at > b.at : a.order > b.order;
    }
  };
  struct Node {
    std::unique_ptr<gossip::Swim> swim;
    bool up = false;
    bool departed = false;  // left gracefully; still answering
    bool host_down = false;  // while not up: connections time out instead of being refused
    uint32_t life = 0;
    uint64_t timer_version = 0;
    TimePoint timer_at = TimePoint::max();
    TimePoint up_since{};
    TimePoint busy_until{};
    Duration processing_time = Duration::zero();
    Duration stall_period = Duration::zero();
    Duration stall_length = Duration::zero();
    TimePoint stall_phase{};
    gossip::Incarnation incarnation = 0;  // the data dir's copy
    std::vector<std::string> peers;        // the data dir's copy
    gossip::TagMap tags;
    int group = 0;
    std::vector<uint8_t> view;  // view[j]: 0 unknown, 1 live, 2 failed, 3 left
    std::set<std::string> user_event_ids;  // delivered in this life
  };

  void push(Event event);
  void process(Event& event);
  // Runs one input at node i: `input` calls into its Swim; then drains it.
  void drain(size_t i);
  void send_datagram(size_t from, const std::string& address, gossip::Packet packet);
  Duration latency();
  Duration tcp_latency();
  bool reachable(size_t a, size_t b) const { return nodes_[a].group == nodes_[b].group; }
  std::optional<size_t> node_at(const std::string& address) const;
  gossip::SwimConfig config_for(size_t i) const;
  void boot(size_t i, const std::vector<std::string>& join_addresses);
  void set_view(size_t observer, size_t subject, uint8_t state);
  void recount_row(size_t observer, bool add);
  void recount_column(size_t subject, bool was_up, bool is_up);
  bool truly_live(size_t i) const;
  bool view_matches(size_t observer, size_t subject) const;
  void violation(const std::string& what);

  GossipSimOptions options_;
  std::mt19937_64 rng_;
  TimePoint now_;
  std::vector<Node> nodes_;
  std::vector<std::string> addresses_;
  std::unordered_map<std::string, size_t> by_address_;
  std::unordered_map<std::string, size_t> by_name_;
  std::vector<Event> queue_;  // a heap ordered by Later
  // One copy of each member record for all the nodes' member tables.
  std::shared_ptr<gossip::MemberRecordPool> record_pool_ = std::make_shared<gossip::MemberRecordPool>();
  uint64_t next_order_ = 0;
  bool tcp_refused_ = false;

  size_t mismatches_ = 0;
  TimePoint last_partition_change_;
  Duration fp_window_{};
  std::vector<FalsePositive> false_positives_;
  size_t false_suspicions_ = 0;
  size_t failures_of_live_nodes_ = 0;
  bool ever_partitioned_ = false;
  std::vector<std::string> violations_;
  uint64_t datagrams_sent_ = 0;
  uint64_t datagram_bytes_ = 0;
  uint64_t push_pulls_ = 0;
  uint64_t events_processed_ = 0;
};

}  // namespace roster::sim
