#include "agent/gossip/swim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "agent/gossip/message_size.h"

namespace roster::gossip {
namespace {

bool is_live(MemberState state) {
  return state == MemberState::alive || state == MemberState::suspect || state == MemberState::leaving;
}

bool is_tags_stub(const TagMap& tags) { return tags.size() == 1 && tags.begin()->first == kTagsOmittedKey; }

// FNV-1a over the tags, stable across builds and platforms: a stub carries
// it so a receiver whose tags already match need not fetch them.
std::string tags_digest(const TagMap& tags) {
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    hash ^= 0xff;  // separator, so ("ab","c") and ("a","bc") differ
    hash *= 1099511628211ull;
  };
  for (const auto& [key, value] : tags) {
    mix(key);
    mix(value);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) out[static_cast<size_t>(i)] = kHex[hash & 0xf];
  return out;
}

TagMap tags_stub(const TagMap& tags) { return TagMap{{kTagsOmittedKey, tags_digest(tags)}}; }

// Room an Alive must leave in a datagram for a probe message beside it.
constexpr size_t kProbeRoom = 256;

// memberlist's pushPullScale: the interval grows with log2(N) above 32 nodes
// so the TCP load per node stays flat.
constexpr double kPushPullScaleThreshold = 32;

// Queued broadcasts per extra multiple of gossip_nodes (about three packets' worth).
constexpr size_t kBacklogPerExtraFanout = 64;

// A member's field header and length prefix in an encoded PushPull, with slack.
constexpr size_t kPushPullMemberOverhead = 8;

// Distinct user events Swim keeps at one Lamport time. Real pools fire a few
// at most; the bound keeps a flood of forged ones from growing a slot.
constexpr size_t kMaxUserEventsPerLamportTime = 64;

// The broadcast queue keeps one message per key; each user event gets its
// own, apart from node names (which never start with '\x02').
std::string user_event_key(const UserEvent& event) {
  return "\x02" + std::to_string(event.ltime) + "\x1f" + event.id + "\x1f" + event.name;
}

Incarnation plus_one(Incarnation incarnation) {
  return incarnation == std::numeric_limits<Incarnation>::max() ? incarnation : incarnation + 1;
}

}  // namespace

const char* member_event_type_name(MemberEventType type) {
  switch (type) {
    case MemberEventType::join: return "join";
    case MemberEventType::update: return "update";
    case MemberEventType::suspect: return "suspect";
    case MemberEventType::failed: return "failed";
    case MemberEventType::left: return "left";
    case MemberEventType::alive_again: return "alive-again";
    case MemberEventType::reaped: return "reaped";
    case MemberEventType::collision: return "collision";
    case MemberEventType::leaving: return "leaving";
  }
  return "unknown";
}

Status Swim::validate(const SwimConfig& config) {
  if (config.name.empty()) return Status::invalid_argument("gossip: node name is empty");
  if (config.id.empty()) return Status::invalid_argument("gossip: node ID is empty");
  if (config.address.empty()) return Status::invalid_argument("gossip: address is empty");
  if (config.probe_interval <= Duration::zero() || config.gossip_interval <= Duration::zero() ||
      config.push_pull_interval <= Duration::zero() || config.reap_check_interval <= Duration::zero() ||
      config.reconnect_interval <= Duration::zero()) {
    return Status::invalid_argument("gossip: intervals must be positive");
  }
  if (config.awareness_max_multiplier < 1) return Status::invalid_argument("gossip: awareness multiplier must be >= 1");
  if (config.eager_gossip_rounds < 0 || config.eager_gossip_delay < Duration::zero()) {
    return Status::invalid_argument("gossip: eager gossip rounds and delay must not be negative");
  }
  if (config.event_buffer_size == 0) return Status::invalid_argument("gossip: the event buffer must hold at least one time");
  if (config.user_event_size_limit > kMaxUserEventSizeLimit) {
    return Status::invalid_argument("gossip: the user event size limit is over " +
                                    std::to_string(kMaxUserEventSizeLimit) + " bytes");
  }
  if (config.max_packet_bytes < kPacketOverheadBytes + kProbeRoom + config.user_event_size_limit) {
    return Status::invalid_argument("gossip: a user event of " + std::to_string(config.user_event_size_limit) +
                                    " bytes would not fit a datagram of " + std::to_string(config.max_packet_bytes) +
                                    " bytes");
  }
  for (const auto& [key, value] : config.tags) {
    if (key.empty()) return Status::invalid_argument("gossip: tag with an empty key");
    if (key[0] == '\x01' && key != kServerTagKey && key != kHttpAddressTagKey) {
      return Status::invalid_argument("gossip: tag key '" + key.substr(1) + "' is reserved");
    }
  }
  if (estimated_size(config.tags) > config.max_tag_bytes) {
    return Status::too_large("gossip: tags take " + std::to_string(estimated_size(config.tags)) +
                             " bytes encoded, over the limit of " + std::to_string(config.max_tag_bytes));
  }
  return Status::ok();
}

Swim::Swim(SwimConfig config)
    : config_(std::move(config)),
      rng_(config_.seed),
      awareness_(config_.lifeguard ? config_.awareness_max_multiplier : 1),
      event_buffer_(config_.event_buffer_size) {
  sequence_ = static_cast<uint32_t>(rng_());
  NodeState& me = insert_node(make_record(config_.name, config_.id, config_.address, config_.tags));
  me.incarnation = config_.initial_incarnation ? plus_one(*config_.initial_incarnation) : 0;
  me.confirmed = true;
  set_state(me, MemberState::alive, TimePoint{});
}

Swim::~Swim() = default;

// ---------------------------------------------------------------- member list

Swim::NodeState& Swim::self() { return nodes_.at(config_.name); }
const Swim::NodeState& Swim::self() const { return nodes_.at(config_.name); }

