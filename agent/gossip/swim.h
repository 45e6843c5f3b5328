#pragma once

// SWIM with Lifeguard, as a pure state machine (memberlist's state.go,
// suspicion.go and awareness.go, and the parts of Serf above it that keep
// failed members, reconnect to them and reap them).
//
// Swim touches no socket, clock or random source of its own. The caller
// passes `now` into every input, hands it the packets and push-pull states
// that arrive, and drains take_output() after every input for the packets to
// send, the push-pull exchanges and TCP probes to start, and the membership
// events. Randomness comes from a generator seeded by SwimConfig::seed, so a
// run is a function of its inputs.
//
// Timing contract: call tick(now) whenever now >= next_deadline(); an input
// may move next_deadline() earlier, so re-read it after every call.
//
// Strand affinity: not thread-safe; one owner (one strand) calls everything.
//
// Behaviour in brief (the details follow memberlist, and the comments in
// swim.cc say where Roster differs):
// - Probing walks a shuffled member list. Direct ping; no ack after
//   probe_timeout -> ping-req through indirect_checks peers (they nack when
//   they hear nothing) plus a TCP probe request; no ack within the probe
//   interval x (health score + 1) -> suspect. Probing a node we suspect
//   carries the suspicion along ("buddy"), so it can refute at once.
// - Suspicion timeouts shrink from max to min as distinct peers confirm.
//   Roster's final check: a suspicion that times out with no confirmation at
//   all (while some were expected) first gets one more probe carrying the
//   suspicion; a node that answers is not declared failed, and its answer
//   brings its refutation. A node told it is suspected at an incarnation it
//   has already refuted announces itself again. Together these stop the rare
//   observer that missed every copy of a refutation from declaring a live
//   node failed.
// - A node that hears it is suspected or dead raises its incarnation above
//   the accusation and broadcasts alive.
// - Broadcasts ride on every packet and on gossip packets to gossip_nodes
//   random peers; each is sent retransmit_mult x ceil(log10(N + 1)) times.
//   Roster: news from a peer also goes out a few milliseconds after it
//   arrives, in an extra round of uncounted copies (eager_gossip_rounds),
//   and a newcomer announces itself as soon as its join is answered.
// - Push-pull on join, a few seconds after join (the join tail), every
//   push_pull_interval (scaled for N > 32), with a failed member now and then
//   (Serf's reconnect), and with a node we don't know that pings us.
// - Tags: an alive message too large for a datagram travels on UDP as a stub
//   that says "incarnation i, tags omitted"; the tags themselves go by
//   push-pull (relayed to large_tag_relay_fanout peers by every node that
//   accepts them, and fetched from the owner by nodes that only saw the stub).
// - Name collisions: a different ID under a live member's name (or a live
//   member's ID under another name) is refused. The newcomer learns it from
//   its join reply: it gets a `collision` event with the reason and halts.
//   Everyone else, the existing node included, keeps the existing member and
//   reports the refused claim as a `collision` event.
// - Roster: what peers (or forgers) can make Swim hold is bounded. A claim
//   more than max_incarnation_jump above the incarnation held is refused, so
//   a node can always refute; the table holds at most max_members, and a
//   failed member that was never confirmed goes after
//   reap_unconfirmed_after; a push-pull state stays within
//   max_push_pull_bytes. Refusals are counted and reported as warnings.
//   A member is confirmed (evidence that it exists, not just claims about
//   it) once it answers a probe of ours or pushes or pulls its state with us
//   over TCP; this node is confirmed from the start. A full table still
//   admits a newcomer that contacts us over TCP (a joiner): it evicts an
//   unconfirmed member, so forged alives cannot lock real nodes out. A
//   claim heard only through gossip never evicts anything.
// - A restart starts one above SwimConfig::initial_incarnation; the adapter
//   persists local_incarnation() before anything carrying it is sent.
// - Force-leave (Serf's): a failed member becomes left; a live one becomes
//   leaving, and when it hears so it refutes (a new incarnation, announced
//   alive), so a live member cannot be pushed out by someone else. A leaving
//   member that is then declared failed goes to left, as in Serf.
// - User events (Serf's): a Lamport clock of their own (event_clock());
//   fire_user_event() stamps an event with it, and each node delivers an
//   event once (SwimOutput::user_events), remembering the recent Lamport
//   times (event_buffer_size of them) to drop copies and events older than
//   that window. New events are rebroadcast like any news; push-pulls carry
//   the clock and the buffered events, so a member that missed a broadcast
//   catches up (a joiner only from its join onwards: event_join_ignore).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/gossip/awareness.h"
#include "agent/gossip/broadcast_queue.h"
#include "agent/gossip/member_record.h"
#include "agent/gossip/messages.h"
#include "agent/gossip/suspicion.h"
#include "agent/gossip/swim_config.h"
#include "common/status.h"

