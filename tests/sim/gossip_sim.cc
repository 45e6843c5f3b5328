#include "tests/sim/gossip_sim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "agent/gossip/message_size.h"

namespace roster::sim {

using gossip::MemberEventType;
using gossip::Swim;

namespace {

const TimePoint kEpoch = TimePoint{} + std::chrono::hours(24);

// A lost TCP segment costs about one retransmission timeout.
constexpr Duration kTcpRetransmit = std::chrono::milliseconds(250);
// How long a push-pull to a dead or unreachable peer takes to fail.
constexpr Duration kTcpConnectTimeout = std::chrono::seconds(1);

constexpr uint8_t kUnknown = 0, kLive = 1, kFailed = 2, kLeft = 3;

}  // namespace

GossipSim::GossipSim(GossipSimOptions options)
    : options_(std::move(options)), rng_(options_.seed), now_(kEpoch), last_partition_change_(kEpoch) {
  nodes_.resize(options_.nodes);
  for (size_t i = 0; i < options_.nodes; ++i) {
    std::string address = "10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) + "." +
                          std::to_string(i & 255) + ":8301";
    addresses_.push_back(address);
    by_address_[address] = i;
    by_name_[name(i)] = i;
  }
  gossip::SwimConfig probe = config_for(0);
  Duration min = gossip::suspicion_min_timeout(probe.suspicion_mult, options_.nodes, probe.probe_interval);
  // A suspicion started while the subject was really down or cut off can end
  // this long after it came back; the health score can stretch it further.
  fp_window_ = probe.suspicion_max_timeout_mult * min + probe.probe_interval * probe.awareness_max_multiplier * 2;
}

GossipSim::~GossipSim() = default;

TimePoint GossipSim::start_time() const { return kEpoch; }

std::string GossipSim::name(size_t i) const { return "node-" + std::to_string(i); }

gossip::SwimConfig GossipSim::config_for(size_t i) const {
  gossip::SwimConfig config;
  config.name = name(i);
  config.id = "id-" + std::to_string(i);
  config.address = addresses_[i];
  config.seed = options_.seed * 1000003 + i * 7919 + nodes_[i].life;
  config.record_pool = record_pool_;
  if (options_.configure) options_.configure(config);
  return config;
}

std::optional<size_t> GossipSim::node_at(const std::string& address) const {
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return std::nullopt;
  return it->second;
}

void GossipSim::violation(const std::string& what) {
  violations_.push_back("seed=" + std::to_string(options_.seed) + " t=" +
                        std::to_string(std::chrono::duration<double>(now_ - kEpoch).count()) + "s: " + what);
}

// ------------------------------------------------------------------ script

void GossipSim::boot(size_t i, const std::vector<std::string>& join_addresses) {
  Node& node = nodes_[i];
  ++node.life;
  gossip::SwimConfig config = config_for(i);
  // The data dir holds an incarnation from the first life on.
  if (node.life > 1) config.initial_incarnation = node.incarnation;
  config.tags = node.tags;
  node.swim = std::make_unique<Swim>(config);
  if (config.initial_incarnation && node.swim->local_incarnation() <= *config.initial_incarnation) {
    violation(name(i) + " restarted at incarnation " + std::to_string(node.swim->local_incarnation()) +
              ", which its previous life already used");
  }
  node.view.assign(nodes_.size(), kUnknown);
  node.view[i] = kLive;
  node.user_event_ids.clear();
  node.up = true;
  node.departed = false;
  node.up_since = now_;
  node.busy_until = now_;
  node.timer_at = TimePoint::max();
  // The node counts as up for others from now on, and its own row starts counting.
  recount_column(i, false, true);
  recount_row(i, true);
  node.swim->start(now_);
  if (!join_addresses.empty()) node.swim->join(now_, join_addresses);
  drain(i);
}

void GossipSim::start(size_t i, const std::vector<size_t>& join_to) {
  std::vector<std::string> addresses;
  for (size_t j : join_to) addresses.push_back(addresses_[j]);
  boot(i, addresses);
}

void GossipSim::start_formed(size_t count) {
  count = std::min(count, nodes_.size());
  for (size_t i = 0; i < count; ++i) boot(i, {});
  std::vector<gossip::Member> members;
  members.reserve(count);
  for (size_t i = 0; i < count; ++i) members.push_back(nodes_[i].swim->local_member());
  for (size_t i = 0; i < count; ++i) {
    nodes_[i].swim->preload(now_, members);
    drain(i);
  }
}

void GossipSim::crash(size_t i, bool host_down) {
  Node& node = nodes_[i];
  if (!node.up) return;
  node.host_down = host_down;
  node.peers = node.swim->known_peer_addresses();
  node.incarnation = node.swim->local_incarnation();
  bool was_live = truly_live(i);
  recount_row(i, false);
  node.up = false;
  recount_column(i, was_live, false);
  node.swim.reset();
}

void GossipSim::restart(size_t i) {
  if (nodes_[i].up) return;
  boot(i, nodes_[i].peers);
}

void GossipSim::leave(size_t i) {
  Node& node = nodes_[i];
  if (!node.up || node.departed) return;
  recount_row(i, false);
  recount_column(i, true, false);
  node.departed = true;
  node.view[i] = kLeft;
  recount_row(i, true);
  node.swim->leave(now_);
  drain(i);
}

void GossipSim::set_tags(size_t i, gossip::TagMap tags) {
  Node& node = nodes_[i];
  node.tags = tags;
  if (!node.up) return;
  Status status = node.swim->set_tags(now_, std::move(tags));
  if (!status.is_ok()) violation("set_tags on " + name(i) + " failed: " + status.to_string());
  drain(i);
}

std::string GossipSim::fire_user_event(size_t i, const std::string& name, const std::string& payload) {
  Node& node = nodes_[i];
  if (!node.up) return "";
  gossip::UserEvent event;
  event.name = name;
  event.payload = payload;
  event.id = this->name(i) + "-event-" + std::to_string(next_order_);
  auto fired = node.swim->fire_user_event(now_, event);
  if (!fired.is_ok()) {
    violation("fire_user_event on " + this->name(i) + " failed: " + fired.status().to_string());
    return "";
  }
  drain(i);
  return event.id;
}

void GossipSim::force_leave(size_t i, size_t subject) {
  Node& node = nodes_[i];
  if (!node.up) return;
  Status status = node.swim->force_leave(now_, name(subject));
  if (!status.is_ok()) violation("force_leave on " + name(i) + " failed: " + status.to_string());
  drain(i);
}

size_t GossipSim::nodes_with_user_event(const std::string& id) const {
  size_t count = 0;
  for (const Node& node : nodes_) count += node.up && node.user_event_ids.count(id) > 0 ? 1 : 0;
  return count;
}

void GossipSim::partition(std::vector<int> group) {
  for (size_t i = 0; i < nodes_.size() && i < group.size(); ++i) nodes_[i].group = group[i];
  last_partition_change_ = now_;
  ever_partitioned_ = true;
}

void GossipSim::heal() {
  for (Node& node : nodes_) node.group = 0;
  last_partition_change_ = now_;
}

void GossipSim::at(TimePoint when, std::function<void()> action) {
  Event event;
  event.at = when;
  event.kind = Kind::action;
  event.action = std::make_shared<std::function<void()>>(std::move(action));
  push(std::move(event));
}

// ------------------------------------------------------------------- views

bool GossipSim::truly_live(size_t i) const { return nodes_[i].up && !nodes_[i].departed; }

bool GossipSim::view_matches(size_t observer, size_t subject) const {
  return (nodes_[observer].view[subject] == kLive) == truly_live(subject);
}

std::vector<std::pair<size_t, size_t>> GossipSim::wrong_views(size_t limit) const {
  std::vector<std::pair<size_t, size_t>> wrong;
  for (size_t o = 0; o < nodes_.size() && wrong.size() < limit && mismatches_ > 0; ++o) {
    if (!nodes_[o].up) continue;
    for (size_t s = 0; s < nodes_.size() && wrong.size() < limit; ++s) {
      if (!view_matches(o, s)) wrong.emplace_back(o, s);
    }
  }
  return wrong;
}

void GossipSim::recount_row(size_t observer, bool add) {
  for (size_t s = 0; s < nodes_.size(); ++s) {
    if (view_matches(observer, s)) continue;
    if (add) {
      ++mismatches_;
    } else {
      --mismatches_;
    }
  }
}

void GossipSim::recount_column(size_t subject, bool was_up, bool is_up) {
  for (size_t o = 0; o < nodes_.size(); ++o) {
    if (!nodes_[o].up || o == subject) continue;
    bool live = nodes_[o].view[subject] == kLive;
    if (live != was_up) --mismatches_;
    if (live != is_up) ++mismatches_;
  }
}

void GossipSim::set_view(size_t observer, size_t subject, uint8_t state) {
  Node& o = nodes_[observer];
  bool before = view_matches(observer, subject);
  o.view[subject] = state;
  bool after = view_matches(observer, subject);
  if (before && !after) ++mismatches_;
  if (!before && after) --mismatches_;
}

size_t GossipSim::up_count() const {
  return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.up; }));
}