Swim::NodeState* Swim::find(std::string_view name) {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Swim::NodeState* Swim::find(std::string_view name) const {
  auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::shared_ptr<const MemberRecord> Swim::make_record(const std::string& name, const std::string& id,
                                                      const std::string& address, const TagMap& tags) {
  if (config_.record_pool) return config_.record_pool->intern(name, id, address, tags);
  return std::make_shared<const MemberRecord>(MemberRecord{name, id, address, tags});
}

size_t Swim::random_index(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }

// REQUIRES: no node of that name. The new node is not live until set_state().
Swim::NodeState& Swim::insert_node(std::shared_ptr<const MemberRecord> record) {
  const std::string_view name = record->name;
  NodeState& node = nodes_[name];
  node.record = std::move(record);
  claim_id(node);
  // memberlist inserts at a random offset so a new node is not always probed last.
  order_.push_back(&node);
  size_t last = order_.size() - 1;
  size_t offset = random_index(order_.size());
  std::swap(order_[offset], order_[last]);
  order_[offset]->order_index = static_cast<uint32_t>(offset);
  order_[last]->order_index = static_cast<uint32_t>(last);
  return node;
}

// The ID index's keys view their owner's record, so an entry taken over
// from another node is re-keyed, never just reassigned: the other node's
// record may go first.
void Swim::claim_id(NodeState& node) {
  if (auto it = id_owner_.find(node.id()); it != id_owner_.end()) {
    if (it->second == &node && it->first.data() == node.id().data()) return;
    id_owner_.erase(it);
  }
  id_owner_.emplace(node.id(), &node);
}

void Swim::set_record(NodeState& node, std::shared_ptr<const MemberRecord> record) {
  if (record == node.record) return;
  // The keys view the old record's strings: move them to the new one's
  // before the old record can go. Extracting and reinserting relinks the
  // hash node; the NodeState stays where it is (order_ points at it).
  auto handle = nodes_.extract(node.name());
  if (auto owner = id_owner_.find(node.id()); owner != id_owner_.end() && owner->second == &node) {
    id_owner_.erase(owner);
  }
  handle.mapped().record = std::move(record);
  handle.key() = node.name();
  nodes_.insert(std::move(handle));
  claim_id(node);
}

void Swim::remove_node(const std::string& name) {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  NodeState& node = it->second;
  clear_suspicion(node);
  if (is_live(node.state)) --live_count_;
  size_t index = node.order_index;
  std::swap(order_[index], order_.back());
  order_[index]->order_index = static_cast<uint32_t>(index);
  order_.pop_back();
  if (auto owner = id_owner_.find(node.id()); owner != id_owner_.end() && owner->second == &node) {
    id_owner_.erase(owner);
  }
  nodes_.erase(it);
}

void Swim::set_state(NodeState& node, MemberState state, TimePoint now) {
  if (node.state == state) return;
  if (is_live(node.state) && !is_live(state)) --live_count_;
  if (!is_live(node.state) && is_live(state)) ++live_count_;
  node.state = state;
  node.state_change = now;
}

void Swim::clear_suspicion(NodeState& node) {
  if (node.final_check) {
    node.final_check = false;
    for (auto it = final_checks_.begin(); it != final_checks_.end();) {
      it = it->second == node.name() ? final_checks_.erase(it) : std::next(it);
    }
  }
  if (!node.suspicion) return;
  suspicion_deadlines_.erase({node.suspicion->deadline(), node.name()});
  node.suspicion.reset();
}

// memberlist's kRandomNodes: up to 3n random draws, so small pools are
// searched exhaustively and large ones cheaply.
template <typename Filter>
std::vector<Swim::NodeState*> Swim::random_nodes(size_t k, Filter exclude) {
  std::vector<NodeState*> picked;
  size_t n = order_.size();
  for (size_t i = 0; i < 3 * n && picked.size() < k; ++i) {
    NodeState* node = order_[random_index(n)];
    if (node->name() == config_.name || exclude(*node)) continue;
    if (std::find(picked.begin(), picked.end(), node) != picked.end()) continue;
    picked.push_back(node);
  }
  return picked;
}

// ------------------------------------------------------------------- inputs

void Swim::start(TimePoint now) {
  if (started_) return;
  started_ = true;
  // memberlist staggers its tickers randomly so nodes started together do
  // not probe and gossip in lockstep.
  auto stagger = [&](Duration interval) { return now + Duration(static_cast<int64_t>(rng_() % interval.count())); };
  next_probe_at_ = stagger(config_.probe_interval);
  next_gossip_at_ = stagger(config_.gossip_interval);
  eager_rounds_left_ = config_.eager_gossip_rounds;
  next_push_pull_at_ = stagger(config_.push_pull_interval);
  next_reconnect_at_ = now + config_.reconnect_interval;
  next_reap_at_ = now + config_.reap_check_interval;
}

void Swim::join(TimePoint now, const std::vector<std::string>& addresses) {
  if (halted_ || left_) return;
  for (const std::string& address : addresses) {
    if (address == self().address()) continue;
    pending_joins_.insert(address);
    start_push_pull(address, PushPullReason::join, true);
  }
  for (Duration delay : config_.early_push_pull_delays) early_push_pulls_.push_back(now + delay);
  std::sort(early_push_pulls_.begin(), early_push_pulls_.end());
}

void Swim::on_packet(TimePoint now, const std::string& from_address, const Packet& packet) {
  if (halted_) return;
  const bool was_quiet = broadcasts_.empty();
  for (const Message& message : packet.messages) {
    std::visit(
        [&](const auto& m) {
          using T = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<T, Ping>) handle_ping(now, from_address, m);
          else if constexpr (std::is_same_v<T, IndirectPing>) handle_indirect_ping(now, m);
          else if constexpr (std::is_same_v<T, Ack>) handle_ack(now, m);
          else if constexpr (std::is_same_v<T, Nack>) handle_nack(m);
          else if constexpr (std::is_same_v<T, Alive>) {
            if (m.member.state == MemberState::alive) {
              handle_alive(now, m.member, Source::gossip);
            } else {
              Member member = m.member;  // an alive message is about a live node, whatever it says
              member.state = MemberState::alive;
              handle_alive(now, member, Source::gossip);
            }
          }
          else if constexpr (std::is_same_v<T, Suspect>) handle_suspect(now, m);
          else if constexpr (std::is_same_v<T, Dead>) handle_dead(now, m);
          else if constexpr (std::is_same_v<T, LeaveIntent>) handle_leave_intent(now, m);
          else handle_user_event(m, /*rebroadcast=*/true);
        },
        message);
    if (halted_) return;
  }
  relay_news(now, was_quiet);
}

PushPull Swim::on_push_pull(TimePoint now, const PushPull& remote) {
  PushPull reply = local_state(false);
  if (halted_) return reply;
  ++counters_.push_pulls_served;
  const bool was_quiet = broadcasts_.empty();
  merge_state(now, remote, Source::push_pull);
  relay_news(now, was_quiet);
  return reply;
}

void Swim::on_push_pull_reply(TimePoint now, const std::string& address, const PushPull& reply) {
  if (halted_) return;
  bool was_join = pending_joins_.erase(address) > 0;
  const bool was_quiet = broadcasts_.empty();
  merge_state(now, reply, was_join ? Source::join_reply : Source::push_pull, &address);
  if (halted_) return;
  // A newcomer announces itself (memberlist queues its own alive at
  // start). Queued after the merge, it is the newest news and leaves first,
  // so the pool does not depend on the seed's rounds alone to hear of it.
  if (was_join && !left_) broadcast_alive(self().member());
  relay_news(now, was_quiet);
}

void Swim::on_push_pull_failed(TimePoint /*now*/, const std::string& address) { pending_joins_.erase(address); }

std::optional<Ack> Swim::on_tcp_ping(TimePoint /*now*/, const Ping& ping) {
  if (halted_) return std::nullopt;
  if (!ping.target.empty() && ping.target != config_.name) {
    ++counters_.misdirected_pings;
    return std::nullopt;
  }
  return Ack{ping.sequence, config_.name};
}

void Swim::on_tcp_probe_result(TimePoint now, uint32_t sequence, TcpProbeOutcome outcome) {
  if (halted_) return;
  if (outcome == TcpProbeOutcome::refused && probe_ && probe_->sequence == sequence) probe_->refused = true;
  if (outcome != TcpProbeOutcome::reached) return;
  if (final_checks_.count(sequence)) {
    final_check_answered(now, sequence);
    return;
  }
  if (!probe_ || probe_->sequence != sequence) return;
  if (NodeState* target = find(probe_->target)) target->confirmed = true;
  // memberlist counts a probe answered only over TCP as a success, since the
  // node is up; UDP to it is what is broken, and that is worth no suspicion.
  finish_probe(now, true);
}

void Swim::preload(TimePoint now, const std::vector<Member>& members) {
  nodes_.reserve(nodes_.size() + members.size());
  id_owner_.reserve(id_owner_.size() + members.size());
  order_.reserve(order_.size() + members.size());
  for (const Member& member : members) {
    if (member.name.empty() || member.id.empty() || member.address.empty() || find(member.name) != nullptr ||
        id_owner_.count(member.id) > 0) {
      continue;
    }
    if (nodes_.size() >= config_.max_members) {
      ++counters_.members_refused;
      continue;
    }
    NodeState& node = insert_node(make_record(member.name, member.id, member.address, member.tags));
    node.incarnation = member.incarnation;
    set_state(node, MemberState::alive, now);
    emit(MemberEventType::join, node.member());
  }
}

void Swim::leave(TimePoint now) {
  if (left_ || halted_) return;
  left_ = true;
  probe_.reset();
  NodeState& me = self();
  Dead dead{me.name(), me.incarnation, me.name()};
  handle_dead(now, dead);
}

bool Swim::leave_propagated() const {
  if (!left_) return false;
  // Alone, there is nobody to tell.
  return live_count_ == 0 || !broadcasts_.contains(config_.name);
}

Status Swim::set_tags(TimePoint now, TagMap tags) {
  if (left_ || halted_) return Status::unavailable("gossip: this node has left the pool");
  SwimConfig candidate = config_;
  candidate.tags = tags;
  if (Status status = validate(candidate); !status.is_ok()) return status;
  config_.tags = tags;
  NodeState& me = self();
  set_record(me, make_record(me.name(), me.id(), me.address(), tags));
  ++me.incarnation;
  broadcast_alive(me.member());
  // Tags too large for a datagram leave only as a stub; push them out at once.
  if (estimated_size(Alive{me.member()}) + kProbeRoom > datagram_budget()) {
    for (int i = 0; i < config_.large_tag_relay_fanout; ++i) push_pull_with_random_peer(PushPullReason::relay);
  }
  // News of our own leaves now rather than at the next gossip round (up to
  // gossip_interval later), to twice the usual fanout: nobody else has it
  // yet, so this first round is where the epidemic is slowest. The rounds
  // keep their schedule.
  if (started_) gossip(now, 2);
  return Status::ok();
}

Status Swim::set_address(TimePoint /*now*/, std::string address) {
  if (left_ || halted_) return Status::unavailable("gossip: this node has left the pool");
  if (address.empty()) return Status::invalid_argument("gossip: address is empty");
  if (address == config_.address) return Status::ok();
  config_.address = address;
  NodeState& me = self();
  set_record(me, make_record(me.name(), me.id(), address, me.tags()));
  ++me.incarnation;
  broadcast_alive(me.member());
  return Status::ok();
}

Status Swim::force_leave(TimePoint now, const std::string& name) {
  if (halted_) return Status::unavailable("gossip: this node has stopped (a name or ID collision)");
  if (name == config_.name) return Status::invalid_argument("gossip: cannot force-leave this node itself; leave instead");
  const NodeState* node = find(name);
  if (node == nullptr) return Status::not_found("no member named \"" + name + "\" in the gossip pool");
  const bool was_quiet = broadcasts_.empty();
  handle_leave_intent(now, LeaveIntent{name, node->incarnation, config_.name});
  relay_news(now, was_quiet);
  return Status::ok();
}

Result<LamportTime> Swim::fire_user_event(TimePoint now, UserEvent event) {
  if (left_ || halted_) return Status::unavailable("gossip: this node has left the pool");
  if (event.name.empty()) return Status::invalid_argument("user event has no name");
  const size_t limit = config_.user_event_size_limit;
  // Serf checks twice: the name and payload before encoding, then the message.
  if (event.name.size() + event.payload.size() > limit) {
    return Status::too_large("user event exceeds the limit of " + std::to_string(limit) +
                             " bytes before encoding: its name and payload take " +
                             std::to_string(event.name.size() + event.payload.size()));
  }
  event.ltime = event_clock_;
  if (const size_t encoded = estimated_size(Message{event}); encoded > limit) {
    return Status::too_large("user event exceeds the limit of " + std::to_string(limit) +
                             " bytes after encoding: with its ID and filters it takes " + std::to_string(encoded));
  }
  ++event_clock_;
  handle_user_event(event, /*rebroadcast=*/true);
  // Our own news leaves now, as set_tags() does.
  if (started_) gossip(now, 2);
  return event.ltime;
}

// ------------------------------------------------------------------ probes

void Swim::handle_ping(TimePoint now, const std::string& from_address, const Ping& ping) {
  if (!ping.target.empty() && ping.target != config_.name) {
    ++counters_.misdirected_pings;
    return;
  }
  const std::string& reply_to = ping.source_address.empty() ? from_address : ping.source_address;
  send(reply_to, {Ack{ping.sequence, config_.name}});
  // A node that probes us but is unknown to us (or that we hold as failed)
  // is up and reachable: sync with it instead of waiting for gossip or the
  // next periodic push-pull. This closes the join tail and heals partitions.
  if (ping.source.empty() || ping.source == config_.name || ping.source_address.empty() || left_) return;
  auto it = nodes_.find(ping.source);
  bool unknown = it == nodes_.end() || !is_live(it->second.state);
  if (unknown && now >= next_unknown_sync_at_) {
    next_unknown_sync_at_ = now + config_.unknown_peer_sync_interval;
    start_push_pull(ping.source_address, PushPullReason::unknown_peer, false);
  }
}

void Swim::handle_indirect_ping(TimePoint now, const IndirectPing& request) {
  if (request.target == config_.name || request.target_address.empty() || request.source_address.empty()) return;
  uint32_t sequence = next_sequence();
  relays_[sequence] = Relay{request.sequence, request.source_address, now + config_.probe_timeout, request.want_nack};
  send(request.target_address, {Ping{sequence, request.target, config_.name, self().address()}});
}

void Swim::handle_ack(TimePoint now, const Ack& ack) {
  if (auto relay = relays_.find(ack.sequence); relay != relays_.end()) {
    send(relay->second.source_address, {Ack{relay->second.original_sequence, config_.name}});
    relays_.erase(relay);
    return;
  }
  if (probe_ && probe_->sequence == ack.sequence) {
    ++counters_.acks_received;
    if (NodeState* target = find(probe_->target)) target->confirmed = true;
    finish_probe(now, true);
    return;
  }
  if (final_checks_.count(ack.sequence)) final_check_answered(now, ack.sequence);
}

void Swim::handle_nack(const Nack& nack) {
  if (probe_ && probe_->sequence == nack.sequence) {
    ++counters_.nacks_received;
    ++probe_->nacks;
  }
}

void Swim::start_probe(TimePoint now) {
  Duration interval = awareness_.scale(config_.probe_interval);
  next_probe_at_ = now + interval;
  if (left_) return;
  // memberlist's probe(): round-robin over the list, reshuffled at each wrap;
  // this node and failed/left members are skipped.
  NodeState* target = nullptr;
  for (size_t checked = 0; checked <= order_.size() && target == nullptr; ++checked) {
    if (probe_index_ >= order_.size()) {
      for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[random_index(i)]);
      for (size_t i = 0; i < order_.size(); ++i) order_[i]->order_index = i;
      probe_index_ = 0;
      if (order_.empty()) break;
    }
    NodeState* candidate = order_[probe_index_++];
    if (candidate->name() != config_.name && is_live(candidate->state)) target = candidate;
  }
  if (target == nullptr) return;
  ++counters_.probes;
  PendingProbe probe;
  probe.sequence = next_sequence();
  probe.target = target->name();
  probe.incarnation = target->incarnation;
  probe.indirect_at = now + config_.probe_timeout;
  probe.deadline = now + interval;
  // The buddy system: tell a node we suspect that it is suspected, so it can
  // refute before the suspicion times out. The suspicion goes first so the
  // refutation is already queued when the ack, which carries broadcasts, leaves.
  std::vector<Message> messages;
  if (config_.lifeguard && target->state == MemberState::suspect) {
    messages.push_back(Suspect{target->name(), target->incarnation, config_.name});
  }
  messages.push_back(Ping{probe.sequence, target->name(), config_.name, self().address()});
  probe_ = probe;
  send(target->address(), std::move(messages));
}