namespace roster::gossip {

// A reserved tag key. An Alive whose tags are exactly {kTagsOmittedKey: digest}
// is a stub: the member's tags did not fit a datagram. A receiver whose tags
// for the member have that digest keeps them; others fetch them by push-pull.
// User tags may not use keys that start with '\x01'.
inline constexpr const char* kTagsOmittedKey = "\x01tags-omitted";
// Reserved keys the agent itself gossips about its node (GossipAgent adds
// them; they are never shown as tags): "1" when the node is a server, and the
// host:port of its HTTP API. Swim accepts these two and no other reserved key.
inline constexpr const char* kServerTagKey = "\x01server";
inline constexpr const char* kHttpAddressTagKey = "\x01http";

enum class MemberEventType : uint8_t {
  join,         // new member, or a failed/left one back
  update,       // tags or address changed
  suspect,
  failed,
  left,
  alive_again,  // a suspicion was refuted
  reaped,       // a failed or left member was forgotten
  collision,    // a name or ID claimed twice; `detail` says who holds it
  leaving,      // a live member was asked to leave (force-leave); it should refute
};
const char* member_event_type_name(MemberEventType type);

struct MemberEvent {
  MemberEventType type = MemberEventType::join;
  Member member;       // as now known; for collision, the refused claimant
  std::string detail;  // for people: "node name web-7 is already in use by ID ... at ..."
};

struct OutgoingPacket {
  std::string address;
  Packet packet;
};

enum class PushPullReason : uint8_t { join, early, periodic, reconnect, unknown_peer, relay, tag_fetch };

// Start a TCP push-pull: send `state` to `address`, hand the answer to
// on_push_pull_reply(), or report on_push_pull_failed().
struct PushPullRequest {
  std::string address;
  PushPull state;
  PushPullReason reason = PushPullReason::periodic;
};

// memberlist's TCP fallback probe: send `ping` over TCP to `address`; report
// on_tcp_probe_result() with how it went by `deadline`.
struct TcpProbeRequest {
  std::string address;
  Ping ping;
  TimePoint deadline;
};

enum class TcpProbeOutcome : uint8_t {
  reached,  // a matching Ack came back
  failed,   // no answer by the deadline, or any error but a refusal
  refused,  // the connection was refused: the host is up, nothing listens there
};

// Something a person should hear about (a refused forged claim, a full
// member table). `kind` is a fixed word ("incarnation", "member-cap"), so the
// adapter can log at most one line per kind per interval.
struct SwimWarning {
  const char* kind = "";
  std::string text;
};

struct SwimOutput {
  std::vector<OutgoingPacket> packets;
  std::vector<PushPullRequest> push_pulls;
  std::vector<TcpProbeRequest> tcp_probes;
  std::vector<MemberEvent> events;
  std::vector<SwimWarning> warnings;
  // User events delivered here, each once, this node's own included.
  std::vector<UserEvent> user_events;
  bool empty() const {
    return packets.empty() && push_pulls.empty() && tcp_probes.empty() && events.empty() && warnings.empty() &&
           user_events.empty();
  }
};

struct SwimCounters {
  uint64_t probes = 0;
  uint64_t probe_failures = 0;  // probes that ended in a suspicion
  uint64_t indirect_probes = 0;
  uint64_t tcp_probes = 0;
  uint64_t acks_received = 0;
  uint64_t nacks_received = 0;
  uint64_t refutations = 0;
  uint64_t packets_sent = 0;
  uint64_t messages_sent = 0;
  uint64_t push_pulls_started = 0;
  uint64_t push_pulls_served = 0;
  uint64_t collisions = 0;
  uint64_t misdirected_pings = 0;  // pings for another node name
  uint64_t incarnations_refused = 0;  // claims over SwimConfig::max_incarnation_jump ahead
  uint64_t members_refused = 0;       // new members over SwimConfig::max_members
  uint64_t unconfirmed_reaped = 0;    // failed members that were never confirmed, reaped early
  uint64_t unconfirmed_evicted = 0;   // unconfirmed members dropped from a full table for a confirmed newcomer
  uint64_t user_events = 0;           // delivered (each event once)
  uint64_t user_events_too_old = 0;   // older than the event buffer's window, or than a join
  uint64_t user_events_refused = 0;   // a forged-looking Lamport time, or too many at one time
};

class Swim {
 public:
  // Errors: invalid_argument (empty name, ID or address; bad tags).
  static Status validate(const SwimConfig& config);