size_t GossipSim::observers_holding_failed(size_t i) const {
  size_t count = 0;
  for (size_t o = 0; o < nodes_.size(); ++o) {
    if (o != i && nodes_[o].up && (nodes_[o].view[i] == kFailed || nodes_[o].view[i] == kLeft)) ++count;
  }
  return count;
}

size_t GossipSim::observers_with_tag(size_t i, const std::string& key, const std::string& value) const {
  size_t count = 0;
  for (const Node& o : nodes_) {
    if (!o.up) continue;
    auto member = o.swim->member(name(i));
    if (!member) continue;
    auto it = member->tags.find(key);
    if (it != member->tags.end() && it->second == value) ++count;
  }
  return count;
}

// ----------------------------------------------------------------- network

Duration GossipSim::latency() {
  auto span = static_cast<uint64_t>((options_.max_latency - options_.min_latency).count());
  return options_.min_latency + Duration(static_cast<int64_t>(span == 0 ? 0 : rng_() % (span + 1)));
}

Duration GossipSim::tcp_latency() {
  Duration total = latency();
  // Each direction's segment may be lost and resent.
  for (int leg = 0; leg < 2; ++leg) {
    while (static_cast<double>(rng_() >> 11) * 0x1.0p-53 < options_.loss) total += kTcpRetransmit;
  }
  return total;
}