void Swim::send_indirect_probes(TimePoint /*now*/) {
  PendingProbe& probe = *probe_;
  probe.indirect_sent = true;
  auto it = nodes_.find(probe.target);
  if (it == nodes_.end()) return;
  const NodeState& target = it->second;
  // Only alive peers are asked: a suspect one is likely the problem itself.
  auto peers = random_nodes(static_cast<size_t>(std::max(0, config_.indirect_checks)), [&](const NodeState& node) {
    return node.name() == target.name() || node.state != MemberState::alive;
  });
  for (NodeState* peer : peers) {
    ++counters_.indirect_probes;
    send(peer->address(),
         {IndirectPing{probe.sequence, target.name(), target.address(), config_.name, self().address(),
                       /*want_nack=*/config_.lifeguard}});
  }
  probe.expected_nacks = static_cast<int>(peers.size());
  if (config_.tcp_fallback_probe) {
    ++counters_.tcp_probes;
    output_.tcp_probes.push_back(TcpProbeRequest{
        target.address(), Ping{probe.sequence, target.name(), config_.name, self().address()}, probe.deadline});
  }
}

void Swim::finish_probe(TimePoint now, bool acked) {
  PendingProbe probe = std::move(*probe_);
  probe_.reset();
  if (acked) {
    awareness_.apply_delta(-1);
    return;
  }
  // Lifeguard: peers that did not even nack suggest that we are the slow
  // one. Without peers to ask, any failed probe counts against us.
  int delta = probe.expected_nacks > 0 ? std::max(0, probe.expected_nacks - probe.nacks) : 1;
  awareness_.apply_delta(delta);
  auto it = nodes_.find(probe.target);
  if (it == nodes_.end() || !is_live(it->second.state)) return;
  ++counters_.probe_failures;
  // As memberlist: the suspicion names the incarnation that was probed. If
  // the target refuted or moved (a restart on a new port) meanwhile, the
  // failed probe went to a life that is over and the suspicion is void.
  handle_suspect(now, Suspect{probe.target, probe.incarnation, config_.name});
  if (probe.refused && it->second.state == MemberState::suspect && it->second.suspicion &&
      it->second.incarnation == probe.incarnation) {
    // Nothing listens where the member should be: no need to wait for the
    // Lifeguard minimum, only for a refutation already on its way. Not
    // scaled by our health: a slow prober cannot cause a refusal.
    NodeState& node = it->second;
    const TimePoint before = node.suspicion->deadline();
    node.suspicion->process_gone(now + config_.refused_suspicion_timeout);
    suspicion_deadlines_.erase({before, node.name()});
    suspicion_deadlines_.insert({node.suspicion->deadline(), node.name()});
  }
  // The suspicion leaves at once, so the suspect can refute (and other
  // members can confirm) up to a gossip round sooner.
  gossip(now);
}