  // REQUIRES: validate(config).is_ok().
  explicit Swim(SwimConfig config);
  Swim(const Swim&) = delete;
  Swim& operator=(const Swim&) = delete;
  ~Swim();

  // --- inputs ---

  // Starts the timers (with memberlist's random stagger). Before start(), tick() does nothing.
  void start(TimePoint now);
  // Starts a join push-pull with each address (our own is skipped) and schedules the early syncs.
  void join(TimePoint now, const std::vector<std::string>& addresses);
  // A datagram from `from_address`, decoded. Messages are handled in order.
  void on_packet(TimePoint now, const std::string& from_address, const Packet& packet);
  // A remote node started a push-pull with us: returns our state (as it was
  // before the merge) for the reply, then merges theirs.
  // In both push-pull inputs the sender (the member at the address dialed,
  // else the first: local_state() puts this node first) is confirmed: it
  // spoke to us over TCP, whose source, unlike a datagram's, cannot be
  // forged. It is merged first, evicting an unconfirmed member if the table
  // is full. REQUIRES: the state came over TCP.
  PushPull on_push_pull(TimePoint now, const PushPull& remote);
  // The answer to a PushPullRequest we emitted to `address`.
  void on_push_pull_reply(TimePoint now, const std::string& address, const PushPull& reply);
  void on_push_pull_failed(TimePoint now, const std::string& address);
  // A Ping that came over TCP (a peer's fallback probe): the Ack to write
  // back, or nothing when the ping is for another node.
  std::optional<Ack> on_tcp_ping(TimePoint now, const Ping& ping);
  void on_tcp_probe_result(TimePoint now, uint32_t sequence, TcpProbeOutcome outcome);
  // Adds members learned before `now` as alive, with a join event each but
  // no news to gossip: the simulator starts a pool that formed before time
  // zero this way (10,000 nodes whose joins are not what is measured).
  // Members already known, and this node, are skipped.
  void preload(TimePoint now, const std::vector<Member>& members);
  // Fires every timer that is due.
  void tick(TimePoint now);

  // Graceful leave: broadcasts "left" and stops probing. Keep ticking until
  // leave_propagated() (or a timeout) so the broadcast gets out.
  void leave(TimePoint now);
  bool leave_propagated() const;

