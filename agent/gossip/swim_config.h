#pragma once

// SWIM's settings. The defaults are memberlist's DefaultLANConfig and Serf's
// defaults, so a Roster pool behaves like a Serf LAN pool unless told
// otherwise. Time is passed in by the caller as TimePoint; Duration is its
// resolution.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/gossip/messages.h"

namespace roster::gossip {

class MemberRecordPool;

// Serf's hard cap on a user event (its UserEventSizeLimit constant).
inline constexpr size_t kMaxUserEventSizeLimit = 9 * 1024;

using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::nanoseconds;

struct SwimConfig {
  // --- identity ---
  std::string name;     // unique in the pool
  std::string id;       // node ID (UUID); unique in the pool
  std::string address;  // "ip:port" of this node's gossip port (UDP and TCP)
  TagMap tags;
  // A restarted node passes the incarnation it last used (persisted by the
  // adapter); it starts one above, so it never advertises an incarnation of a
  // previous life, whose tags or address may differ. A new node (nothing
  // persisted) passes nothing and starts at 0. The adapter must persist
  // local_incarnation() before it sends anything that carries it (see
  // TransportCallbacks::persist_incarnation).
  std::optional<Incarnation> initial_incarnation;
  uint64_t seed = 1;  // all of Swim's randomness comes from this

  // --- probing (memberlist LAN) ---
  Duration probe_interval = std::chrono::seconds(1);
  Duration probe_timeout = std::chrono::milliseconds(500);
  int indirect_checks = 3;
  bool tcp_fallback_probe = true;
  // Roster: a TCP fallback probe refused outright (a reset: the host is up
  // but nothing listens on the gossip port, as after kill -9 of the agent)
  // says the member's process is gone. Its suspicion then ends this long
  // after the probe failed instead of after the Lifeguard minimum (6.8 s at
  // 50 members). A stalled member still accepts connections and a
  // partitioned one times out: neither refuses, and nor can a slow prober.
  // A live member behind a firewall that resets its gossip TCP port refuses
  // too: so when no other member has confirmed such a suspicion by then, a
  // final check (direct and through indirect_checks peers, probe_timeout
  // long) comes first, and a member that answers gets the full timeout.
  Duration refused_suspicion_timeout = std::chrono::seconds(1);
  // Lifeguard: the local health score is clamped to [0, awareness_max_multiplier - 1];
  // the probe interval (the whole window for an ack) is multiplied by score + 1.
  int awareness_max_multiplier = 8;

  // Lifeguard's extensions to SWIM: the local health multiplier, suspicion
  // timeouts that start long and shrink with confirmations, the buddy hint
  // and nacks. Off gives plain SWIM with a fixed suspicion timeout (the
  // minimum below), as memberlist behaved before Lifeguard; only the
  // simulator turns it off, to measure what Lifeguard buys.
  bool lifeguard = true;

  // Shares member records (name, ID, address, tags) with other Swims, so
  // the simulator's N nodes keep one copy of each instead of N. Null (the
  // agent): each Swim keeps its own.
  std::shared_ptr<MemberRecordPool> record_pool;

  // --- suspicion (Lifeguard) ---
  // A suspicion starts at suspicion_max_timeout_mult x the minimum and
  // shrinks as suspicion_mult - 2 other members confirm it; the minimum is
  // suspicion_mult x max(1, log10 N) x probe_interval, as in memberlist.
  int suspicion_mult = 4;
  int suspicion_max_timeout_mult = 6;
  // The floor of a suspicion that every expected member has confirmed, as a
  // multiplier like suspicion_mult (never above it). memberlist's floor is
  // suspicion_mult, and so is the default. The simulator can try lower
  // floors (gossip_sim --confirmed-suspicion-mult): 3 detects failures about
  // 25% sooner with no false positives under 5% loss, but declares members
  // that freeze for 6-8 s failed five times as often (docs/BENCHMARKS.md §4).
  int confirmed_suspicion_mult = 4;

  // --- dissemination ---
  int retransmit_mult = 4;
  Duration gossip_interval = std::chrono::milliseconds(200);
  int gossip_nodes = 3;
  // Roster: news from a peer (an alive, suspect or dead this node did not
  // have, from a packet or a push-pull) that finds the broadcast queue empty
  // is relayed eager_gossip_delay later, in an extra gossip round, instead
  // of at the next round: each hop of the epidemic then costs a few
  // milliseconds rather than half a gossip interval on average. The delay
  // gathers news that arrives together into one round. The extra round
  // sends extra copies: the regular rounds still make every retransmission,
  // so nothing is covered less well than without it. A node with news
  // still queued (a join storm, a burst of joins) waits for its rounds as
  // memberlist does, so the extra packets never add to a busy pool's load.
  // At most eager_gossip_rounds such rounds per gossip_interval; 0 gives
  // memberlist's behaviour.
  int eager_gossip_rounds = 3;
  Duration eager_gossip_delay = std::chrono::milliseconds(5);
  Duration gossip_to_the_dead_time = std::chrono::seconds(30);
  size_t max_packet_bytes = 1400;  // UDP datagram budget, envelope and encryption included