void GossipSim::send_datagram(size_t from, const std::string& address, gossip::Packet packet) {
  ++datagrams_sent_;
  size_t bytes = gossip::kPacketOverheadBytes;
  for (const auto& message : packet.messages) bytes += gossip::estimated_size(message);
  datagram_bytes_ += bytes;
  if (static_cast<double>(rng_() >> 11) * 0x1.0p-53 < options_.loss) return;
  auto to = node_at(address);
  if (!to) return;
  Event event;
  event.at = now_ + latency();
  event.kind = Kind::datagram;
  event.node = static_cast<uint32_t>(*to);
  event.peer = static_cast<uint32_t>(from);
  event.address = addresses_[from];
  event.payload = std::move(packet);
  push(std::move(event));
}

void GossipSim::push(Event event) {
  event.order = next_order_++;
  queue_.push_back(std::move(event));
  std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void GossipSim::drain(size_t i) {
  Node& node = nodes_[i];
  if (!node.swim) return;
  gossip::SwimOutput out = node.swim->take_output();
  gossip::Incarnation incarnation = node.swim->local_incarnation();
  if (incarnation < node.incarnation) {
    violation(name(i) + "'s incarnation went from " + std::to_string(node.incarnation) + " to " +
              std::to_string(incarnation));
  }
  node.incarnation = incarnation;

  for (auto& packet : out.packets) send_datagram(i, packet.address, std::move(packet.packet));
  for (auto& request : out.push_pulls) {
    ++push_pulls_;
    Event event;
    event.kind = Kind::push_pull;
    event.peer = static_cast<uint32_t>(i);
    event.life = node.life;
    event.address = request.address;
    auto to = node_at(request.address);
    if (to && nodes_[*to].up && reachable(i, *to) && !tcp_refused_) {
      event.at = now_ + tcp_latency();
      event.node = static_cast<uint32_t>(*to);
      event.payload = std::move(request.state);
    } else {
      // Refused or timed out: the initiator hears of the failure.
      event.at = now_ + kTcpConnectTimeout;
      event.kind = Kind::push_pull_reply;
      event.node = static_cast<uint32_t>(i);
      event.flag = false;
    }
    push(std::move(event));
  }
  for (auto& probe : out.tcp_probes) {
    Event event;
    event.kind = Kind::tcp_probe;
    event.peer = static_cast<uint32_t>(i);
    event.life = node.life;
    event.deadline = probe.deadline;
    event.payload = probe.ping;
    auto to = node_at(probe.address);
    if (to && nodes_[*to].up && reachable(i, *to) && !tcp_refused_) {
      event.at = now_ + tcp_latency();
      event.node = static_cast<uint32_t>(*to);
    } else if (to && (tcp_refused_ || (!nodes_[*to].up && !nodes_[*to].host_down)) && reachable(i, *to)) {
      // The host answers the connection with a reset: nothing listens.
      event.kind = Kind::tcp_probe_result;
      event.node = static_cast<uint32_t>(i);
      event.at = std::min(now_ + tcp_latency(), probe.deadline);
      event.payload = probe.ping.sequence;
      event.flag = false;
      event.refused = true;
    } else {
      event.kind = Kind::tcp_probe_result;
      event.node = static_cast<uint32_t>(i);
      event.at = probe.deadline;
      event.payload = probe.ping.sequence;
      event.flag = false;
    }
    push(std::move(event));
  }
  for (const auto& event : out.user_events) {
    if (!node.user_event_ids.insert(event.id).second) {
      violation(name(i) + " delivered user event " + event.id + " twice");
    }
  }
  for (const auto& e : out.events) {
    auto subject_it = by_name_.find(e.member.name);
    if (subject_it == by_name_.end()) continue;
    size_t subject = subject_it->second;
    if (!options_.trace_subject.empty() && e.member.name == options_.trace_subject) {
      std::fprintf(stderr, "t=%.3f %s: %s %s incarnation %llu %s\n", std::chrono::duration<double>(now_ - kEpoch).count(),
                   name(i).c_str(), gossip::member_event_type_name(e.type), e.member.name.c_str(),
                   static_cast<unsigned long long>(e.member.incarnation), e.detail.c_str());
    }
    switch (e.type) {
      case MemberEventType::join:
      case MemberEventType::update:
      case MemberEventType::alive_again:
      case MemberEventType::leaving:  // still live until it refutes or fails
        set_view(i, subject, kLive);
        break;
      case MemberEventType::suspect:
        if (truly_live(subject)) ++false_suspicions_;
        set_view(i, subject, kLive);
        break;
      case MemberEventType::failed: {
        set_view(i, subject, kFailed);
        const Node& s = nodes_[subject];
        if (truly_live(subject) && reachable(i, subject)) {
          if (!ever_partitioned_) ++failures_of_live_nodes_;
          if (now_ - s.up_since > fp_window_ && now_ - last_partition_change_ > fp_window_) {
            false_positives_.push_back(FalsePositive{now_, i, subject});
          }
        }
        break;
      }
      case MemberEventType::left:
        set_view(i, subject, kLeft);
        break;
      case MemberEventType::reaped:
        set_view(i, subject, kUnknown);
        break;
      case MemberEventType::collision:
        break;
    }
  }

  TimePoint deadline = node.swim->next_deadline();
  if (deadline != node.timer_at && deadline != TimePoint::max()) {
    node.timer_at = deadline;
    Event event;
    event.at = std::max(deadline, now_);
    event.kind = Kind::timer;
    event.node = static_cast<uint32_t>(i);
    event.life = node.life;
    event.version = ++node.timer_version;
    push(std::move(event));
  }
}

void GossipSim::set_stalls(size_t i, Duration period, Duration length) {
  Node& node = nodes_.at(i);
  node.stall_period = period;
  node.stall_length = std::min(length, period);
  // Spread the nodes' stalls over the period, deterministically.
  node.stall_phase = now_ + (period * static_cast<int64_t>(i % 7)) / 7;
}

// ------------------------------------------------------------------ events

void GossipSim::process(Event& event) {
  if (event.kind == Kind::action) {
    (*event.action)();
    return;
  }
  size_t i = event.node;
  Node& node = nodes_[i];
  if (!node.up) return;
  // A stalled node gets to its inputs when it wakes up.
  if (node.stall_length > Duration::zero() && now_ >= node.stall_phase) {
    const Duration into = (now_ - node.stall_phase) % node.stall_period;
    if (into < node.stall_length) {
      event.at = now_ + (node.stall_length - into);
      push(std::move(event));
      return;
    }
  }
  // An overloaded node gets to its inputs late.
  const Duration processing_time = std::max(options_.processing_time, node.processing_time);
  if (processing_time > Duration::zero()) {
    if (node.busy_until > now_) {
      event.at = node.busy_until;
      push(std::move(event));
      return;
    }
    node.busy_until = now_ + processing_time;
  }
  switch (event.kind) {
    case Kind::timer:
      if (event.life != node.life || event.version != node.timer_version) return;
      node.timer_at = TimePoint::max();
      node.swim->tick(now_);
      break;
    case Kind::datagram:
      if (!reachable(i, event.peer)) return;
      node.swim->on_packet(now_, event.address, std::get<gossip::Packet>(event.payload));
      break;
    case Kind::push_pull: {
      size_t initiator = event.peer;
      if (!reachable(i, initiator)) return;
      gossip::PushPull reply = node.swim->on_push_pull(now_, std::get<gossip::PushPull>(event.payload));
      Event back;
      back.at = now_ + tcp_latency();
      back.kind = Kind::push_pull_reply;
      back.node = static_cast<uint32_t>(initiator);
      back.peer = static_cast<uint32_t>(i);
      back.life = event.life;
      back.address = event.address;
      back.payload = std::move(reply);
      back.flag = true;
      push(std::move(back));
      break;
    }
    case Kind::push_pull_reply:
      if (event.life != node.life) return;
      if (event.flag && reachable(i, event.peer)) {
        node.swim->on_push_pull_reply(now_, event.address, std::get<gossip::PushPull>(event.payload));
      } else {
        node.swim->on_push_pull_failed(now_, event.address);
      }
      break;
    case Kind::tcp_probe: {
      size_t prober = event.peer;
      if (!reachable(i, prober)) return;
      const gossip::Ping& ping = std::get<gossip::Ping>(event.payload);
      auto ack = node.swim->on_tcp_ping(now_, ping);
      Duration back_latency = tcp_latency();
      Event back;
      back.at = std::min(now_ + back_latency, event.deadline);
      back.kind = Kind::tcp_probe_result;
      back.node = static_cast<uint32_t>(prober);
      back.peer = static_cast<uint32_t>(i);
      back.life = event.life;
      back.payload = ping.sequence;
      back.flag = ack.has_value() && now_ + back_latency <= event.deadline;
      push(std::move(back));
      break;
    }
    case Kind::tcp_probe_result:
      if (event.life != node.life) return;
      node.swim->on_tcp_probe_result(now_, std::get<uint32_t>(event.payload),
                                     event.flag      ? gossip::TcpProbeOutcome::reached
                                     : event.refused ? gossip::TcpProbeOutcome::refused
                                                     : gossip::TcpProbeOutcome::failed);
      break;
    case Kind::action:
      break;
  }
  drain(i);
}

void GossipSim::run_until(TimePoint until) {
  while (!queue_.empty() && queue_.front().at <= until) {
    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    Event event = std::move(queue_.back());
    queue_.pop_back();
    now_ = std::max(now_, event.at);
    ++events_processed_;
    process(event);
  }
  now_ = std::max(now_, until);
}

std::optional<TimePoint> GossipSim::run_until_true(const std::function<bool()>& done, Duration limit, Duration step) {
  TimePoint end = now_ + limit;
  while (true) {
    if (done()) return now_;
    if (now_ >= end) return std::nullopt;
    run_until(std::min(end, now_ + step));
  }
}

}  // namespace roster::sim