  // Replace this node's tags; bumps the incarnation and broadcasts alive.
  // Errors: invalid_argument (empty or reserved key), too_large (over max_tag_bytes),
  // unavailable (left or halted).
  Status set_tags(TimePoint now, TagMap tags);
  // New gossip address, same name and ID; bumps the incarnation and broadcasts alive.
  Status set_address(TimePoint now, std::string address);

  // Serf's force-leave of `name`: a failed member becomes left; a live one
  // becomes leaving (and refutes it when it hears). Either way the news is
  // broadcast. Left members are left alone.
  // Errors: invalid_argument (this node: leave() instead), not_found (no such
  // member), unavailable (halted).
  Status force_leave(TimePoint now, const std::string& name);

  // Fires a user event: stamps `event.ltime` with the event clock (which then
  // moves on), delivers it here and broadcasts it. Returns the stamped time.
  // Errors: invalid_argument (empty name), too_large (name and payload, or
  // the whole encoded event, over user_event_size_limit), unavailable (left
  // or halted). A refused event leaves the clock as it was.
  Result<LamportTime> fire_user_event(TimePoint now, UserEvent event);

  TimePoint next_deadline() const;
  SwimOutput take_output();

  // --- queries ---

  Member local_member() const;  // a copy; local_name() and local_incarnation() are the cheap parts
  const std::string& local_name() const { return config_.name; }
  Incarnation local_incarnation() const;
  std::optional<Member> member(const std::string& name) const;
  std::vector<Member> members() const;  // every known member, this node included
  size_t live_member_count() const { return live_count_; }  // alive + suspect, this node included
  // Addresses of live members other than this node, for the adapter to persist
  // and rejoin from after a restart.
  std::vector<std::string> known_peer_addresses() const;
  int health_score() const { return awareness_.score(); }
  const SwimCounters& counters() const { return counters_; }
  size_t queued_broadcasts() const { return broadcasts_.size(); }
  // Refused (name, ID) claims remembered for reporting once (bounded).
  size_t remembered_collisions() const { return reported_collisions_.size(); }
  // After a collision found on joining, Swim stops: it sends nothing and
  // ignores its inputs. halt_reason() says why.
  bool halted() const { return halted_; }
  const std::string& halt_reason() const { return halt_reason_; }
  bool has_left() const { return left_; }
  // Serf's event clock: the Lamport time the next event fired here gets.
  LamportTime event_clock() const { return event_clock_; }
  // Events before this time are not delivered (set by a join: event_join_ignore).
  LamportTime event_min_time() const { return event_min_time_; }

 private:
  // One entry of the member table, kept small: the simulator holds N x N of
  // them. The record (name, ID, address, tags) is shared and replaced as a
  // whole; the table's keys view its name and ID (see set_record).
  struct NodeState {
    std::shared_ptr<const MemberRecord> record;
    Incarnation incarnation = 0;
    TimePoint state_change{};
    std::unique_ptr<Suspicion> suspicion;
    uint32_t order_index = 0;
    MemberState state = MemberState::dead;  // not live until set_state(); keeps live_count_ honest
    bool tags_stale = false;   // we saw a stub with a newer incarnation than our tags
    bool final_check = false;  // the suspicion timed out; a last probe is out
    // Evidence that it exists: it answered a probe of ours or contacted us
    // over TCP (see swim.h's preamble, max_members, reap_unconfirmed_after).
    bool confirmed = false;
    // Asked to leave while live (a force-leave) at `incarnation`: reported
    // as leaving until it refutes or fails.
    bool leave_intent = false;