// -------------------------------------------------------------- broadcasts

void Swim::handle_alive(TimePoint now, const Member& incoming, Source source, bool contacted) {
  if (incoming.name.empty() || incoming.id.empty() || incoming.address.empty()) return;
  if (incoming.name == config_.name) {
    handle_alive_about_self(now, incoming, source);
    return;
  }
  if (refuse_collision(incoming, source)) return;
  const bool stub = is_tags_stub(incoming.tags);
  auto it = nodes_.find(incoming.name);
  bool reclaim = false;  // a failed/left name taken over (new ID or address): incarnations don't compare
  if (it != nodes_.end()) {
    NodeState& known = it->second;
    if (known.id() != incoming.id || (known.address() != incoming.address && !is_live(known.state))) {
      reclaim = !is_live(known.state);
    }
    if (!reclaim) {
      if (incoming.incarnation < known.incarnation) return;
      if (refuse_incarnation(incoming.name, "alive", known.incarnation, incoming.incarnation)) return;
      if (incoming.incarnation == known.incarnation) {
        // The same news, unless it brings the tags a stub told us we lack.
        if (!stub && known.tags_stale && is_live(known.state)) {
          known.tags_stale = false;
          set_record(known, make_record(known.name(), known.id(), known.address(), incoming.tags));
          emit(MemberEventType::update, known.member());
        }
        return;
      }
    }
  }
  const bool is_new = it == nodes_.end();
  // A new name or a reclaimed one has no incarnation to compare with: a real
  // member's own count is still small.
  if ((is_new || reclaim) && refuse_incarnation(incoming.name, "alive", 0, incoming.incarnation)) return;
  if (is_new && nodes_.size() >= config_.max_members && !(contacted && evict_unconfirmed(incoming))) {
    // Counted always, logged at 1, 2, 4, 8... so a flood costs a few lines.
    if (const uint64_t refused = ++counters_.members_refused; (refused & (refused - 1)) == 0) {
      warn("member-cap", "refused new member " + incoming.name + " at " + incoming.address + ": the table holds " +
                             std::to_string(nodes_.size()) + " members, the limit (max_members); " +
                             std::to_string(refused) + " refused so far");
    }
    return;
  }
  const NodeState* existing = is_new ? nullptr : &it->second;
  const MemberState old_state = is_new ? MemberState::dead : existing->state;
  // A stub whose digest matches the tags we hold changes nothing about them
  // (a refutation by a node with large tags, say).
  const bool stub_matches = stub && !is_new && !reclaim && !existing->tags_stale &&
                            incoming.tags.begin()->second == tags_digest(existing->tags());
  const bool tags_changed = !stub && (is_new || existing->tags() != incoming.tags);
  const bool address_changed = !is_new && existing->address() != incoming.address;
  const bool relay_large_tags = !is_new && !stub && tags_changed &&
                                estimated_size(Alive{incoming}) + kProbeRoom > datagram_budget();
  // A stub keeps the tags we hold (stale unless its digest matches); a new
  // or reclaimed name has none until they are fetched.
  static const TagMap kNoTags;
  const TagMap& tags = !stub ? incoming.tags : (is_new || reclaim) ? kNoTags : existing->tags();
  std::shared_ptr<const MemberRecord> record =
      !is_new && existing->id() == incoming.id && existing->address() == incoming.address && existing->tags() == tags
          ? existing->record
          : make_record(incoming.name, incoming.id, incoming.address, tags);

  const bool new_life = !is_new && existing->id() != incoming.id;
  const bool was_leaving = !is_new && existing->leave_intent;
  NodeState& node = is_new ? insert_node(std::move(record)) : it->second;
  // Evidence about a previous holder of the name says nothing of this one.
  if (new_life) node.confirmed = false;
  clear_suspicion(node);
  node.leave_intent = false;  // a newer alive refutes a leave intent
  if (!is_new) set_record(node, std::move(record));
  claim_id(node);
  node.incarnation = incoming.incarnation;
  if (!stub) {
    node.tags_stale = false;
  } else if (!stub_matches) {
    node.tags_stale = true;
    // Fetch the tags from their owner unless a relay brings them first.
    Duration spread = config_.probe_interval * 3;
    tag_fetches_.insert({now + config_.probe_interval + Duration(static_cast<int64_t>(rng_() % spread.count())),
                         node.name()});
  }
  set_state(node, MemberState::alive, now);
  broadcast_alive(incoming);

  if (is_new || old_state == MemberState::dead || old_state == MemberState::left) {
    emit(MemberEventType::join, node.member());
  } else {
    if (old_state == MemberState::suspect || was_leaving) emit(MemberEventType::alive_again, node.member());
    if (tags_changed || address_changed) emit(MemberEventType::update, node.member());
  }
  if (relay_large_tags) {
    for (int i = 0; i < config_.large_tag_relay_fanout; ++i) push_pull_with_random_peer(PushPullReason::relay);
  }
}