  // --- full-state sync ---
  Duration push_pull_interval = std::chrono::seconds(30);  // scaled up for large pools
  // After join() a new node syncs again with a random member at these offsets,
  // so it learns within a second about nodes whose alive broadcast it missed
  // (when many join at once, their alives fill every gossip packet for a
  // while; one push-pull carries them all). The sync at 1 s is for larger
  // bursts, where the members synced with at 0.5 s are still learning too.
  std::vector<Duration> early_push_pull_delays = {std::chrono::milliseconds(500), std::chrono::seconds(1),
                                                 std::chrono::seconds(3), std::chrono::seconds(8)};
  // A ping from a node we don't know (or hold as failed) starts a sync with it,
  // at most once per this interval.
  Duration unknown_peer_sync_interval = std::chrono::seconds(5);
  // Serf's reconnect: every interval, probabilistically one failed member is
  // tried with a push-pull, so healed partitions merge by themselves.
  Duration reconnect_interval = std::chrono::seconds(30);

  // --- tags ---
  // Cap on the encoded size of this node's tags. There is no per-packet cap:
  // tags too large for a datagram travel by push-pull (see swim.h).
  size_t max_tag_bytes = 64 * 1024;
  // After accepting a large tag set by push-pull, sync with this many random
  // members so it spreads over TCP in O(log N) hops.
  int large_tag_relay_fanout = 2;

  // --- user events (Serf's) ---
  // Lamport times of recent events remembered for de-duplication (Serf's
  // EventBuffer); an event older than the clock minus this is dropped.
  size_t event_buffer_size = 512;
  // Serf's UserEventSizeLimit: the name and payload, and then the encoded
  // event (its ID and filters too), may take at most this many bytes. At most
  // kMaxUserEventSizeLimit, and it must leave room in a datagram.
  size_t user_event_size_limit = 512;
  // Consul joins with Serf's ignoreOld: a joiner takes no events older than
  // the pool's event clock from its join push-pull, so a (re)started agent
  // does not replay what the pool fired before it came. Periodic push-pulls
  // still bring events a member missed (a partition).
  bool event_join_ignore = true;

  // --- reaping (Serf: reconnect_timeout and tombstone_timeout) ---
  Duration reap_failed_after = std::chrono::hours(24);
  Duration reap_left_after = std::chrono::hours(24);
  Duration reap_check_interval = std::chrono::seconds(15);
  // Roster: a failed member that was never confirmed (it never answered a
  // probe of ours, direct, indirect or over TCP, nor synced with us over
  // TCP) is forgotten this long after it failed instead of after
  // reap_failed_after. Forged alives name members that never answer; they
  // would otherwise hold table slots for a day. A real
  // member of a pool older than N probe intervals has answered each of us.
  Duration reap_unconfirmed_after = std::chrono::minutes(2);

  // --- bounds on what untrusted peers can make us hold ---
  // Roster: members held at most, this node and failed or left ones
  // included. A new member beyond it is refused (SwimCounters::members_refused),
  // unless it is confirmed (it contacted us over TCP: see swim.h) and an
  // unconfirmed member can make room (SwimCounters::unconfirmed_evicted).
  // 20,000 is twice the largest simulated pool; at ~3 KB per member in the
  // agent that is ~60 MB, against 310 MB for 110,000 forged members. Keep it
  // within wire::DecodeLimits::max_members (100,000), or peers refuse our
  // push-pull states.
  size_t max_members = 20000;
  // Roster: a claim (alive, suspect or dead) whose incarnation is more than
  // this far above the one held for that member (0 for a member not yet
  // known) is refused and counted (SwimCounters::incarnations_refused). A
  // node's incarnation grows by one per refutation, tag or address change
  // and restart, so real jumps are tiny; without a bound one forged
  // 2^64 - 1 would mark a node failed or left for good (nothing refutes it)
  // or pin forged tags on it. 2^32 keeps a refutation from ever overflowing.
  Incarnation max_incarnation_jump = Incarnation{1} << 32;
  // The encoded size a push-pull state may take: Roster's receivers refuse
  // more (wire::DecodeLimits::max_push_pull_bytes, which the transport passes
  // here). A larger table goes out live members first, then failed and left
  // ones, with large tags as stubs (fetched from their owner) when the full
  // tags no longer fit, so a join through a crowded node still succeeds.
  size_t max_push_pull_bytes = 8 * 1024 * 1024;
  // Distinct refused (name, ID) claims remembered so each is reported once;
  // beyond this the memory is cleared, so a flood of forged claims costs
  // bounded memory and a repeat is reported again.
  size_t max_reported_collisions = 1024;
};

}  // namespace roster::gossip