    const std::string& name() const { return record->name; }
    const std::string& id() const { return record->id; }
    const std::string& address() const { return record->address; }
    const TagMap& tags() const { return record->tags; }
    MemberState reported_state() const {
      return leave_intent && (state == MemberState::alive || state == MemberState::suspect) ? MemberState::leaving
                                                                                             : state;
    }
    Member member() const {
      return Member{record->name, record->id, record->address, incarnation, reported_state(), record->tags};
    }
  };
  // std::hash<std::string_view> counts as slow, so the tables would cache
  // every hash (8 more bytes per entry); this one does not.
  struct ViewHash {
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct PendingProbe {
    uint32_t sequence = 0;
    std::string target;
    Incarnation incarnation = 0;  // the target's when probed; a failure suspects this life only
    TimePoint indirect_at;
    TimePoint deadline;
    bool indirect_sent = false;
    bool refused = false;  // the TCP fallback was refused: the target's process is gone
    int expected_nacks = 0;
    int nacks = 0;
  };
  struct Relay {
    uint32_t original_sequence = 0;
    std::string source_address;
    TimePoint deadline;
    bool want_nack = false;
  };
  enum class Source : uint8_t { gossip, push_pull, join_reply };

  NodeState& self();
  const NodeState& self() const;
  NodeState& insert_node(std::shared_ptr<const MemberRecord> record);
  // Replaces a node's record, re-pointing the table keys at the new one.
  void set_record(NodeState& node, std::shared_ptr<const MemberRecord> record);
  // Makes `node` the holder of its ID in the ID index.
  void claim_id(NodeState& node);
  std::shared_ptr<const MemberRecord> make_record(const std::string& name, const std::string& id,
                                                  const std::string& address, const TagMap& tags);
  NodeState* find(std::string_view name);
  const NodeState* find(std::string_view name) const;
  void remove_node(const std::string& name);
  void set_state(NodeState& node, MemberState state, TimePoint now);
  void clear_suspicion(NodeState& node);
  uint32_t next_sequence() { return ++sequence_; }
  size_t random_index(size_t n);
  template <typename Filter>
  std::vector<NodeState*> random_nodes(size_t k, Filter exclude);

  void handle_ping(TimePoint now, const std::string& from_address, const Ping& ping);
  void handle_indirect_ping(TimePoint now, const IndirectPing& request);
  void handle_ack(TimePoint now, const Ack& ack);
  void handle_nack(const Nack& nack);
  // `contacted`: the claim comes from the member itself over TCP (see on_push_pull).
  void handle_alive(TimePoint now, const Member& incoming, Source source, bool contacted = false);
  void handle_alive_about_self(TimePoint now, const Member& incoming, Source source);
  void handle_suspect(TimePoint now, const Suspect& suspect);
  void handle_dead(TimePoint now, const Dead& dead);
  void handle_leave_intent(TimePoint now, const LeaveIntent& intent);
  // Serf's handleUserEvent: delivers `event` unless it is a copy, too old or
  // refused; `rebroadcast` queues it for gossip. True when delivered.
  bool handle_user_event(const UserEvent& event, bool rebroadcast);
  // Serf's LamportClock.Witness: the clock moves past `time`. False (and
  // counted) for a jump over max_incarnation_jump, which is refused.
  bool witness_event_time(LamportTime time);
  // `dialed`: the address we sent our state to, when `remote` is its answer.
  void merge_state(TimePoint now, const PushPull& remote, Source source, const std::string* dialed = nullptr);
  // Makes room in a full table for `newcomer`, which has contacted us:
  // forgets one unconfirmed member. False when every member is confirmed.
  bool evict_unconfirmed(const Member& newcomer);
  bool refuse_collision(const Member& claimant, Source source);
  // A claim about `name` at `claimed` jumps implausibly far ahead of `known`
  // (see SwimConfig::max_incarnation_jump): counts and warns, returns true.
  bool refuse_incarnation(const std::string& name, const char* what, Incarnation known, Incarnation claimed);
  void warn(const char* kind, std::string text) { output_.warnings.push_back(SwimWarning{kind, std::move(text)}); }
  // `slow`: the accusation hints that we are slow to answer (Lifeguard);
  // a leave intent does not.
  void refute(TimePoint now, Incarnation accused, bool slow = true);
  void suspicion_timed_out(TimePoint now, NodeState& node);
  int expected_confirmations() const;
  // A new suspicion's (min, max) timeouts for this pool size (see SwimConfig).
  std::pair<Duration, Duration> suspicion_bounds(int expected_confirmations) const;
  void final_check_answered(TimePoint now, uint32_t sequence);