void Swim::handle_alive_about_self(TimePoint now, const Member& incoming, Source source) {
  if (left_) return;  // a stale alive must not undo our leave
  if (incoming.id != config_.id) {
    refuse_collision(incoming, source);
    return;
  }
  const NodeState& me = self();
  if (incoming.incarnation < me.incarnation) return;
  if (refuse_incarnation(incoming.name, "alive", me.incarnation, incoming.incarnation)) return;
  if (incoming.incarnation == me.incarnation && incoming.address == me.address() &&
      (is_tags_stub(incoming.tags) || incoming.tags == me.tags())) {
    return;
  }
  // Peers hold an older (or a previous life's) view of us at an incarnation
  // we cannot beat by staying quiet: say who we are now.
  refute(now, incoming.incarnation);
}

// Refuses a claimant whose name or ID a different live member holds. On a
// join reply, a claim against this node's own name or ID means we are the
// newcomer: we halt.
bool Swim::refuse_collision(const Member& claimant, Source source) {
  std::string detail;
  const NodeState* holder = nullptr;
  bool about_us = false;
  if (claimant.name == config_.name && claimant.id != config_.id) {
    holder = &self();
    about_us = true;
  } else if (claimant.id == config_.id && claimant.name != config_.name) {
    holder = &self();
    about_us = true;
  } else {
    const NodeState* by_name = find(claimant.name);
    if (by_name != nullptr && by_name->id() != claimant.id && is_live(by_name->state)) {
      holder = by_name;
    } else if (auto owner = id_owner_.find(claimant.id);
               owner != id_owner_.end() && owner->second->name() != claimant.name) {
      if (is_live(owner->second->state)) holder = owner->second;
    }
  }
  if (holder == nullptr) return false;
  if (!is_live(claimant.state)) return true;  // an old claim; nothing to report
  ++counters_.collisions;
  if (about_us && source == Source::join_reply) {
    // The pool already knows `claimant`; we are the clone.
    if (claimant.name == config_.name) {
      detail = "node name " + claimant.name + " is already in use by ID " + claimant.id + " at " + claimant.address;
    } else {
      detail = "node ID " + claimant.id + " is already in use by node " + claimant.name + " at " + claimant.address;
    }
    halted_ = true;
    halt_reason_ = detail;
    probe_.reset();
    broadcasts_.clear();
    emit(MemberEventType::collision, claimant, detail);
    return true;
  }
  if (reported_collisions_.count({claimant.name, claimant.id}) > 0) return true;
  if (reported_collisions_.size() >= config_.max_reported_collisions) reported_collisions_.clear();
  reported_collisions_.insert({claimant.name, claimant.id});
  if (claimant.name == holder->name()) {
    detail = "node name " + claimant.name + " is already in use by ID " + holder->id() + " at " + holder->address() +
             "; refused ID " + claimant.id + " at " + claimant.address;
  } else {
    detail = "node ID " + claimant.id + " is already in use by node " + holder->name() + " at " + holder->address() +
             "; refused node " + claimant.name + " at " + claimant.address;
  }
  emit(MemberEventType::collision, claimant, detail);
  return true;
}

bool Swim::refuse_incarnation(const std::string& name, const char* what, Incarnation known, Incarnation claimed) {
  if (claimed <= known || claimed - known <= config_.max_incarnation_jump) return false;
  // Counted always, logged at 1, 2, 4, 8... so a flood costs a few lines.
  const uint64_t refused = ++counters_.incarnations_refused;
  if ((refused & (refused - 1)) == 0) {
    warn("incarnation", "refused " + std::string(what) + " about node " + name + " at incarnation " +
                            std::to_string(claimed) + ": over " + std::to_string(config_.max_incarnation_jump) +
                            " ahead of the known " + std::to_string(known) + " (forged?); " +
                            std::to_string(refused) + " refused so far");
  }
  return true;
}

void Swim::refute(TimePoint /*now*/, Incarnation accused, bool slow) {
  NodeState& me = self();
  // Saturating: claims beyond max_incarnation_jump are refused before they
  // get here, so this only guards the arithmetic.
  me.incarnation = std::max(plus_one(me.incarnation), plus_one(accused));
  // Lifeguard: having to refute hints that we are slow to answer.
  if (slow) awareness_.apply_delta(1);
  ++counters_.refutations;
  broadcast_alive(me.member());
}

void Swim::handle_suspect(TimePoint now, const Suspect& suspect) {
  auto it = nodes_.find(suspect.name);
  if (it == nodes_.end()) return;
  NodeState& node = it->second;
  if (refuse_incarnation(suspect.name, "suspect", node.incarnation, suspect.incarnation)) return;
  if (suspect.incarnation < node.incarnation) {
    // Someone still suspects a life we have refuted: they missed the
    // refutation, so announce ourselves again (no new incarnation needed).
    if (suspect.name == config_.name && !left_) broadcast_alive(node.member());
    return;
  }
  if (node.suspicion) {
    // A confirmation from a new peer shortens the timeout; re-gossip it so
    // other suspecters hear it too.
    TimePoint before = node.suspicion->deadline();
    if (node.suspicion->confirm(suspect.from)) {
      suspicion_deadlines_.erase({before, node.name()});
      suspicion_deadlines_.insert({node.suspicion->deadline(), node.name()});
      broadcast(suspect.name, suspect);
    }
    return;
  }
  if (node.state != MemberState::alive) return;
  if (suspect.name == config_.name) {
    refute(now, suspect.incarnation);
    return;
  }
  broadcast(suspect.name, suspect);
  node.incarnation = suspect.incarnation;
  set_state(node, MemberState::suspect, now);
  const int expected = expected_confirmations();
  const auto [min, max] = suspicion_bounds(expected);
  node.suspicion = std::make_unique<Suspicion>(suspect.from, expected, min, max, now);
  suspicion_deadlines_.insert({node.suspicion->deadline(), node.name()});
  emit(MemberEventType::suspect, node.member(), "suspected by " + suspect.from);
}

void Swim::suspicion_timed_out(TimePoint now, NodeState& node) {
  Suspicion& suspicion = *node.suspicion;
  // Nobody confirmed although confirmations were expected: in a large pool a
  // failed node is suspected by several probers, so this looks more like our
  // having missed the refutation. Probe once more, with the suspicion first.
  // Roster: a suspicion cut short by a refused TCP probe is checked too,
  // whatever the pool size. A firewall that resets the gossip TCP port of a
  // live member refuses like a dead agent, and refused_suspicion_timeout is
  // too short for its refutation to spread (the simulator, 200 nodes, 5%
  // loss, TCP always refused: false failures; docs/BENCHMARKS.md). With no
  // TCP to fall back on, that check also goes through indirect_checks peers,
  // and waits only probe_timeout: an unconfirmed killed agent costs half a
  // second more (a confirmed one, the usual case in a pool, nothing).
  const bool gone = suspicion.is_process_gone();
  if (!node.final_check && !left_ && suspicion.confirmations() == 0 && (gone || expected_confirmations() > 0)) {
    node.final_check = true;
    uint32_t sequence = next_sequence();
    final_checks_[sequence] = node.name();
    TimePoint deadline = now + (gone ? config_.probe_timeout : awareness_.scale(config_.probe_interval));
    suspicion.set_deadline(deadline);
    suspicion_deadlines_.insert({deadline, node.name()});
    send(node.address(), {Suspect{node.name(), node.incarnation, config_.name},
                               Ping{sequence, node.name(), config_.name, self().address()}});
    if (gone) {
      auto peers = random_nodes(static_cast<size_t>(std::max(0, config_.indirect_checks)), [&](const NodeState& peer) {
        return peer.name() == node.name() || peer.state != MemberState::alive;
      });
      for (NodeState* peer : peers) {
        ++counters_.indirect_probes;
        send(peer->address(), {IndirectPing{sequence, node.name(), node.address(), config_.name, self().address(),
                                            /*want_nack=*/false}});
      }
      return;
    }
    if (config_.tcp_fallback_probe) {
      output_.tcp_probes.push_back(TcpProbeRequest{
          node.address(), Ping{sequence, node.name(), config_.name, self().address()}, deadline});
    }
    return;
  }
  clear_suspicion(node);
  handle_dead(now, Dead{node.name(), node.incarnation, config_.name});
  // Our own verdict leaves at once, to twice the usual fanout: peers whose
  // timers run later hear it now, and one that misses every copy of it
  // waits for its own timer (seconds longer), so the first round counts.
  gossip(now, 2);
}