  void start_probe(TimePoint now);
  void send_indirect_probes(TimePoint now);
  void finish_probe(TimePoint now, bool acked);
  // One gossip round; `burst` multiplies its fanout (for our own news).
  // An uncounted round sends extra copies: it spends none of the
  // broadcasts' retransmissions, which the regular rounds still make.
  enum class Copies : bool { counted, extra };
  void gossip(TimePoint now, size_t burst = 1, Copies copies = Copies::counted);
  // Schedules an extra gossip round if the input just handled found the
  // queue empty (`was_quiet`) and left news in it; see
  // SwimConfig::eager_gossip_rounds.
  void relay_news(TimePoint now, bool was_quiet);
  void start_push_pull(const std::string& address, PushPullReason reason, bool join);
  void push_pull_with_random_peer(PushPullReason reason);
  void reconnect();
  void reap(TimePoint now);

  void send(const std::string& address, std::vector<Message> messages, Copies copies = Copies::counted);
  void broadcast_alive(const Member& member);
  void broadcast(const std::string& name, Message message) { broadcasts_.queue(name, std::move(message)); }
  void emit(MemberEventType type, const Member& member, std::string detail = {});
  Alive alive_for_datagram(const Member& member) const;
  PushPull local_state(bool join) const;
  size_t datagram_budget() const;
  Duration push_pull_period() const;

  SwimConfig config_;
  std::mt19937_64 rng_;
  Awareness awareness_;
  BroadcastQueue broadcasts_;
  SwimOutput output_;
  SwimCounters counters_;

  // By name (a view of the record's), this node included.
  std::unordered_map<std::string_view, NodeState, ViewHash> nodes_;
  std::vector<NodeState*> order_;  // probe order; also for random picks
  // Node ID (a view of the record's) -> the node holding it.
  std::unordered_map<std::string_view, NodeState*, ViewHash> id_owner_;
  size_t probe_index_ = 0;
  size_t live_count_ = 0;
  std::set<std::pair<TimePoint, std::string>> suspicion_deadlines_;
  std::set<std::pair<std::string, std::string>> reported_collisions_;  // (name, id)

  uint32_t sequence_ = 0;
  int eager_rounds_left_ = 0;  // in this gossip interval
  std::optional<PendingProbe> probe_;
  std::map<uint32_t, Relay> relays_;  // our sequence -> whom we probe for
  std::map<uint32_t, std::string> final_checks_;  // sequence -> suspect's name
  std::set<std::string> pending_joins_;
  std::set<std::pair<TimePoint, std::string>> tag_fetches_;

  // Serf's eventBuffer: the events seen at each recent Lamport time, in
  // slot ltime % event_buffer_size.
  struct EventSlot {
    LamportTime ltime = 0;
    std::vector<UserEvent> events;
  };
  std::vector<EventSlot> event_buffer_;
  LamportTime event_clock_ = 1;  // Serf starts its event clock at 1
  LamportTime event_min_time_ = 0;

  bool started_ = false;
  bool left_ = false;
  bool halted_ = false;
  std::string halt_reason_;
  TimePoint next_probe_at_ = TimePoint::max();
  TimePoint next_gossip_at_ = TimePoint::max();
  TimePoint eager_gossip_at_ = TimePoint::max();
  TimePoint next_push_pull_at_ = TimePoint::max();
  TimePoint next_reconnect_at_ = TimePoint::max();
  TimePoint next_reap_at_ = TimePoint::max();
  TimePoint next_unknown_sync_at_{};
  std::vector<TimePoint> early_push_pulls_;  // sorted
};

}  // namespace roster::gossip