// The suspect answered the final check: it is up. Its refutation normally
// rides on the answer; if not, the suspicion starts over and the next
// timeout checks again.
void Swim::final_check_answered(TimePoint now, uint32_t sequence) {
  std::string name = final_checks_.at(sequence);
  auto it = nodes_.find(name);
  if (it == nodes_.end() || it->second.state != MemberState::suspect || !it->second.final_check) return;
  NodeState& node = it->second;
  node.confirmed = true;
  clear_suspicion(node);
  const int expected = expected_confirmations();
  const auto [min, max] = suspicion_bounds(expected);
  node.suspicion = std::make_unique<Suspicion>(config_.name, expected, min, max, now);
  suspicion_deadlines_.insert({node.suspicion->deadline(), name});
}

void Swim::handle_dead(TimePoint now, const Dead& dead) {
  auto it = nodes_.find(dead.name);
  if (it == nodes_.end()) return;
  NodeState& node = it->second;
  if (refuse_incarnation(dead.name, dead.from == dead.name ? "leave" : "dead", node.incarnation, dead.incarnation)) {
    return;
  }
  if (dead.incarnation < node.incarnation) {
    if (dead.name == config_.name && !left_) broadcast_alive(node.member());
    return;
  }
  clear_suspicion(node);
  // Serf: a member asked to leave that then fails has left.
  const bool graceful = dead.from == dead.name || node.leave_intent;
  node.leave_intent = false;
  // Roster lets a late "left" replace "failed" (memberlist ignores it), so a
  // node that left while we could not reach it is not reconnected to for a day.
  if (node.state == MemberState::left) return;
  if (node.state == MemberState::dead && !graceful) return;
  if (dead.name == config_.name && !left_) {
    refute(now, dead.incarnation);
    return;
  }
  broadcast(dead.name, dead);
  node.incarnation = dead.incarnation;
  set_state(node, graceful ? MemberState::left : MemberState::dead, now);
  if (dead.name == config_.name) return;
  if (graceful) {
    emit(MemberEventType::left, node.member());
  } else {
    emit(MemberEventType::failed, node.member(), "declared failed by " + dead.from);
  }
}

void Swim::handle_leave_intent(TimePoint now, const LeaveIntent& intent) {
  NodeState* node = find(intent.name);
  if (node == nullptr) return;
  if (refuse_incarnation(intent.name, "leave intent", node->incarnation, intent.incarnation)) return;
  if (intent.name == config_.name) {
    if (left_) return;  // leaving anyway
    // Serf refutes a leave intent about a live node: someone else cannot
    // make us leave. An old intent gets our current alive again.
    if (intent.incarnation < node->incarnation) {
      broadcast_alive(node->member());
    } else {
      refute(now, intent.incarnation, /*slow=*/false);
    }
    return;
  }
  if (intent.incarnation < node->incarnation) return;
  if (node->state == MemberState::left) return;
  if (node->state == MemberState::dead) {
    // Serf: a failed member asked to leave has left.
    handle_dead(now, Dead{intent.name, node->incarnation, intent.name});
    return;
  }
  if (node->leave_intent && intent.incarnation == node->incarnation) return;  // heard already
  node->leave_intent = true;
  node->incarnation = intent.incarnation;
  broadcast(intent.name, intent);
  emit(MemberEventType::leaving, node->member(), "asked to leave by " + intent.from);
}

bool Swim::witness_event_time(LamportTime time) {
  if (time > event_clock_ && time - event_clock_ > config_.max_incarnation_jump) {
    if (const uint64_t refused = ++counters_.user_events_refused; (refused & (refused - 1)) == 0) {
      warn("event-time", "refused a user event time of " + std::to_string(time) + ": over " +
                             std::to_string(config_.max_incarnation_jump) + " ahead of the event clock " +
                             std::to_string(event_clock_) + " (forged?); " + std::to_string(refused) +
                             " refused so far");
    }
    return false;
  }
  if (time >= event_clock_) event_clock_ = plus_one(time);
  return true;
}

bool Swim::handle_user_event(const UserEvent& event, bool rebroadcast) {
  if (event.name.empty() || !witness_event_time(event.ltime)) return false;
  const LamportTime window = event_buffer_.size();
  if (event.ltime < event_min_time_ || (event_clock_ > window && event.ltime < event_clock_ - window)) {
    ++counters_.user_events_too_old;
    return false;
  }
  EventSlot& slot = event_buffer_[event.ltime % window];
  if (slot.ltime != event.ltime) {
    slot.ltime = event.ltime;
    slot.events.clear();
  }
  if (std::find(slot.events.begin(), slot.events.end(), event) != slot.events.end()) return false;
  if (slot.events.size() >= kMaxUserEventsPerLamportTime) {
    ++counters_.user_events_refused;
    return false;
  }
  slot.events.push_back(event);
  ++counters_.user_events;
  output_.user_events.push_back(event);
  if (rebroadcast) broadcast(user_event_key(event), event);
  return true;
}

void Swim::merge_state(TimePoint now, const PushPull& remote, Source source, const std::string* dialed) {
  // Serf witnesses the sender's event clock first; a joiner that ignores
  // old events takes none from before it.
  if (remote.event_ltime > 0) witness_event_time(remote.event_ltime - 1);
  if (source == Source::join_reply && config_.event_join_ignore) {
    event_min_time_ = std::max(event_min_time_, remote.event_ltime);
  }
  // The sender spoke to us over TCP: it is real, and is merged before the
  // members it lists can fill the table. It is the member at the address we
  // dialed, or else the first (local_state() puts the sender first).
  size_t sender = 0;
  if (dialed != nullptr) {
    for (size_t i = 0; i < remote.members.size(); ++i) {
      if (remote.members[i].address == *dialed && remote.members[i].state == MemberState::alive) {
        sender = i;
        break;
      }
    }
  }
  for (size_t i = 0; i < remote.members.size(); ++i) {
    // The sender, then the others in their order.
    const size_t index = i == 0 ? sender : i <= sender ? i - 1 : i;
    const Member& member = remote.members[index];
    const bool contacted = index == sender && member.state == MemberState::alive;
    if (member.name.empty() || member.id.empty()) continue;
    if (refuse_collision(member, source)) {
      if (halted_) return;
      continue;
    }
    if (member.state == MemberState::alive) {
      handle_alive(now, member, source, contacted);
      if (halted_) return;
      if (NodeState* node = contacted ? find(member.name) : nullptr; node != nullptr && node->id() == member.id) {
        node->confirmed = true;
      }
      continue;
    }
    // State about a node we know under another ID is about someone else.
    auto known = nodes_.find(member.name);
    if (known == nodes_.end() || known->second.id() != member.id) continue;
    if (member.state == MemberState::left) {
      handle_dead(now, Dead{member.name, member.incarnation, member.name});
    } else {
      // memberlist: a remote "dead" only makes us suspect, so we check for
      // ourselves before declaring anyone failed.
      handle_suspect(now, Suspect{member.name, member.incarnation, config_.name});
    }
  }
  // Serf delivers the events of a push-pull without gossiping them again.
  for (const UserEvent& event : remote.events) handle_user_event(event, /*rebroadcast=*/false);
}

// Which unconfirmed member goes is drawn at random (from the seeded
// generator): a forger cannot steer the choice, and a few draws find one in
// a table that a flood filled. Only when unconfirmed members are scarce
// does it take a scan.
bool Swim::evict_unconfirmed(const Member& newcomer) {
  constexpr int kRandomDraws = 16;
  NodeState* victim = nullptr;
  for (int i = 0; i < kRandomDraws && victim == nullptr && !order_.empty(); ++i) {
    NodeState* candidate = order_[random_index(order_.size())];
    if (!candidate->confirmed) victim = candidate;
  }
  for (size_t i = 0; i < order_.size() && victim == nullptr; ++i) {
    if (!order_[i]->confirmed) victim = order_[i];
  }
  if (victim == nullptr) return false;
  const Member evicted = victim->member();
  if (const uint64_t count = ++counters_.unconfirmed_evicted; (count & (count - 1)) == 0) {
    warn("member-cap", "the table is full (max_members " + std::to_string(config_.max_members) + "): forgot " +
                           evicted.name + " at " + evicted.address + ", which never answered us, to admit " +
                           newcomer.name + " at " + newcomer.address + ", which contacted us; " +
                           std::to_string(count) + " evicted so far");
  }
  emit(MemberEventType::reaped, evicted);
  remove_node(evicted.name);
  return true;
}

// memberlist: expect suspicion_mult - 2 confirmations, so the nominal
// timeout is reached two probe intervals early; none if the pool is too small
// to provide them (N minus us and the suspect).
std::pair<Duration, Duration> Swim::suspicion_bounds(int expected_confirmations) const {
  const Duration base = suspicion_min_timeout(config_.suspicion_mult, live_count_, config_.probe_interval);
  const Duration max = config_.suspicion_max_timeout_mult * base;
  Duration min = base;
  if (expected_confirmations > 0) {
    min = std::min(base, suspicion_min_timeout(config_.confirmed_suspicion_mult, live_count_, config_.probe_interval));
  }
  return {min, max};
}

int Swim::expected_confirmations() const {
  if (!config_.lifeguard) return 0;  // a fixed timeout: the minimum
  int expected = config_.suspicion_mult - 2;
  if (static_cast<int>(live_count_) - 2 < expected) expected = 0;
  return expected;
}

// ------------------------------------------------------------------ timers

void Swim::tick(TimePoint now) {
  if (!started_ || halted_) return;
  for (auto it = relays_.begin(); it != relays_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    if (it->second.want_nack) send(it->second.source_address, {Nack{it->second.original_sequence, config_.name}});
    it = relays_.erase(it);
  }
  if (probe_ && !probe_->indirect_sent && now >= probe_->indirect_at) send_indirect_probes(now);
  if (probe_ && now >= probe_->deadline) finish_probe(now, false);
  while (!suspicion_deadlines_.empty() && suspicion_deadlines_.begin()->first <= now) {
    std::string name = suspicion_deadlines_.begin()->second;
    suspicion_deadlines_.erase(suspicion_deadlines_.begin());
    auto it = nodes_.find(name);
    if (it == nodes_.end() || it->second.state != MemberState::suspect || !it->second.suspicion) continue;
    suspicion_timed_out(now, it->second);
  }
  if (now >= next_probe_at_ && !probe_) start_probe(now);
  if (now >= eager_gossip_at_) {
    eager_gossip_at_ = TimePoint::max();
    if (eager_rounds_left_ > 0) {
      --eager_rounds_left_;
      gossip(now, 1, Copies::extra);
    }
  }
  if (now >= next_gossip_at_) {
    eager_rounds_left_ = config_.eager_gossip_rounds;
    gossip(now);
    next_gossip_at_ += config_.gossip_interval;
    if (next_gossip_at_ <= now) next_gossip_at_ = now + config_.gossip_interval;
  }
  if (now >= next_push_pull_at_) {
    if (!left_) push_pull_with_random_peer(PushPullReason::periodic);
    next_push_pull_at_ = now + push_pull_period();
  }
  while (!early_push_pulls_.empty() && early_push_pulls_.front() <= now) {
    early_push_pulls_.erase(early_push_pulls_.begin());
    if (!left_) push_pull_with_random_peer(PushPullReason::early);
  }
  while (!tag_fetches_.empty() && tag_fetches_.begin()->first <= now) {
    std::string name = tag_fetches_.begin()->second;
    tag_fetches_.erase(tag_fetches_.begin());
    auto it = nodes_.find(name);
    if (it != nodes_.end() && it->second.tags_stale && is_live(it->second.state) && !left_) {
      start_push_pull(it->second.address(), PushPullReason::tag_fetch, false);
    }
  }
  if (now >= next_reconnect_at_) {
    if (!left_) reconnect();
    next_reconnect_at_ = now + config_.reconnect_interval;
  }
  if (now >= next_reap_at_) {
    reap(now);
    next_reap_at_ = now + config_.reap_check_interval;
  }
}

TimePoint Swim::next_deadline() const {
  if (!started_ || halted_) return TimePoint::max();
  TimePoint next = std::min(
      {next_probe_at_, next_gossip_at_, eager_gossip_at_, next_push_pull_at_, next_reconnect_at_, next_reap_at_});
  for (const auto& [sequence, relay] : relays_) next = std::min(next, relay.deadline);
  if (probe_) next = std::min(next, probe_->indirect_sent ? probe_->deadline : probe_->indirect_at);
  if (!suspicion_deadlines_.empty()) next = std::min(next, suspicion_deadlines_.begin()->first);
  if (!early_push_pulls_.empty()) next = std::min(next, early_push_pulls_.front());
  if (!tag_fetches_.empty()) next = std::min(next, tag_fetches_.begin()->first);
  return next;
}

void Swim::gossip(TimePoint now, size_t burst, Copies copies) {
  // memberlist's gossip(): live members, and the recently failed so that a
  // node we wrongly declared dead hears it and refutes.
  // Roster: with a backlog (a join storm queues an alive per newcomer, each
  // to be sent retransmit_limit times) gossip to more peers, up to 4x, so the
  // news drains in seconds instead of leaving a tail for push-pull to fix.
  size_t fanout = static_cast<size_t>(std::max(0, config_.gossip_nodes)) *
                  std::min<size_t>(4, std::max(burst, 1 + broadcasts_.size() / kBacklogPerExtraFanout));
  auto targets = random_nodes(fanout, [&](const NodeState& node) {
    if (is_live(node.state)) return false;
    if (node.state == MemberState::dead) return now - node.state_change > config_.gossip_to_the_dead_time;
    return true;
  });
  for (NodeState* target : targets) {
    if (broadcasts_.empty()) return;
    send(target->address(), {}, copies);
  }
}

void Swim::relay_news(TimePoint now, bool was_quiet) {
  if (!was_quiet || broadcasts_.empty() || !started_ || halted_ || eager_rounds_left_ <= 0) return;
  if (eager_gossip_at_ == TimePoint::max()) eager_gossip_at_ = now + config_.eager_gossip_delay;
}

void Swim::start_push_pull(const std::string& address, PushPullReason reason, bool join) {
  if (halted_) return;
  ++counters_.push_pulls_started;
  output_.push_pulls.push_back(PushPullRequest{address, local_state(join), reason});
}

void Swim::push_pull_with_random_peer(PushPullReason reason) {
  auto peers = random_nodes(1, [](const NodeState& node) { return node.state != MemberState::alive; });
  if (!peers.empty()) start_push_pull(peers.front()->address(), reason, false);
}

// Serf's reconnect: try one failed member per interval with probability
// failed / live, so the pool as a whole retries each failed member about
// once per interval.
void Swim::reconnect() {
  std::vector<NodeState*> failed;
  for (NodeState* node : order_) {
    if (node->state == MemberState::dead) failed.push_back(node);
  }
  if (failed.empty()) return;
  double probability = static_cast<double>(failed.size()) / static_cast<double>(std::max<size_t>(1, live_count_));
  double draw = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  if (draw > probability) return;
  start_push_pull(failed[random_index(failed.size())]->address(), PushPullReason::reconnect, false);
}

void Swim::reap(TimePoint now) {
  std::vector<std::string> reaped;
  for (const NodeState* node : order_) {
    if (node->name() == config_.name) continue;
    if ((node->state == MemberState::dead && now - node->state_change >= config_.reap_failed_after) ||
        (node->state == MemberState::left && now - node->state_change >= config_.reap_left_after)) {
      reaped.push_back(node->name());
    } else if (node->state == MemberState::dead && !node->confirmed &&
               now - node->state_change >= config_.reap_unconfirmed_after) {
      ++counters_.unconfirmed_reaped;
      reaped.push_back(node->name());
    }
  }
  for (const std::string& name : reaped) {
    emit(MemberEventType::reaped, nodes_.at(name).member());
    remove_node(name);
  }
}

// ------------------------------------------------------------------ output

size_t Swim::datagram_budget() const {
  return config_.max_packet_bytes > kPacketOverheadBytes ? config_.max_packet_bytes - kPacketOverheadBytes : 0;
}

void Swim::send(const std::string& address, std::vector<Message> messages, Copies copies) {
  size_t used = 0;
  for (const Message& message : messages) used += estimated_size(message);
  size_t budget = datagram_budget();
  if (used < budget) {
    std::vector<Message> extra =
        copies == Copies::extra ? broadcasts_.peek(budget - used)
                                : broadcasts_.take(budget - used, retransmit_limit(config_.retransmit_mult, live_count_));
    for (Message& message : extra) messages.push_back(std::move(message));
  }
  if (messages.empty()) return;
  ++counters_.packets_sent;
  counters_.messages_sent += messages.size();
  output_.packets.push_back(OutgoingPacket{address, Packet{std::move(messages)}});
}

Alive Swim::alive_for_datagram(const Member& member) const {
  Alive alive{member};
  alive.member.state = MemberState::alive;
  if (!is_tags_stub(member.tags) && estimated_size(alive) + kProbeRoom > datagram_budget()) {
    alive.member.tags = tags_stub(member.tags);
  }
  return alive;
}

void Swim::broadcast_alive(const Member& member) { broadcast(member.name, alive_for_datagram(member)); }

void Swim::emit(MemberEventType type, const Member& member, std::string detail) {
  output_.events.push_back(MemberEvent{type, member, std::move(detail)});
}

PushPull Swim::local_state(bool join) const {
  PushPull state;
  state.join = join;
  state.members.reserve(order_.size());
  // Within max_push_pull_bytes, or the receiver refuses the whole state.
  // Live members (this node first) come first, with their tags as stubs if
  // need be (fetched from their owners); then full tags as room allows; then
  // failed and left members.
  size_t room = config_.max_push_pull_bytes;
  auto size_of = [](const Member& member) { return estimated_size(member) + kPushPullMemberOverhead; };
  auto entry = [&](const NodeState& node) {
    Member member = node.member();
    if (member.state == MemberState::leaving) member.state = MemberState::alive;  // local news (messages.h)
    // Never pass on tags we know to be out of date as if they were current.
    if (node.tags_stale) member.tags = TagMap{{kTagsOmittedKey, "stale"}};
    return member;
  };
  enum class Tags : uint8_t { full, stub, either };
  // Adds `member` with its tags as asked (either: full if they fit); false if it does not fit.
  auto add = [&](Member member, Tags tags) {
    if (tags != Tags::full && !is_tags_stub(member.tags) && !member.tags.empty() &&
        (tags == Tags::stub || size_of(member) > room)) {
      member.tags = tags_stub(member.tags);
    }
    const size_t size = size_of(member);
    if (size > room) return false;
    room -= size;
    state.members.push_back(std::move(member));
    return true;
  };
  std::vector<const NodeState*> live;
  live.push_back(&self());
  for (const NodeState* node : order_) {
    if (node->name() != config_.name && is_live(node->state)) live.push_back(node);
  }
  bool all_fit = true;
  for (const NodeState* node : live) {
    if (!add(entry(*node), Tags::full)) {
      all_fit = false;
      break;
    }
  }
  if (!all_fit) {
    state.members.clear();
    room = config_.max_push_pull_bytes;
    for (const NodeState* node : live) add(entry(*node), Tags::stub);
    for (Member& held : state.members) {
      const NodeState* node = find(held.name);
      Member full = entry(*node);
      const size_t before = size_of(held);
      const size_t after = size_of(full);
      if (held.tags == full.tags || after > before + room) continue;
      room = room + before - after;
      held = std::move(full);
    }
  }
  for (const NodeState* node : order_) {
    if (node->name() != config_.name && !is_live(node->state)) add(entry(*node), Tags::either);
  }
  // The events of the buffer's window, oldest first, as room allows.
  state.event_ltime = event_clock_;
  const LamportTime window = event_buffer_.size();
  const LamportTime oldest = event_clock_ > window ? event_clock_ - window : 0;
  std::vector<const EventSlot*> slots;
  for (const EventSlot& slot : event_buffer_) {
    if (!slot.events.empty() && slot.ltime >= oldest) slots.push_back(&slot);
  }
  std::sort(slots.begin(), slots.end(), [](const EventSlot* a, const EventSlot* b) { return a->ltime < b->ltime; });
  for (const EventSlot* slot : slots) {
    for (const UserEvent& event : slot->events) {
      const size_t size = estimated_size(Message{event});
      if (size > room) return state;
      room -= size;
      state.events.push_back(event);
    }
  }
  return state;
}

Duration Swim::push_pull_period() const {
  double n = static_cast<double>(live_count_);
  if (n <= kPushPullScaleThreshold) return config_.push_pull_interval;
  double multiplier = std::ceil(std::log2(n) - std::log2(kPushPullScaleThreshold)) + 1.0;
  return config_.push_pull_interval * static_cast<int64_t>(multiplier);
}

SwimOutput Swim::take_output() {
  SwimOutput out = std::move(output_);
  output_ = SwimOutput{};
  return out;
}

// ----------------------------------------------------------------- queries

Member Swim::local_member() const { return self().member(); }

Incarnation Swim::local_incarnation() const { return self().incarnation; }

std::optional<Member> Swim::member(const std::string& name) const {
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.member();
}

std::vector<Member> Swim::members() const {
  std::vector<Member> out;
  out.reserve(nodes_.size());
  for (const NodeState* node : order_) out.push_back(node->member());
  std::sort(out.begin(), out.end(), [](const Member& a, const Member& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> Swim::known_peer_addresses() const {
  std::vector<std::string> out;
  for (const NodeState* node : order_) {
    if (node->name() != config_.name && is_live(node->state)) out.push_back(node->address());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace roster::gossip
