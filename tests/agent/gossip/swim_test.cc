#include "agent/gossip/swim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/gossip/message_size.h"

namespace roster::gossip {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

std::string address_of(const std::string& name) { return name + ".test:8301"; }

Member member(const std::string& name, Incarnation incarnation = 0, MemberState state = MemberState::alive,
              TagMap tags = {}) {
  return Member{name, "id-" + name, address_of(name), incarnation, state, std::move(tags)};
}

SwimConfig config_for(const std::string& name) {
  SwimConfig config;
  config.name = name;
  config.id = "id-" + name;
  config.address = address_of(name);
  config.seed = 42;
  config.early_push_pull_delays = {};
  return config;
}

// No probing in the first hours: for tests about other timers.
SwimConfig quiet_config_for(const std::string& name) {
  SwimConfig config = config_for(name);
  config.probe_interval = std::chrono::hours(10);
  return config;
}

// Drives one Swim through virtual time and keeps everything it emitted.
struct Driver {
  explicit Driver(SwimConfig config) : swim(std::move(config)) { swim.start(now); }

  void collect() {
    SwimOutput out = swim.take_output();
    for (auto& p : out.packets) packets.push_back(std::move(p));
    for (auto& p : out.push_pulls) push_pulls.push_back(std::move(p));
    for (auto& p : out.tcp_probes) tcp_probes.push_back(std::move(p));
    for (auto& e : out.events) events.push_back(std::move(e));
    for (auto& w : out.warnings) warnings.push_back(std::move(w));
    for (auto& u : out.user_events) user_events.push_back(std::move(u));
  }

  // Fires every deadline up to now + duration.
  void advance(Duration duration) {
    TimePoint end = now + duration;
    for (int guard = 0; guard < 1000000; ++guard) {
      TimePoint next = swim.next_deadline();
      if (next > end) break;
      now = std::max(now, next);
      size_t seen = packets.size();
      swim.tick(now);
      collect();
      if (auto_ack) ack_pings_since(seen);
    }
    now = end;
  }

  // Every peer answers every ping at once.
  void ack_pings_since(size_t first) {
    std::vector<std::pair<std::string, Ping>> pings;
    for (size_t p = first; p < packets.size(); ++p) {
      for (const Message& m : packets[p].packet.messages) {
        if (const Ping* ping = std::get_if<Ping>(&m)) pings.emplace_back(packets[p].address, *ping);
      }
    }
    for (const auto& [to, ping] : pings) {
      if (silent.count(ping.target)) continue;
      swim.on_packet(now, to, Packet{{Ack{ping.sequence, ping.target}}});
      collect();
    }
  }

  // Tells the Swim about peers, as a push-pull from one of them would.
  void know(const std::vector<Member>& members) {
    swim.on_push_pull(now, PushPull{false, members});
    collect();
  }

  void receive(const std::string& from, std::vector<Message> messages) {
    swim.on_packet(now, address_of(from), Packet{std::move(messages)});
    collect();
  }

  // Advances until a probe Ping goes out; returns it and its destination.
  std::pair<std::string, Ping> next_ping() {
    for (int i = 0; i < 100; ++i) {
      size_t seen = packets.size();
      advance(milliseconds(100));
      for (size_t p = seen; p < packets.size(); ++p) {
        for (const Message& m : packets[p].packet.messages) {
          if (const Ping* ping = std::get_if<Ping>(&m)) return {packets[p].address, *ping};
        }
      }
    }
    ADD_FAILURE() << "no ping sent";
    return {};
  }

  template <typename T>
  std::vector<std::pair<std::string, T>> sent() const {
    std::vector<std::pair<std::string, T>> out;
    for (const auto& p : packets) {
      for (const Message& m : p.packet.messages) {
        if (const T* typed = std::get_if<T>(&m)) out.emplace_back(p.address, *typed);
      }
    }
    return out;
  }

  size_t count_events(MemberEventType type, const std::string& name) const {
    return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const MemberEvent& e) {
      return e.type == type && e.member.name == name;
    }));
  }

  TimePoint now = kStart;
  Swim swim;
  std::vector<OutgoingPacket> packets;
  std::vector<PushPullRequest> push_pulls;
  std::vector<TcpProbeRequest> tcp_probes;
  std::vector<MemberEvent> events;
  std::vector<SwimWarning> warnings;
  std::vector<UserEvent> user_events;
  bool auto_ack = false;
  std::set<std::string> silent;  // peers that never answer
};

std::string name_at(const std::string& address) { return address.substr(0, address.find('.')); }

// ---------------------------------------------------------------- probing

TEST(SwimProbe, AckedProbeKeepsTheTargetAlive) {
  Driver d(config_for("a"));
  d.know({member("b")});
  EXPECT_EQ(d.count_events(MemberEventType::join, "b"), 1u);
  for (int round = 0; round < 5; ++round) {
    auto [to, ping] = d.next_ping();
    EXPECT_EQ(to, address_of("b"));
    EXPECT_EQ(ping.target, "b");
    EXPECT_EQ(ping.source, "a");
    d.receive("b", {Ack{ping.sequence, "b"}});
  }
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(d.swim.health_score(), 0);
  EXPECT_GE(d.swim.counters().acks_received, 5u);
}

TEST(SwimProbe, NoAckGoesIndirectThenSuspects) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c"), member("d"), member("e")});
  auto [to, ping] = d.next_ping();
  std::string target = name_at(to);
  d.advance(milliseconds(510));
  auto indirect = d.sent<IndirectPing>();
  ASSERT_EQ(indirect.size(), 3u);
  for (const auto& [address, request] : indirect) {
    EXPECT_NE(name_at(address), target);
    EXPECT_EQ(request.target, target);
    EXPECT_EQ(request.sequence, ping.sequence);
    EXPECT_TRUE(request.want_nack);
  }
  ASSERT_EQ(d.tcp_probes.size(), 1u);
  EXPECT_EQ(d.tcp_probes[0].address, to);
  EXPECT_EQ(d.swim.member(target)->state, MemberState::alive);
  d.advance(milliseconds(500));
  EXPECT_EQ(d.swim.member(target)->state, MemberState::suspect);
  EXPECT_EQ(d.count_events(MemberEventType::suspect, target), 1u);
  // Three peers asked, none nacked: Lifeguard blames our own health.
  EXPECT_EQ(d.swim.health_score(), 3);
}

TEST(SwimProbe, AFailedProbeOfAnOldLifeSuspectsNobody) {
  // b restarts on a new port while a's probe of its old address is out.
  Driver d(config_for("a"));
  d.know({member("b"), member("c"), member("d"), member("e")});
  std::string target;
  Ping ping;
  for (int round = 0; round < 10 && target != "b"; ++round) {
    if (!target.empty()) d.receive(target, {Ack{ping.sequence, target}});
    auto [to, sent] = d.next_ping();
    target = name_at(to);
    ping = sent;
  }
  ASSERT_EQ(target, "b");
  Member moved = member("b", 1);
  moved.address = "b.test:9999";
  d.receive("c", {Alive{moved}});
  d.advance(seconds(1));
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(d.swim.member("b")->incarnation, 1u);
  EXPECT_EQ(d.count_events(MemberEventType::suspect, "b"), 0u);
}

TEST(SwimProbe, NacksFromPeersSpareTheLocalHealthScore) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c"), member("d"), member("e")});
  auto [to, ping] = d.next_ping();
  d.advance(milliseconds(510));
  for (const auto& [address, request] : d.sent<IndirectPing>()) {
    d.receive(name_at(address), {Nack{request.sequence, name_at(address)}});
  }
  d.advance(milliseconds(500));
  EXPECT_EQ(d.swim.member(name_at(to))->state, MemberState::suspect);
  EXPECT_EQ(d.swim.health_score(), 0);
  EXPECT_EQ(d.swim.counters().nacks_received, 3u);
}

TEST(SwimProbe, HealthScoreStretchesTheProbeWindow) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c"), member("d"), member("e")});
  auto [first_to, first_ping] = d.next_ping();
  d.advance(seconds(1));  // the probe fails without nacks: score 3, and the next one starts
  ASSERT_EQ(d.swim.health_score(), 3);
  auto [to, ping] = d.sent<Ping>().back();
  ASSERT_NE(ping.sequence, first_ping.sequence);
  // With score 3 the window is 4 x probe_interval: no suspicion after 1.5 s.
  d.advance(milliseconds(1500));
  EXPECT_EQ(d.swim.member(name_at(to))->state, MemberState::alive);
  d.receive(name_at(to), {Ack{ping.sequence, name_at(to)}});
  EXPECT_EQ(d.swim.health_score(), 2);
}

TEST(SwimProbe, IndirectAckArrivesWithTheOriginalSequence) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c"), member("d"), member("e")});
  auto [to, ping] = d.next_ping();
  d.advance(milliseconds(510));
  auto indirect = d.sent<IndirectPing>();
  ASSERT_FALSE(indirect.empty());
  d.receive(name_at(indirect[0].first), {Ack{ping.sequence, name_at(indirect[0].first)}});
  d.advance(seconds(1));
  EXPECT_EQ(d.swim.member(name_at(to))->state, MemberState::alive);
  EXPECT_EQ(d.count_events(MemberEventType::suspect, name_at(to)), 0u);
}

TEST(SwimProbe, TcpFallbackAnswerAvertsSuspicion) {
  Driver d(config_for("a"));
  d.know({member("b")});
  auto [to, ping] = d.next_ping();
  d.advance(milliseconds(510));
  ASSERT_EQ(d.tcp_probes.size(), 1u);
  EXPECT_EQ(d.tcp_probes[0].ping.sequence, ping.sequence);
  d.swim.on_tcp_probe_result(d.now, ping.sequence, TcpProbeOutcome::reached);
  d.advance(milliseconds(300));
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
}

TEST(SwimProbe, RelaysAPingRequestAndNacksOnSilence) {
  Driver d(config_for("c"));
  d.know({member("a"), member("b")});
  d.packets.clear();
  d.receive("a", {IndirectPing{77, "b", address_of("b"), "a", address_of("a"), true}});
  auto pings = d.sent<Ping>();
  ASSERT_EQ(pings.size(), 1u);
  EXPECT_EQ(pings[0].first, address_of("b"));
  EXPECT_EQ(pings[0].second.source, "c");
  d.receive("b", {Ack{pings[0].second.sequence, "b"}});
  auto acks = d.sent<Ack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].first, address_of("a"));
  EXPECT_EQ(acks[0].second.sequence, 77u);

  d.receive("a", {IndirectPing{78, "b", address_of("b"), "a", address_of("a"), true}});
  d.advance(milliseconds(600));
  auto nacks = d.sent<Nack>();
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].first, address_of("a"));
  EXPECT_EQ(nacks[0].second.sequence, 78u);
}

TEST(SwimProbe, AnswersPingsForItselfOnly) {
  Driver d(config_for("a"));
  d.receive("b", {Ping{5, "a", "b", address_of("b")}});
  auto acks = d.sent<Ack>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].first, address_of("b"));
  EXPECT_EQ(acks[0].second.sequence, 5u);
  d.receive("b", {Ping{6, "someone-else", "b", address_of("b")}});
  EXPECT_EQ(d.sent<Ack>().size(), 1u);
  EXPECT_EQ(d.swim.counters().misdirected_pings, 1u);
  EXPECT_EQ(d.swim.on_tcp_ping(d.now, Ping{7, "a", "b", address_of("b")})->sequence, 7u);
  EXPECT_FALSE(d.swim.on_tcp_ping(d.now, Ping{8, "x", "b", address_of("b")}).has_value());
}

TEST(SwimProbe, AnUnknownPingerIsSyncedWith) {
  Driver d(config_for("a"));
  d.know({member("b")});
  d.receive("z", {Ping{5, "a", "z", address_of("z")}});
  ASSERT_EQ(d.push_pulls.size(), 1u);
  EXPECT_EQ(d.push_pulls[0].address, address_of("z"));
  EXPECT_EQ(d.push_pulls[0].reason, PushPullReason::unknown_peer);
  // Rate limited.
  d.receive("y", {Ping{6, "a", "y", address_of("y")}});
  EXPECT_EQ(d.push_pulls.size(), 1u);
}

// -------------------------------------------------------------- suspicion

TEST(Suspicion, TimeoutShrinksWithIndependentConfirmations) {
  Duration min = seconds(4), max = seconds(24);
  Suspicion s("b", 3, min, max, kStart);
  EXPECT_EQ(s.deadline(), kStart + max);
  EXPECT_FALSE(s.confirm("b"));  // the first suspecter does not count twice
  EXPECT_TRUE(s.confirm("c"));
  TimePoint after_one = s.deadline();
  EXPECT_LT(after_one, kStart + max);
  EXPECT_GT(after_one, kStart + min);
  EXPECT_FALSE(s.confirm("c"));
  EXPECT_TRUE(s.confirm("d"));
  EXPECT_LT(s.deadline(), after_one);
  EXPECT_TRUE(s.confirm("e"));
  EXPECT_EQ(s.deadline(), kStart + min);
  EXPECT_FALSE(s.confirm("f"));  // k reached
  // memberlist's formula: max - log(n+1)/log(k+1) * (max - min), n = 1, k = 3 -> 24 - 0.5 * 20 = 14 s.
  EXPECT_EQ(after_one, kStart + seconds(14));
}

TEST(Suspicion, NoExpectedConfirmationsMeansMinTimeout) {
  Suspicion s("b", 0, seconds(4), seconds(24), kStart);
  EXPECT_EQ(s.deadline(), kStart + seconds(4));
}

TEST(Suspicion, MinTimeoutGrowsWithLogOfPoolSize) {
  EXPECT_EQ(suspicion_min_timeout(4, 1, seconds(1)), seconds(4));
  EXPECT_EQ(suspicion_min_timeout(4, 10, seconds(1)), seconds(4));
  EXPECT_EQ(suspicion_min_timeout(4, 100, seconds(1)), seconds(8));
  EXPECT_EQ(suspicion_min_timeout(4, 1000, seconds(1)), seconds(12));
}

std::vector<Member> pool_of(int n) {
  std::vector<Member> out;
  for (int i = 0; i < n; ++i) out.push_back(member("n" + std::to_string(i)));
  return out;
}

TimePoint time_failed(int confirmations, int confirmed_suspicion_mult = SwimConfig{}.confirmed_suspicion_mult) {
  SwimConfig config = config_for("a");
  config.confirmed_suspicion_mult = confirmed_suspicion_mult;
  Driver d(config);
  d.auto_ack = true;  // failed probes of our own would confirm too
  d.know(pool_of(10));
  d.receive("n1", {Suspect{"n0", 0, "n1"}});
  for (int i = 0; i < confirmations; ++i) {
    d.receive("n" + std::to_string(i + 2), {Suspect{"n0", 0, "n" + std::to_string(i + 2)}});
  }
  TimePoint start = d.now;
  // n0 answers our probes (so they confirm nothing) until just before the
  // longest timeout, then goes silent: the final check finds it gone.
  if (confirmations == 0) {
    d.advance(milliseconds(24500));
    d.silent = {"n0"};
  } else {
    d.silent = {"n0"};
  }
  for (int i = 0; i < 400 && d.swim.member("n0")->state == MemberState::suspect; ++i) d.advance(milliseconds(100));
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::dead);
  EXPECT_EQ(d.count_events(MemberEventType::failed, "n0"), 1u);
  return TimePoint{} + (d.now - start);
}

// Runs probe rounds, every other member acking, until `name` is the one
// probed (left unanswered). Returns the last member probed.
std::string probe_rounds_until(Driver& d, const std::string& name) {
  std::string target;
  for (int round = 0; round < 20 && target != name; ++round) {
    auto [to, ping] = d.next_ping();
    target = name_at(to);
    if (target != name) d.receive(target, {Ack{ping.sequence, target}});
  }
  return target;
}

// Probes n3 (one of ten peers; it never acks) and answers the TCP fallback
// with `outcome`; returns how long after the probe b was declared failed.
double seconds_to_failure_after(TcpProbeOutcome outcome) {
  Driver d(config_for("a"));
  d.know(pool_of(10));
  std::string target = probe_rounds_until(d, "n3");
  EXPECT_EQ(target, "n3");
  const TimePoint probed = d.now;
  d.advance(milliseconds(510));
  EXPECT_EQ(d.tcp_probes.size(), 1u);
  if (d.tcp_probes.empty()) return -1;
  d.swim.on_tcp_probe_result(d.now, d.tcp_probes.back().ping.sequence, outcome);
  for (int step = 0; step < 400 && d.swim.member("n3")->state != MemberState::dead; ++step) {
    d.advance(milliseconds(100));
    // The others keep answering; n3 stays silent.
    for (const auto& [address, ping] : d.sent<Ping>()) {
      if (name_at(address) != "n3") d.receive(name_at(address), {Ack{ping.sequence, name_at(address)}});
    }
    d.packets.clear();
  }
  EXPECT_EQ(d.swim.member("n3")->state, MemberState::dead);
  return std::chrono::duration<double>(d.now - probed).count();
}

TEST(SwimSuspicion, ARefusedFallbackEndsTheSuspicionSoon) {
  // A reset from the host: the agent's process is gone. Declared failed one
  // probe window plus refused_suspicion_timeout plus a final check of
  // probe_timeout after the probe, not after the Lifeguard timeout (at
  // least 4 x log10(11) = 4.2 s).
  double refused = seconds_to_failure_after(TcpProbeOutcome::refused);
  EXPECT_GE(refused, 2.4);
  EXPECT_LE(refused, 2.7);
  double timed_out = seconds_to_failure_after(TcpProbeOutcome::failed);
  EXPECT_GE(timed_out, 1.0 + 4.1);
}

TEST(SwimSuspicion, ALiveNodeWhoseTcpPortRefusesIsCheckedThroughPeersBeforeItFails) {
  // A firewall that resets the gossip TCP port looks like a dead agent. The
  // suspicion still ends early, but with a last check through other members
  // (UDP lost both ways on the direct path): the node answers and is spared.
  Driver d(config_for("a"));
  d.know(pool_of(10));
  std::string target = probe_rounds_until(d, "n3");
  ASSERT_EQ(target, "n3");
  d.advance(milliseconds(510));
  ASSERT_EQ(d.tcp_probes.size(), 1u);
  d.swim.on_tcp_probe_result(d.now, d.tcp_probes.back().ping.sequence, TcpProbeOutcome::refused);
  d.packets.clear();
  d.advance(milliseconds(500));
  ASSERT_EQ(d.swim.member("n3")->state, MemberState::suspect);
  d.packets.clear();
  d.advance(milliseconds(1000));  // past refused_suspicion_timeout
  std::vector<std::pair<std::string, IndirectPing>> checks;
  for (const auto& [to, request] : d.sent<IndirectPing>()) {
    if (request.target == "n3") checks.emplace_back(to, request);
  }
  ASSERT_EQ(checks.size(), 3u);  // indirect_checks
  ASSERT_NE(d.swim.member("n3")->state, MemberState::dead);
  // One relay reaches n3 and forwards its ack.
  d.receive(name_at(checks[1].first), {Ack{checks[1].second.sequence, name_at(checks[1].first)}});
  d.advance(milliseconds(600));
  EXPECT_EQ(d.swim.member("n3")->state, MemberState::suspect);
  EXPECT_EQ(d.count_events(MemberEventType::failed, "n3"), 0u);
  d.receive("n3", {Alive{member("n3", 1)}});
  EXPECT_EQ(d.swim.member("n3")->state, MemberState::alive);
}

TEST(Suspicion, AGoneProcessCapsTheDeadlineForGood) {
  Suspicion suspicion("a", /*expected_confirmations=*/2, seconds(4), seconds(24), TimePoint{});
  suspicion.process_gone(TimePoint{} + seconds(1));
  EXPECT_EQ(suspicion.deadline(), TimePoint{} + seconds(1));
  EXPECT_TRUE(suspicion.confirm("b"));  // a confirmation never moves it later
  EXPECT_EQ(suspicion.deadline(), TimePoint{} + seconds(1));
  EXPECT_TRUE(suspicion.is_process_gone());
}

TEST(SwimSuspicion, ConfirmationsShortenTheTimeToFailure) {
  // N = 11: min = 4 s * log10(11) = 4.16 s, max = 6 x min.
  TimePoint none = time_failed(0);
  TimePoint one = time_failed(1);
  TimePoint all = time_failed(2);
  EXPECT_GT(none, one);
  EXPECT_GT(one, all);
  // No confirmation: the max timeout, then at most one probe window for the final check.
  EXPECT_GE(std::chrono::duration<double>(none - TimePoint{}).count(), 24.5);
  EXPECT_LE(std::chrono::duration<double>(none - TimePoint{}).count(), 24.97 + 1.2);
  EXPECT_NEAR(std::chrono::duration<double>(all - TimePoint{}).count(), 4.16, 0.2);
}

TEST(SwimSuspicion, ALowerConfirmedFloorEndsConfirmedSuspicionsSooner) {
  // Floor 3: 3 s * log10(11) = 3.12 s once both confirmations are in; an
  // unconfirmed suspicion still waits the full 6 x 4.16 s.
  TimePoint all = time_failed(2, /*confirmed_suspicion_mult=*/3);
  EXPECT_NEAR(std::chrono::duration<double>(all - TimePoint{}).count(), 3.12, 0.2);
  TimePoint none = time_failed(0, /*confirmed_suspicion_mult=*/3);
  EXPECT_GE(std::chrono::duration<double>(none - TimePoint{}).count(), 24.5);
}

TEST(SwimSuspicion, AnUnconfirmedSuspicionGetsAFinalCheck) {
  Driver d(config_for("a"));
  d.auto_ack = true;
  d.know(pool_of(10));
  d.receive("n1", {Suspect{"n0", 0, "n1"}});
  d.advance(seconds(24));
  ASSERT_EQ(d.swim.member("n0")->state, MemberState::suspect);
  size_t before = d.packets.size();
  d.advance(seconds(2));
  // The final check carries the suspicion ahead of the ping; n0 answers, so
  // it is not declared failed.
  bool checked = false;
  for (size_t p = before; p < d.packets.size(); ++p) {
    const auto& messages = d.packets[p].packet.messages;
    if (d.packets[p].address == address_of("n0") && messages.size() >= 2 &&
        std::holds_alternative<Suspect>(messages[0]) && std::holds_alternative<Ping>(messages[1])) {
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::suspect);
  EXPECT_EQ(d.count_events(MemberEventType::failed, "n0"), 0u);
  // Its refutation, when it comes, ends the suspicion.
  d.receive("n0", {Alive{member("n0", 1)}});
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::alive);
}

TEST(SwimSuspicion, AStaleAccusationMakesANodeAnnounceItselfAgain) {
  Driver d(quiet_config_for("a"));
  d.know(pool_of(3));
  d.receive("n1", {Suspect{"a", 0, "n1"}});
  ASSERT_EQ(d.swim.local_member().incarnation, 1u);
  d.advance(seconds(5));  // the refutation has been sent its number of times
  ASSERT_EQ(d.swim.queued_broadcasts(), 0u);
  d.receive("n2", {Suspect{"a", 0, "n2"}});
  EXPECT_EQ(d.swim.local_member().incarnation, 1u);
  EXPECT_EQ(d.swim.queued_broadcasts(), 1u);
  d.receive("n2", {Ping{5, "a", "n2", address_of("n2")}});
  bool on_ack = false;
  for (const auto& p : d.packets) {
    bool ack = false, alive = false;
    for (const Message& m : p.packet.messages) {
      ack |= std::holds_alternative<Ack>(m);
      if (const Alive* a = std::get_if<Alive>(&m)) alive |= a->member.name == "a" && a->member.incarnation == 1;
    }
    on_ack |= ack && alive;
  }
  EXPECT_TRUE(on_ack);
}

TEST(SwimSuspicion, ConfirmationsAreRegossiped) {
  Driver d(config_for("a"));
  d.know(pool_of(10));
  d.receive("n1", {Suspect{"n0", 0, "n1"}});
  d.receive("n2", {Suspect{"n0", 0, "n2"}});
  d.receive("n2", {Suspect{"n0", 0, "n2"}});
  d.advance(seconds(2));
  std::set<std::string> froms;
  for (const auto& [to, s] : d.sent<Suspect>()) {
    if (s.name == "n0") froms.insert(s.from);
  }
  EXPECT_EQ(froms, (std::set<std::string>{"n2"}));  // the newest replaces the older broadcast about n0
}

TEST(SwimSuspicion, RefutedByAHigherIncarnation) {
  Driver d(config_for("a"));
  d.know(pool_of(5));
  d.receive("n1", {Suspect{"n0", 0, "n1"}});
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::suspect);
  d.receive("n2", {Alive{member("n0", 0)}});  // same incarnation refutes nothing
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::suspect);
  d.receive("n0", {Alive{member("n0", 1)}});
  EXPECT_EQ(d.swim.member("n0")->state, MemberState::alive);
  EXPECT_EQ(d.count_events(MemberEventType::alive_again, "n0"), 1u);
}

TEST(SwimSuspicion, ANodeRefutesItsOwnSuspicionAndDeath) {
  Driver d(config_for("a"));
  d.know(pool_of(3));
  d.receive("n1", {Suspect{"a", 0, "n1"}});
  EXPECT_EQ(d.swim.local_member().incarnation, 1u);
  EXPECT_EQ(d.swim.local_member().state, MemberState::alive);
  EXPECT_EQ(d.swim.health_score(), 1);
  d.receive("n1", {Dead{"a", 7, "n1"}});
  EXPECT_EQ(d.swim.local_member().incarnation, 8u);
  d.receive("n1", {Suspect{"a", 3, "n1"}});  // older news: no change
  EXPECT_EQ(d.swim.local_member().incarnation, 8u);
  d.advance(seconds(1));
  bool announced = false;
  for (const auto& [to, alive] : d.sent<Alive>()) announced |= alive.member.name == "a" && alive.member.incarnation == 8;
  EXPECT_TRUE(announced);
}

TEST(SwimSuspicion, BuddyHintRidesOnThePingToASuspect) {
  Driver d(config_for("a"));
  d.know({member("b")});
  d.receive("c", {Suspect{"b", 0, "c"}});
  auto [to, ping] = d.next_ping();
  ASSERT_EQ(to, address_of("b"));
  // The suspicion comes first, so the refutation is queued before the ack leaves.
  bool hinted = false;
  for (const auto& p : d.packets) {
    const auto& messages = p.packet.messages;
    if (p.address != to || messages.size() < 2) continue;
    const Suspect* s = std::get_if<Suspect>(&messages[0]);
    hinted |= s != nullptr && s->name == "b" && std::holds_alternative<Ping>(messages[1]);
  }
  EXPECT_TRUE(hinted);
}

// Packets sent in the advance() step in which `done` became true.
template <typename Done>
std::vector<OutgoingPacket> packets_of_the_step(Driver& d, Done done) {
  for (int i = 0; i < 60000 && !done(); ++i) {
    const size_t before = d.packets.size();
    d.advance(milliseconds(1));
    if (done()) return {d.packets.begin() + static_cast<std::ptrdiff_t>(before), d.packets.end()};
  }
  ADD_FAILURE() << "never happened";
  return {};
}

bool carries(const std::vector<OutgoingPacket>& packets, const std::string& not_to, auto is_news) {
  for (const auto& p : packets) {
    if (p.address == not_to) continue;
    for (const Message& m : p.packet.messages) {
      if (is_news(m)) return true;
    }
  }
  return false;
}

TEST(SwimSuspicion, OurOwnSuspicionAndVerdictLeaveAtOnce) {
  Driver d(config_for("a"));
  d.auto_ack = true;
  d.silent = {"n0"};
  d.know(pool_of(10));
  // The failed probe's suspicion goes to other members in the same instant.
  auto suspected = packets_of_the_step(d, [&] { return d.swim.member("n0")->state == MemberState::suspect; });
  EXPECT_TRUE(carries(suspected, address_of("n0"), [](const Message& m) {
    const Suspect* s = std::get_if<Suspect>(&m);
    return s != nullptr && s->name == "n0" && s->from == "a";
  }));
  // So does the verdict when the suspicion runs out.
  auto failed = packets_of_the_step(d, [&] { return d.swim.member("n0")->state == MemberState::dead; });
  EXPECT_TRUE(carries(failed, address_of("n0"), [](const Message& m) {
    const Dead* dead = std::get_if<Dead>(&m);
    return dead != nullptr && dead->name == "n0";
  }));
}

TEST(SwimSuspicion, OwnNewsGoesToTwiceTheFanoutAtOnce) {
  // A tag change and our own verdict are known to nobody else yet: their
  // first round goes to 2 x gossip_nodes peers (6), not 3.
  Driver d(config_for("a"));
  d.auto_ack = true;
  d.silent = {"n0"};
  d.know(pool_of(10));
  auto peers_reached = [](const std::vector<OutgoingPacket>& packets, auto is_news) {
    std::set<std::string> to;
    for (const auto& p : packets) {
      for (const Message& m : p.packet.messages) {
        if (is_news(m)) to.insert(p.address);
      }
    }
    return to.size();
  };
  auto failed = packets_of_the_step(d, [&] { return d.swim.member("n0")->state == MemberState::dead; });
  EXPECT_GE(peers_reached(failed, [](const Message& m) {
              const Dead* dead = std::get_if<Dead>(&m);
              return dead != nullptr && dead->name == "n0";
            }),
            6u);
  d.packets.clear();
  ASSERT_TRUE(d.swim.set_tags(d.now, {{"role", "web"}}).is_ok());
  d.collect();
  EXPECT_EQ(peers_reached(d.packets, [](const Message& m) {
              const Alive* alive = std::get_if<Alive>(&m);
              return alive != nullptr && alive->member.name == "a" && alive->member.tags.count("role") == 1;
            }),
            6u);
}

TEST(SwimSuspicion, WithoutLifeguardTheTimeoutIsFixedAndNothingLifeguardIsSent) {
  SwimConfig config = config_for("a");
  config.lifeguard = false;
  Driver d(config);
  d.auto_ack = true;
  d.know(pool_of(10));
  // An unconfirmed suspicion fails after the fixed minimum (4 s x log10(11)),
  // where Lifeguard would wait up to six times as long for confirmations.
  d.receive("n1", {Suspect{"n0", 0, "n1"}});
  const TimePoint start = d.now;
  d.silent = {"n0"};
  for (int i = 0; i < 400 && d.swim.member("n0")->state == MemberState::suspect; ++i) d.advance(milliseconds(100));
  ASSERT_EQ(d.swim.member("n0")->state, MemberState::dead);
  EXPECT_NEAR(std::chrono::duration<double>(d.now - start).count(), 4.16, 0.15);
  // No buddy hint on pings to suspects, no nack requested from relays.
  d.receive("n2", {Suspect{"n3", 0, "n2"}});
  for (int i = 0; i < 30; ++i) d.advance(milliseconds(500));
  for (const auto& p : d.packets) {
    const auto& messages = p.packet.messages;
    for (size_t m = 0; m + 1 < messages.size(); ++m) {
      EXPECT_FALSE(std::holds_alternative<Suspect>(messages[m]) && std::holds_alternative<Ping>(messages[m + 1]))
          << "buddy hint sent to " << p.address;
    }
  }
  for (const auto& [to, request] : d.sent<IndirectPing>()) EXPECT_FALSE(request.want_nack) << to;
}

// ------------------------------------------------------ dead, left, reap

TEST(SwimLifecycle, DeadAndLeftAreReapedAfterTheirTimes) {
  SwimConfig config = config_for("a");
  config.reap_failed_after = seconds(60);
  config.reap_left_after = seconds(120);
  Driver d(config);
  d.know({member("b"), member("c"), member("d")});
  d.receive("c", {Dead{"b", 0, "c"}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::dead);
  EXPECT_EQ(d.count_events(MemberEventType::failed, "b"), 1u);
  d.receive("c", {Dead{"c", 0, "c"}});
  EXPECT_EQ(d.swim.member("c")->state, MemberState::left);
  EXPECT_EQ(d.count_events(MemberEventType::left, "c"), 1u);
  EXPECT_EQ(d.swim.known_peer_addresses(), std::vector<std::string>{address_of("d")});
  d.advance(seconds(80));
  EXPECT_FALSE(d.swim.member("b").has_value());
  EXPECT_TRUE(d.swim.member("c").has_value());
  EXPECT_EQ(d.count_events(MemberEventType::reaped, "b"), 1u);
  d.advance(seconds(60));
  EXPECT_FALSE(d.swim.member("c").has_value());
  EXPECT_EQ(d.count_events(MemberEventType::reaped, "c"), 1u);
}

TEST(SwimLifecycle, AFailedNodeComesBackWithAHigherIncarnation) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c")});
  d.receive("c", {Dead{"b", 0, "c"}});
  d.receive("b", {Alive{member("b", 0)}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::dead);
  d.receive("b", {Alive{member("b", 1)}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(d.count_events(MemberEventType::join, "b"), 2u);
}

TEST(SwimLifecycle, LeaveBroadcastsLeftAndStopsProbing) {
  Driver d(config_for("a"));
  d.know({member("b"), member("c")});
  d.advance(seconds(3));
  uint64_t probes = d.swim.counters().probes;
  d.swim.leave(d.now);
  EXPECT_FALSE(d.swim.leave_propagated());
  d.advance(seconds(5));
  EXPECT_TRUE(d.swim.leave_propagated());
  EXPECT_EQ(d.swim.counters().probes, probes);
  bool told = false;
  for (const auto& [to, dead] : d.sent<Dead>()) told |= dead.name == "a" && dead.from == "a";
  EXPECT_TRUE(told);
  // A stale alive about us does not undo the leave.
  d.receive("b", {Alive{member("a", 5)}});
  EXPECT_EQ(d.swim.local_member().state, MemberState::left);
}

TEST(SwimLifecycle, OwnIncarnationNeverDecreases) {
  SwimConfig config = config_for("a");
  config.initial_incarnation = 9;
  Driver d(config);
  d.know({member("b")});
  d.receive("b", {Alive{member("a", 3)}});
  EXPECT_EQ(d.swim.local_member().incarnation, 10u);
  // A previous life's higher incarnation is refuted from above.
  d.receive("b", {Alive{Member{"a", "id-a", "old.test:1", 12, MemberState::alive, {}}}});
  EXPECT_EQ(d.swim.local_member().incarnation, 13u);
  EXPECT_EQ(d.swim.local_member().address, address_of("a"));
}

TEST(SwimLifecycle, ARestartStartsAboveItsPersistedIncarnation) {
  // The previous life may have advertised incarnation 9 with other tags or
  // another address: reusing 9 would leave peers with two truths for it.
  SwimConfig config = config_for("a");
  config.initial_incarnation = 9;
  config.tags = {{"role", "db"}};
  Driver d(config);
  EXPECT_EQ(d.swim.local_incarnation(), 10u);
  d.swim.join(d.now, {address_of("b")});
  d.collect();
  d.swim.on_push_pull_reply(d.now, address_of("b"), PushPull{false, {member("b"), member("a", 9)}});
  d.collect();
  EXPECT_EQ(d.swim.local_incarnation(), 10u);
  d.advance(seconds(1));
  auto alives = d.sent<Alive>();
  ASSERT_FALSE(alives.empty());
  for (const auto& [to, alive] : alives) {
    if (alive.member.name == "a") {
      EXPECT_EQ(alive.member.incarnation, 10u);
    }
  }
  // A node with nothing persisted starts at 0.
  Driver fresh(config_for("c"));
  EXPECT_EQ(fresh.swim.local_incarnation(), 0u);
}

// ------------------------------------------------- untrusted incarnations

constexpr Incarnation kMaxIncarnation = std::numeric_limits<Incarnation>::max();

TEST(SwimIncarnation, AForgedHugeLeaveOrDeathIsRefused) {
  Driver d(config_for("a"));
  d.know({member("b", 1), member("c")});
  d.receive("x", {Dead{"b", kMaxIncarnation, "b"}, Dead{"c", kMaxIncarnation, "x"},
                  Suspect{"c", kMaxIncarnation, "x"}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(d.swim.member("b")->incarnation, 1u);
  EXPECT_EQ(d.swim.member("c")->state, MemberState::alive);
  EXPECT_EQ(d.swim.counters().incarnations_refused, 3u);
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_STREQ(d.warnings.front().kind, "incarnation");
  EXPECT_NE(d.warnings.front().text.find("node b"), std::string::npos) << d.warnings.front().text;
  // Nothing about the forged claims is gossiped on.
  for (const auto& [to, dead] : d.sent<Dead>()) EXPECT_NE(dead.incarnation, kMaxIncarnation);
  // The same by push-pull.
  d.swim.on_push_pull(d.now, PushPull{false, {member("b", kMaxIncarnation, MemberState::left)}});
  d.collect();
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  // A real leave, one above, still counts; so does a jump right at the bound.
  d.receive("b", {Dead{"b", 2, "b"}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::left);
  d.receive("x", {Suspect{"c", SwimConfig{}.max_incarnation_jump, "x"}});
  EXPECT_EQ(d.swim.member("c")->state, MemberState::suspect);
}

TEST(SwimIncarnation, AForgedHugeAliveCannotPinTags) {
  Driver d(config_for("a"));
  d.know({member("b", 3, MemberState::alive, {{"role", "web"}})});
  d.receive("x", {Alive{member("b", kMaxIncarnation, MemberState::alive, {{"role", "forged"}})}});
  EXPECT_EQ(d.swim.member("b")->tags.at("role"), "web");
  // The node's real change still spreads.
  d.receive("b", {Alive{member("b", 4, MemberState::alive, {{"role", "db"}})}});
  EXPECT_EQ(d.swim.member("b")->tags.at("role"), "db");
  EXPECT_EQ(d.swim.member("b")->incarnation, 4u);
  // A member first heard of at an implausible incarnation is not taken in.
  d.receive("x", {Alive{member("ghost", kMaxIncarnation)}});
  EXPECT_FALSE(d.swim.member("ghost").has_value());
  EXPECT_EQ(d.swim.counters().incarnations_refused, 2u);
}

TEST(SwimIncarnation, ANodeIgnoresForgedClaimsAboutItselfAndCanAlwaysRefute) {
  SwimConfig config = config_for("a");
  config.initial_incarnation = 4;
  Driver d(config);
  d.know({member("b")});
  d.receive("x", {Suspect{"a", kMaxIncarnation, "x"}, Dead{"a", kMaxIncarnation, "x"},
                  Alive{Member{"a", "id-a", "forged.test:1", kMaxIncarnation, MemberState::alive, {}}}});
  // Peers refuse these too: answering with 2^64 - 1 would leave nothing to refute the next claim with.
  EXPECT_EQ(d.swim.local_incarnation(), 5u);
  EXPECT_EQ(d.swim.local_member().state, MemberState::alive);
  EXPECT_EQ(d.swim.counters().incarnations_refused, 3u);
  EXPECT_EQ(d.swim.counters().refutations, 0u);
  // A plausible accusation is refuted from above, however high.
  const Incarnation high = 5 + SwimConfig{}.max_incarnation_jump;
  d.receive("x", {Suspect{"a", high, "x"}});
  EXPECT_EQ(d.swim.local_incarnation(), high + 1);
  EXPECT_EQ(d.swim.counters().refutations, 1u);
}

// ------------------------------------------------------- bounded tables

TEST(SwimMemberTable, TheTableIsCappedAndRefusalsCounted) {
  SwimConfig config = config_for("a");
  config.max_members = 5;
  Driver d(config);
  std::vector<Message> flood;
  for (int i = 0; i < 10; ++i) flood.push_back(Alive{member("n" + std::to_string(i))});
  d.receive("x", flood);
  EXPECT_EQ(d.swim.members().size(), 5u);
  EXPECT_EQ(d.swim.counters().members_refused, 6u);
  ASSERT_FALSE(d.warnings.empty());
  EXPECT_STREQ(d.warnings.front().kind, "member-cap");
  // Members already held still update.
  d.receive("n0", {Alive{member("n0", 1, MemberState::alive, {{"k", "v"}})}});
  EXPECT_EQ(d.swim.member("n0")->tags.at("k"), "v");
}

// A flood of forged alives fills the table with members nobody has seen; a
// node that joins through us (its push-pull reaches us over TCP) still gets in.
TEST(SwimMemberTable, AFullTableOfUnconfirmedMembersStillAdmitsAJoiner) {
  SwimConfig config = config_for("a");
  config.max_members = 5;
  Driver d(config);
  std::vector<Message> flood;
  for (int i = 0; i < 10; ++i) flood.push_back(Alive{member("forged" + std::to_string(i))});
  d.receive("x", flood);
  ASSERT_EQ(d.swim.members().size(), 5u);
  const uint64_t refused = d.swim.counters().members_refused;

  d.swim.on_push_pull(d.now, PushPull{true, {member("joiner"), member("other")}});
  d.collect();
  ASSERT_TRUE(d.swim.member("joiner").has_value());
  EXPECT_EQ(d.swim.member("joiner")->state, MemberState::alive);
  EXPECT_EQ(d.swim.members().size(), 5u);
  EXPECT_EQ(d.swim.counters().unconfirmed_evicted, 1u);
  // Only the sender has evidence: the member it lists is refused as before.
  EXPECT_FALSE(d.swim.member("other").has_value());
  EXPECT_EQ(d.swim.counters().members_refused, refused + 1);
  size_t evicted = 0;
  for (const MemberEvent& e : d.events) {
    if (e.type == MemberEventType::reaped && e.member.name.rfind("forged", 0) == 0) ++evicted;
  }
  EXPECT_EQ(evicted, 1u);
  // The answer to a push-pull we started counts too, wherever the peer sits in it.
  d.swim.on_push_pull_reply(d.now, address_of("seed"), PushPull{false, {member("listed"), member("seed")}});
  d.collect();
  EXPECT_TRUE(d.swim.member("seed").has_value());
  EXPECT_FALSE(d.swim.member("listed").has_value());
  EXPECT_EQ(d.swim.counters().unconfirmed_evicted, 2u);
  // A gossiped claim about a new name still evicts nothing.
  d.receive("x", {Alive{member("claimed")}});
  EXPECT_FALSE(d.swim.member("claimed").has_value());
  EXPECT_EQ(d.swim.counters().unconfirmed_evicted, 2u);
}

TEST(SwimMemberTable, ForgedClaimsCannotEvictConfirmedMembers) {
  SwimConfig config = config_for("a");
  config.max_members = 4;
  Driver d(config);
  d.auto_ack = true;
  d.know({member("b")});  // b pushed its state to us
  d.receive("x", {Alive{member("c")}, Alive{member("forged")}});
  ASSERT_EQ(d.swim.members().size(), 4u);
  // c answers our probes; the forged member never does.
  d.silent = {"forged"};
  for (int i = 0; i < 20 && d.swim.counters().acks_received < 3; ++i) d.advance(seconds(1));
  ASSERT_GE(d.swim.counters().acks_received, 3u);

  // Gossip cannot displace anyone; a joiner takes the one unconfirmed slot.
  d.receive("x", {Alive{member("claimed")}});
  EXPECT_FALSE(d.swim.member("claimed").has_value());
  d.swim.on_push_pull(d.now, PushPull{true, {member("joiner")}});
  d.collect();
  EXPECT_TRUE(d.swim.member("joiner").has_value());
  EXPECT_FALSE(d.swim.member("forged").has_value());
  // Now every member is confirmed: the next joiner is refused, and nobody goes.
  const uint64_t refused = d.swim.counters().members_refused;
  d.swim.on_push_pull(d.now, PushPull{true, {member("late")}});
  d.collect();
  EXPECT_FALSE(d.swim.member("late").has_value());
  EXPECT_EQ(d.swim.counters().members_refused, refused + 1);
  EXPECT_EQ(d.swim.counters().unconfirmed_evicted, 1u);
  for (const char* name : {"a", "b", "c", "joiner"}) EXPECT_TRUE(d.swim.member(name).has_value()) << name;
}

// A newcomer that joins through a crowded node gets up to max_members
// members back; the node it joined through is among those it keeps.
TEST(SwimMemberTable, AJoinerKeepsTheNodeItJoinedThroughWhenTheReplyFillsItsTable) {
  SwimConfig config = config_for("j");
  config.max_members = 4;
  Driver d(config);
  d.swim.join(d.now, {address_of("seed")});
  d.collect();
  PushPull reply;
  for (int i = 0; i < 6; ++i) reply.members.push_back(member("forged" + std::to_string(i)));
  reply.members.push_back(member("seed"));
  d.swim.on_push_pull_reply(d.now, address_of("seed"), reply);
  d.collect();
  ASSERT_TRUE(d.swim.member("seed").has_value());
  EXPECT_EQ(d.swim.member("seed")->state, MemberState::alive);
  EXPECT_EQ(d.swim.members().size(), 4u);
}

TEST(SwimMemberTable, FailedMembersThatNeverAnsweredAreReapedSoon) {
  SwimConfig config = config_for("a");
  config.reap_unconfirmed_after = seconds(60);
  Driver d(config);
  d.auto_ack = true;
  d.silent = {"ghost"};
  d.know({member("b"), member("c"), member("ghost")});
  // Probe until b has answered and the ghost has been declared failed.
  for (int i = 0; i < 600 && (d.swim.member("ghost")->state != MemberState::dead || d.swim.counters().acks_received < 4);
       ++i) {
    d.advance(seconds(1));
  }
  ASSERT_EQ(d.swim.member("ghost")->state, MemberState::dead);
  d.silent = {"ghost", "b"};
  d.receive("c", {Dead{"b", 0, "c"}});
  ASSERT_EQ(d.swim.member("b")->state, MemberState::dead);
  d.advance(seconds(90));
  EXPECT_FALSE(d.swim.member("ghost").has_value());
  EXPECT_EQ(d.count_events(MemberEventType::reaped, "ghost"), 1u);
  // b answered us before it failed: it is kept for reap_failed_after.
  EXPECT_TRUE(d.swim.member("b").has_value());
  EXPECT_EQ(d.swim.counters().unconfirmed_reaped, 1u);
}

TEST(SwimMemberTable, RememberedCollisionsAreBounded) {
  SwimConfig config = config_for("a");
  config.max_reported_collisions = 4;
  Driver d(config);
  d.know({member("b")});
  for (int i = 0; i < 20; ++i) {
    d.receive("x", {Alive{Member{"b", "forged-" + std::to_string(i), "10.0.0.9:8301", 0, MemberState::alive, {}}}});
  }
  EXPECT_LE(d.swim.remembered_collisions(), 4u);
  EXPECT_EQ(d.swim.counters().collisions, 20u);
  EXPECT_EQ(d.swim.member("b")->id, "id-b");
}

TEST(SwimPushPull, AStateOverTheSizeLimitKeepsLiveMembersAndStubsTags) {
  SwimConfig config = config_for("a");
  config.max_push_pull_bytes = 3000;
  Driver d(config);
  std::vector<Member> members;
  for (int i = 0; i < 10; ++i) {
    members.push_back(member("live" + std::to_string(i), 0, MemberState::alive, {{"blob", std::string(500, 'x')}}));
  }
  for (int i = 0; i < 40; ++i) members.push_back(member("gone" + std::to_string(i), 0, MemberState::alive));
  d.know(members);
  for (int i = 0; i < 40; ++i) d.receive("x", {Dead{"gone" + std::to_string(i), 0, "x"}});
  d.swim.join(d.now, {address_of("live0")});
  d.collect();
  ASSERT_EQ(d.push_pulls.size(), 1u);
  const PushPull& state = d.push_pulls.front().state;
  size_t bytes = 0;
  size_t live = 0;
  for (const Member& m : state.members) {
    bytes += estimated_size(m) + 8;
    if (m.name.rfind("live", 0) == 0) {
      ++live;
      EXPECT_EQ(m.state, MemberState::alive);
    }
  }
  EXPECT_LE(bytes, 3000u);
  EXPECT_EQ(state.members.front().name, "a");
  EXPECT_EQ(live, 10u);  // every live member, some with stubs for tags
  EXPECT_LT(state.members.size(), 51u);  // not every failed one
}

// ------------------------------------------------------------ broadcasts

TEST(BroadcastQueue, RetransmitLimitGrowsWithLogN) {
  EXPECT_EQ(retransmit_limit(4, 1), 4);
  EXPECT_EQ(retransmit_limit(4, 9), 4);
  EXPECT_EQ(retransmit_limit(4, 10), 8);
  EXPECT_EQ(retransmit_limit(4, 1000), 16);
}

TEST(BroadcastQueue, EachMessageIsSentUpToTheLimit) {
  BroadcastQueue queue;
  queue.queue("b", Suspect{"b", 1, "a"});
  int sent = 0;
  for (int i = 0; i < 20; ++i) sent += static_cast<int>(queue.take(1400, 4).size());
  EXPECT_EQ(sent, 4);
  EXPECT_TRUE(queue.empty());
}

TEST(BroadcastQueue, NewerNewsAboutANodeReplacesOlder) {
  BroadcastQueue queue;
  queue.queue("b", Suspect{"b", 1, "a"});
  queue.take(1400, 4);
  queue.queue("b", Dead{"b", 1, "a"});
  queue.queue("c", Suspect{"c", 1, "a"});
  EXPECT_EQ(queue.size(), 2u);
  auto taken = queue.take(1400, 4);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Suspect>(taken[0]));  // newest first among the unsent
  EXPECT_TRUE(std::holds_alternative<Dead>(taken[1]));
}

TEST(BroadcastQueue, LeastSentFirstWithinTheBudget) {
  BroadcastQueue queue;
  queue.queue("b", Suspect{"b", 1, "a"});
  queue.take(1400, 10);
  queue.queue("c", Suspect{"c", 1, "a"});
  size_t one = estimated_size(Message{Suspect{"c", 1, "a"}});
  auto taken = queue.take(one, 10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(std::get<Suspect>(taken[0]).name, "c");
}

TEST(BroadcastQueue, PeekCountsNoTransmission) {
  BroadcastQueue queue;
  queue.queue("b", Suspect{"b", 1, "a"});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(queue.peek(1400).size(), 1u);
  int sent = 0;
  for (int i = 0; i < 20; ++i) sent += static_cast<int>(queue.take(1400, 4).size());
  EXPECT_EQ(sent, 4);
  EXPECT_TRUE(queue.empty());
}

TEST(SwimBroadcast, GossipCarriesNewsAndRespectsThePacketSize) {
  SwimConfig config = quiet_config_for("a");
  Driver d(config);
  std::vector<Member> pool = pool_of(60);
  d.know(pool);
  // The news goes out eagerly first, as extra copies...
  d.advance(config.eager_gossip_delay);
  const size_t extra_copies = d.sent<Alive>().size();
  EXPECT_GT(extra_copies, 0u);
  d.advance(seconds(10));
  // ...and the regular rounds still send each of the 60 alive broadcasts
  // retransmit_limit(61) = 8 times.
  EXPECT_EQ(d.sent<Alive>().size() - extra_copies, 60u * 8u);
  for (const auto& p : d.packets) {
    size_t size = kPacketOverheadBytes;
    for (const Message& m : p.packet.messages) size += estimated_size(m);
    EXPECT_LE(size, config.max_packet_bytes);
  }
  EXPECT_EQ(d.swim.queued_broadcasts(), 0u);
}

// Regular gossip rounds an hour apart: what goes out soon is the eager relay.
SwimConfig eager_config_for(const std::string& name) {
  SwimConfig config = quiet_config_for(name);
  config.gossip_interval = std::chrono::hours(1);
  return config;
}

std::set<std::string> peers_sent(const std::vector<OutgoingPacket>& packets, auto is_news) {
  std::set<std::string> to;
  for (const auto& p : packets) {
    for (const Message& m : p.packet.messages) {
      if (is_news(m)) to.insert(p.address);
    }
  }
  return to;
}

auto alive_of(const std::string& name, Incarnation incarnation) {
  return [=](const Message& m) {
    const Alive* alive = std::get_if<Alive>(&m);
    return alive != nullptr && alive->member.name == name && alive->member.incarnation == incarnation;
  };
}

// a knows nine peers (preloaded: no news queued).
class EagerRelay : public testing::Test {
 protected:
  explicit EagerRelay(int eager_rounds = SwimConfig{}.eager_gossip_rounds) : config(eager_config(eager_rounds)), d(config) {
    d.swim.preload(d.now, pool_of(10));
  }
  static SwimConfig eager_config(int eager_rounds) {
    SwimConfig config = eager_config_for("a");
    config.eager_gossip_rounds = eager_rounds;
    return config;
  }
  // Sends every queued broadcast its retransmissions, piggybacked on acks.
  void drain() {
    for (uint32_t sequence = 1; sequence < 100 && d.swim.queued_broadcasts() > 0; ++sequence) {
      d.receive("n1", {Ping{sequence, "a", "n1", address_of("n1")}});
    }
    ASSERT_EQ(d.swim.queued_broadcasts(), 0u);
    d.packets.clear();
  }
  size_t relayed_to(const std::string& name, Incarnation incarnation) const {
    return peers_sent(d.packets, alive_of(name, incarnation)).size();
  }

  SwimConfig config;
  Driver d;
};

TEST_F(EagerRelay, NewsFromAPeerIsRelayedAfterTheEagerDelay) {
  d.receive("n1", {Alive{member("n3", 1, MemberState::alive, {{"role", "db"}})}});
  d.advance(config.eager_gossip_delay - milliseconds(1));
  EXPECT_TRUE(d.packets.empty());
  d.advance(milliseconds(1));
  EXPECT_EQ(relayed_to("n3", 1), static_cast<size_t>(config.gossip_nodes));
  // Old news is not relayed again.
  drain();
  d.receive("n2", {Alive{member("n3", 1, MemberState::alive, {{"role", "db"}})}});
  d.advance(milliseconds(100));
  EXPECT_TRUE(d.packets.empty());
}

TEST_F(EagerRelay, NewsArrivingTogetherSharesOneEagerRound) {
  d.receive("n1", {Alive{member("n3", 1)}});
  d.advance(milliseconds(2));
  d.receive("n2", {Alive{member("n4", 1)}});
  d.advance(config.eager_gossip_delay);
  EXPECT_EQ(d.packets.size(), static_cast<size_t>(config.gossip_nodes));
  EXPECT_EQ(relayed_to("n3", 1), static_cast<size_t>(config.gossip_nodes));
  EXPECT_EQ(relayed_to("n4", 1), static_cast<size_t>(config.gossip_nodes));
}

TEST_F(EagerRelay, NewsWaitsForTheRoundWhileOtherNewsIsQueued) {
  // A busy node (a join storm, a burst of joins) adds no packets of its own.
  d.receive("n1", {Alive{member("n3", 1)}});
  d.advance(milliseconds(10));
  d.packets.clear();
  d.receive("n2", {Alive{member("n4", 1)}});
  d.advance(seconds(1));
  EXPECT_TRUE(d.packets.empty());
}

class TwoEagerRounds : public EagerRelay {
 protected:
  TwoEagerRounds() : EagerRelay(2) {}
};

TEST_F(TwoEagerRounds, EagerRoundsAreCappedPerGossipInterval) {
  for (int news = 0; news < 3; ++news) {
    const std::string name = "n" + std::to_string(3 + news);
    d.receive("n1", {Alive{member(name, 1)}});
    d.advance(milliseconds(10));
    EXPECT_EQ(relayed_to(name, 1), news < 2 ? static_cast<size_t>(config.gossip_nodes) : 0u) << name;
    drain();
  }
}

class NoEagerRounds : public EagerRelay {
 protected:
  NoEagerRounds() : EagerRelay(0) {}
};

TEST_F(NoEagerRounds, NewsWaitsForTheRoundAsInMemberlist) {
  d.receive("n1", {Alive{member("n3", 1)}});
  d.advance(seconds(1));
  EXPECT_TRUE(d.packets.empty());
}

// ------------------------------------------------------------- push-pull

TEST(SwimPushPull, ANewcomerAnnouncesItselfAtOnce) {
  SwimConfig config = eager_config_for("a");
  Driver d(config);
  d.swim.join(d.now, {address_of("n0")});
  d.collect();
  d.swim.on_push_pull_reply(d.now, address_of("n0"), PushPull{false, pool_of(10)});
  d.collect();
  d.advance(config.eager_gossip_delay);
  EXPECT_EQ(peers_sent(d.packets, alive_of("a", 0)).size(), static_cast<size_t>(config.gossip_nodes));
}

TEST(SwimPushPull, JoinSendsOurStateAndMergesTheReply) {
  SwimConfig config = quiet_config_for("a");
  config.early_push_pull_delays = {seconds(2)};
  Driver d(config);
  d.swim.join(d.now, {address_of("b"), address_of("a")});
  d.collect();
  ASSERT_EQ(d.push_pulls.size(), 1u);
  EXPECT_EQ(d.push_pulls[0].address, address_of("b"));
  EXPECT_TRUE(d.push_pulls[0].state.join);
  EXPECT_EQ(d.push_pulls[0].reason, PushPullReason::join);
  ASSERT_EQ(d.push_pulls[0].state.members.size(), 1u);
  EXPECT_EQ(d.push_pulls[0].state.members[0].name, "a");

  d.swim.on_push_pull_reply(d.now, address_of("b"),
                            PushPull{false, {member("b", 3), member("c", 1, MemberState::suspect),
                                             member("d", 2, MemberState::left), member("e", 0, MemberState::dead)}});
  d.collect();
  EXPECT_EQ(d.swim.member("b")->incarnation, 3u);
  // Unknown non-live members are not taken on hearsay.
  EXPECT_FALSE(d.swim.member("c").has_value());
  EXPECT_FALSE(d.swim.member("d").has_value());
  EXPECT_EQ(d.count_events(MemberEventType::join, "b"), 1u);
  // The early sync closes the join tail.
  d.advance(seconds(3));
  ASSERT_EQ(d.push_pulls.size(), 2u);
  EXPECT_EQ(d.push_pulls[1].reason, PushPullReason::early);
  EXPECT_FALSE(d.push_pulls[1].state.join);
}

TEST(SwimPushPull, RemoteStateMergesByIncarnationAndDeadBecomesSuspect) {
  Driver d(config_for("a"));
  d.know({member("b", 1), member("c", 1), member("d", 1)});
  PushPull reply = d.swim.on_push_pull(
      d.now, PushPull{false, {member("b", 2, MemberState::alive, {{"role", "web"}}), member("c", 1, MemberState::dead),
                              member("d", 1, MemberState::left), member("e", 0)}});
  d.collect();
  EXPECT_EQ(reply.members.size(), 4u);  // our state before the merge
  EXPECT_EQ(d.swim.member("b")->tags.at("role"), "web");
  EXPECT_EQ(d.swim.member("c")->state, MemberState::suspect);
  EXPECT_EQ(d.swim.member("d")->state, MemberState::left);
  EXPECT_EQ(d.swim.member("e")->state, MemberState::alive);
  EXPECT_EQ(d.swim.counters().push_pulls_served, 2u);  // know() is one too
}

TEST(SwimPushPull, PeriodicSyncScalesWithPoolSize) {
  SwimConfig config = quiet_config_for("a");
  Driver d(config);
  d.know({member("b")});
  d.advance(seconds(95));
  size_t small = 0;
  for (const auto& p : d.push_pulls) small += p.reason == PushPullReason::periodic;
  EXPECT_GE(small, 3u);
  Driver big(config);
  big.know(pool_of(100));  // scale: ceil(log2(101) - 5) + 1 = 3 -> every 90 s
  big.advance(seconds(95));
  size_t large = 0;
  for (const auto& p : big.push_pulls) large += p.reason == PushPullReason::periodic;
  EXPECT_LE(large, 2u);
}

// ------------------------------------------------------------------ tags

TEST(SwimTags, UpdatesSpreadByIncarnation) {
  Driver d(config_for("a"));
  d.know({member("b", 1, MemberState::alive, {{"role", "web"}})});
  d.receive("b", {Alive{member("b", 1, MemberState::alive, {{"role", "db"}})}});
  EXPECT_EQ(d.swim.member("b")->tags.at("role"), "web");
  d.receive("b", {Alive{member("b", 2, MemberState::alive, {{"role", "db"}})}});
  EXPECT_EQ(d.swim.member("b")->tags.at("role"), "db");
  EXPECT_EQ(d.count_events(MemberEventType::update, "b"), 1u);

  ASSERT_TRUE(d.swim.set_tags(d.now, {{"env", "prod"}}).is_ok());
  EXPECT_EQ(d.swim.local_member().incarnation, 1u);
  // The change leaves at once, not at the next gossip round.
  d.collect();
  bool spread = false;
  for (const auto& [to, alive] : d.sent<Alive>()) spread |= alive.member.name == "a" && alive.member.tags.count("env");
  EXPECT_TRUE(spread);
}

TEST(SwimTags, RejectsReservedEmptyAndOversizedTags) {
  Driver d(config_for("a"));
  EXPECT_EQ(d.swim.set_tags(d.now, {{"", "x"}}).code(), StatusCode::invalid_argument);
  EXPECT_EQ(d.swim.set_tags(d.now, {{std::string("\x01x"), "x"}}).code(), StatusCode::invalid_argument);
  EXPECT_EQ(d.swim.set_tags(d.now, {{"big", std::string(70 * 1024, 'x')}}).code(), StatusCode::too_large);
  EXPECT_EQ(d.swim.local_member().incarnation, 0u);
}

TEST(SwimTags, AcceptsTheAgentsOwnReservedKeysOnly) {
  Driver d(config_for("a"));
  EXPECT_EQ(d.swim.set_tags(d.now, {{kTagsOmittedKey, "x"}}).code(), StatusCode::invalid_argument);
  ASSERT_TRUE(d.swim.set_tags(d.now, {{kServerTagKey, "1"}, {kHttpAddressTagKey, "10.0.0.1:8500"}}).is_ok());
  EXPECT_EQ(d.swim.local_member().tags.at(kHttpAddressTagKey), "10.0.0.1:8500");
}

TagMap large_tags() {
  TagMap tags;
  for (int i = 0; i < 40; ++i) tags["key-" + std::to_string(i)] = std::string(100, static_cast<char>('a' + i % 26));
  return tags;
}

TEST(SwimTags, LargeTagsTravelByPushPullOnly) {
  Driver d(quiet_config_for("a"));
  d.know(pool_of(5));
  ASSERT_TRUE(d.swim.set_tags(d.now, large_tags()).is_ok());  // ~4.4 KB, no 512-byte cap
  d.collect();
  EXPECT_EQ(d.push_pulls.size(), 2u);  // relayed over TCP at once
  for (const auto& p : d.push_pulls) {
    const Member* me = nullptr;
    for (const Member& m : p.state.members) me = m.name == "a" ? &m : me;
    ASSERT_NE(me, nullptr);
    EXPECT_EQ(me->tags, large_tags());
  }
  d.advance(seconds(2));
  auto alives = d.sent<Alive>();
  ASSERT_FALSE(alives.empty());
  for (const auto& [to, alive] : alives) {
    if (alive.member.name != "a") continue;
    ASSERT_EQ(alive.member.tags.size(), 1u);
    EXPECT_EQ(alive.member.tags.begin()->first, kTagsOmittedKey);
  }
}

TEST(SwimTags, AStubMakesTagsStaleUntilFetched) {
  Driver owner(quiet_config_for("b"));
  owner.know({member("a")});
  ASSERT_TRUE(owner.swim.set_tags(owner.now, large_tags()).is_ok());
  owner.advance(seconds(1));
  Alive stub;
  for (const auto& [to, alive] : owner.sent<Alive>()) {
    if (alive.member.name == "b") stub = alive;
  }
  ASSERT_EQ(stub.member.incarnation, 1u);

  Driver d(config_for("a"));
  d.know({member("b"), member("c")});
  d.receive("c", {stub});
  EXPECT_EQ(d.swim.member("b")->incarnation, 1u);
  EXPECT_TRUE(d.swim.member("b")->tags.empty());
  // Our push-pull state must not present the stale tags as current.
  PushPull state = d.swim.on_push_pull(d.now, PushPull{});
  for (const Member& m : state.members) {
    if (m.name == "b") {
      EXPECT_EQ(m.tags.begin()->first, kTagsOmittedKey);
    }
  }
  d.advance(seconds(5));
  const PushPullRequest* fetch = nullptr;
  for (const auto& p : d.push_pulls) fetch = p.reason == PushPullReason::tag_fetch ? &p : fetch;
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->address, address_of("b"));
  d.swim.on_push_pull_reply(d.now, address_of("b"), owner.swim.on_push_pull(owner.now, fetch->state));
  d.collect();
  EXPECT_EQ(d.swim.member("b")->tags, large_tags());
  EXPECT_EQ(d.count_events(MemberEventType::update, "b"), 1u);
  // A later stub with the same digest (a refutation, say) keeps the tags.
  Alive refuted = stub;
  refuted.member.incarnation = 2;
  d.receive("b", {refuted});
  EXPECT_EQ(d.swim.member("b")->tags, large_tags());
}

// --------------------------------------------------------------- address

TEST(SwimAddress, AddressChangeKeepsNameAndId) {
  Driver d(config_for("a"));
  d.know({member("b", 1)});
  Member moved = member("b", 1);
  moved.address = "10.9.9.9:8301";
  d.receive("b", {Alive{moved}});
  EXPECT_EQ(d.swim.member("b")->address, address_of("b"));  // not without a newer incarnation
  moved.incarnation = 2;
  d.receive("b", {Alive{moved}});
  EXPECT_EQ(d.swim.member("b")->address, "10.9.9.9:8301");
  EXPECT_EQ(d.count_events(MemberEventType::update, "b"), 1u);

  ASSERT_TRUE(d.swim.set_address(d.now, "10.1.1.1:8301").is_ok());
  EXPECT_EQ(d.swim.local_member().address, "10.1.1.1:8301");
  EXPECT_EQ(d.swim.local_member().incarnation, 1u);
  EXPECT_EQ(d.swim.local_member().id, "id-a");
}

// ------------------------------------------------------------ member table

TEST(SwimMemberTable, PreloadAddsLiveMembersWithoutNews) {
  Driver d(config_for("a"));
  d.swim.preload(d.now, {member("a", 7), member("b", 3), member("c"), member("dup-of-c")});
  d.collect();
  EXPECT_EQ(d.swim.member("b")->incarnation, 3u);
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(d.swim.local_member().incarnation, 0u);  // not ours to change
  EXPECT_EQ(d.swim.live_member_count(), 4u);
  EXPECT_EQ(d.count_events(MemberEventType::join, "c"), 1u);
  EXPECT_EQ(d.swim.queued_broadcasts(), 0u);
  // Known members are left alone.
  d.swim.preload(d.now, {member("b", 1, MemberState::alive, {{"role", "x"}})});
  EXPECT_EQ(d.swim.member("b")->incarnation, 3u);
  EXPECT_TRUE(d.swim.member("b")->tags.empty());
}

TEST(SwimMemberTable, APoolSharesRecordsAcrossSwims) {
  auto pool = std::make_shared<MemberRecordPool>();
  SwimConfig config_a = config_for("a");
  SwimConfig config_b = config_for("b");
  config_a.record_pool = pool;
  config_b.record_pool = pool;
  Driver a(config_a), b(config_b);
  a.know({member("c", 1, MemberState::alive, {{"role", "db"}})});
  b.know({member("c", 1, MemberState::alive, {{"role", "db"}})});
  EXPECT_EQ(pool->size(), 3u);  // a, b and c: one record each
  // A new address is a new record; the member keeps its name and ID.
  Member moved = member("c", 2, MemberState::alive, {{"role", "db"}});
  moved.address = "c.test:9999";
  a.receive("c", {Alive{moved}});
  EXPECT_EQ(pool->size(), 4u);
  EXPECT_EQ(a.swim.member("c")->address, "c.test:9999");
  EXPECT_EQ(b.swim.member("c")->address, address_of("c"));
}

TEST(SwimMemberTable, RecordChangesKeepTheIndexes) {
  // Address and tag changes replace a member's record; lookups by name and
  // the ID collision check must follow.
  Driver d(config_for("a"));
  d.know({member("b"), member("c")});
  for (Incarnation inc = 1; inc <= 20; ++inc) {
    Member b = member("b", inc, MemberState::alive, {{"n", std::to_string(inc)}});
    b.address = "b.test:" + std::to_string(9000 + inc);
    d.receive("b", {Alive{b}});
  }
  ASSERT_TRUE(d.swim.member("b"));
  EXPECT_EQ(d.swim.member("b")->address, "b.test:9020");
  EXPECT_EQ(d.swim.member("b")->tags.at("n"), "20");
  // Someone else claiming b's ID is refused.
  Member thief = member("thief");
  thief.id = "id-b";
  d.receive("thief", {Alive{thief}});
  EXPECT_FALSE(d.swim.member("thief"));
  EXPECT_EQ(d.swim.counters().collisions, 1u);
  ASSERT_TRUE(d.swim.set_tags(d.now, {{"role", "web"}}).is_ok());
  ASSERT_TRUE(d.swim.set_address(d.now, "a.test:1").is_ok());
  EXPECT_EQ(d.swim.local_member().tags.at("role"), "web");
  EXPECT_EQ(d.swim.local_member().address, "a.test:1");
  EXPECT_EQ(d.swim.members().size(), 3u);
}

TEST(SwimMemberTable, AnIdTakenOverFromAFailedMemberOutlivesItsRecord) {
  // b fails; b2 comes up with b's node ID (a rebuilt machine, renamed). When
  // b is reaped, its record goes: the ID index must not still point into it.
  SwimConfig config = config_for("a");
  config.reap_failed_after = seconds(60);
  Driver d(config);
  d.auto_ack = true;  // b2 and c stay alive
  d.know({member("b"), member("c")});
  d.receive("c", {Dead{"b", 0, "c"}});
  Member b2 = member("b2");
  b2.id = "id-b";
  d.receive("b2", {Alive{b2}});
  ASSERT_TRUE(d.swim.member("b2"));
  d.advance(seconds(80));
  ASSERT_FALSE(d.swim.member("b"));
  Member thief = member("thief");
  thief.id = "id-b";
  d.receive("thief", {Alive{thief}});
  EXPECT_FALSE(d.swim.member("thief"));  // b2 holds the ID
  EXPECT_EQ(d.swim.counters().collisions, 1u);
}

// ------------------------------------------------------------- collision

TEST(SwimCollision, TheNewcomerGetsAClearErrorAndHalts) {
  SwimConfig config = config_for("web-7");
  config.id = "clone-id";
  config.address = "10.0.0.99:8301";
  Driver d(config);
  d.swim.join(d.now, {address_of("b")});
  d.collect();
  d.swim.on_push_pull_reply(d.now, address_of("b"), PushPull{false, {member("b"), member("web-7", 4)}});
  d.collect();
  ASSERT_TRUE(d.swim.halted());
  EXPECT_EQ(d.swim.halt_reason(), "node name web-7 is already in use by ID id-web-7 at web-7.test:8301");
  ASSERT_EQ(d.count_events(MemberEventType::collision, "web-7"), 1u);
  d.packets.clear();
  d.advance(seconds(10));
  EXPECT_TRUE(d.packets.empty());
  EXPECT_EQ(d.swim.next_deadline(), TimePoint::max());
}

TEST(SwimCollision, TheExistingNodeAndThePoolKeepTheHolder) {
  Driver existing(config_for("web-7"));
  existing.know({member("b")});
  Member clone{"web-7", "clone-id", "10.0.0.99:8301", 0, MemberState::alive, {}};
  existing.swim.on_push_pull(existing.now, PushPull{true, {clone}});
  existing.collect();
  EXPECT_FALSE(existing.swim.halted());
  EXPECT_EQ(existing.swim.local_member().id, "id-web-7");
  EXPECT_EQ(existing.swim.local_member().incarnation, 0u);
  ASSERT_EQ(existing.count_events(MemberEventType::collision, "web-7"), 1u);

  Driver other(config_for("c"));
  other.know({member("web-7", 2)});
  other.receive("x", {Alive{Member{"web-7", "clone-id", "10.0.0.99:8301", 9, MemberState::alive, {}}}});
  EXPECT_EQ(other.swim.member("web-7")->id, "id-web-7");
  EXPECT_EQ(other.swim.member("web-7")->incarnation, 2u);
  EXPECT_EQ(other.count_events(MemberEventType::collision, "web-7"), 1u);
  // A duplicate node ID under another name is refused the same way.
  other.receive("x", {Alive{Member{"web-8", "id-web-7", "10.0.0.98:8301", 0, MemberState::alive, {}}}});
  EXPECT_FALSE(other.swim.member("web-8").has_value());
  // Once the holder has failed, the name can be taken by a new ID.
  other.receive("x", {Dead{"web-7", 2, "x"}});
  other.receive("x", {Alive{Member{"web-7", "new-id", "10.0.0.99:8301", 0, MemberState::alive, {}}}});
  EXPECT_EQ(other.swim.member("web-7")->id, "new-id");
  EXPECT_EQ(other.swim.member("web-7")->state, MemberState::alive);
}


// ---------------------------------------------------------------- force-leave

TEST(SwimForceLeave, AFailedMemberBecomesLeft) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b"), member("c")});
  a.receive("c", {Dead{"b", 0, "c"}});
  ASSERT_EQ(a.swim.member("b")->state, MemberState::dead);
  ASSERT_TRUE(a.swim.force_leave(a.now, "b").is_ok());
  a.collect();
  EXPECT_EQ(a.swim.member("b")->state, MemberState::left);
  EXPECT_EQ(a.count_events(MemberEventType::left, "b"), 1u);
}

TEST(SwimForceLeave, ALiveMemberBecomesLeavingAndRefutesIt) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b", 3), member("c")});
  ASSERT_TRUE(a.swim.force_leave(a.now, "b").is_ok());
  a.collect();
  EXPECT_EQ(a.swim.member("b")->state, MemberState::leaving);
  EXPECT_EQ(a.count_events(MemberEventType::leaving, "b"), 1u);
  EXPECT_EQ(a.count_events(MemberEventType::left, "b"), 0u);
  a.advance(seconds(1));
  auto intents = a.sent<LeaveIntent>();
  ASSERT_FALSE(intents.empty());
  EXPECT_EQ(intents.front().second, (LeaveIntent{"b", 3, "a"}));

  // The member hears it and refutes: a new incarnation, announced alive,
  // with no harm to its health score.
  Driver b(quiet_config_for("b"));
  b.know({member("a"), member("c")});
  b.receive("a", {intents.front().second});
  EXPECT_EQ(b.swim.local_incarnation(), 4u);
  EXPECT_EQ(b.swim.local_member().state, MemberState::alive);
  EXPECT_EQ(b.swim.health_score(), 0);
  b.advance(seconds(1));
  std::optional<Alive> refutation;
  for (const auto& [to, alive] : b.sent<Alive>()) {
    if (alive.member.name == "b") refutation = alive;
  }
  ASSERT_TRUE(refutation.has_value());
  EXPECT_EQ(refutation->member.incarnation, 4u);

  a.receive("b", {*refutation});
  EXPECT_EQ(a.swim.member("b")->state, MemberState::alive);
  EXPECT_EQ(a.count_events(MemberEventType::alive_again, "b"), 1u);
}

TEST(SwimForceLeave, AnIntentHeardFromAPeerSpreadsAndIsHeardOnce) {
  Driver c(quiet_config_for("c"));
  c.know({member("a"), member("b", 2), member("c")});
  c.receive("a", {LeaveIntent{"b", 2, "a"}});
  c.receive("a", {LeaveIntent{"b", 2, "a"}});
  EXPECT_EQ(c.swim.member("b")->state, MemberState::leaving);
  EXPECT_EQ(c.count_events(MemberEventType::leaving, "b"), 1u);
  // An intent about a life that is over changes nothing.
  Driver d(quiet_config_for("d"));
  d.know({member("a"), member("b", 5), member("d")});
  d.receive("a", {LeaveIntent{"b", 4, "a"}});
  EXPECT_EQ(d.swim.member("b")->state, MemberState::alive);
}

TEST(SwimForceLeave, ALeavingMemberThatFailsHasLeft) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b"), member("c")});
  ASSERT_TRUE(a.swim.force_leave(a.now, "b").is_ok());
  a.collect();
  a.receive("c", {Suspect{"b", 0, "c"}});
  EXPECT_EQ(a.swim.member("b")->state, MemberState::leaving) << "a suspect asked to leave is still leaving";
  a.receive("c", {Dead{"b", 0, "c"}});
  EXPECT_EQ(a.swim.member("b")->state, MemberState::left);
  EXPECT_EQ(a.count_events(MemberEventType::left, "b"), 1u);
  EXPECT_EQ(a.count_events(MemberEventType::failed, "b"), 0u);
}

TEST(SwimForceLeave, RefusesThisNodeAndUnknownNames) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  EXPECT_EQ(a.swim.force_leave(a.now, "a").code(), StatusCode::invalid_argument);
  EXPECT_EQ(a.swim.force_leave(a.now, "nobody").code(), StatusCode::not_found);
  EXPECT_EQ(a.swim.local_member().state, MemberState::alive);
}

TEST(SwimForceLeave, PushPullSendsALeavingMemberAsAlive) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  ASSERT_TRUE(a.swim.force_leave(a.now, "b").is_ok());
  PushPull state = a.swim.on_push_pull(a.now, PushPull{false, {member("c")}});
  auto b = std::find_if(state.members.begin(), state.members.end(), [](const Member& m) { return m.name == "b"; });
  ASSERT_NE(b, state.members.end());
  EXPECT_EQ(b->state, MemberState::alive);
}

// ---------------------------------------------------------------- user events

UserEvent user_event(LamportTime ltime, const std::string& name, const std::string& payload = "",
                     const std::string& id = "") {
  UserEvent event;
  event.ltime = ltime;
  event.name = name;
  event.payload = payload;
  event.id = id.empty() ? "id-" + name + "-" + std::to_string(ltime) : id;
  return event;
}

TEST(SwimUserEvents, FiringStampsTheClockDeliversHereAndBroadcasts) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b"), member("c")});
  Result<LamportTime> fired = a.swim.fire_user_event(a.now, user_event(99, "deploy", "v2"));
  a.collect();
  ASSERT_TRUE(fired.is_ok());
  EXPECT_EQ(*fired, 1u) << "the clock's time (Serf's starts at 1), whatever the caller put in";
  EXPECT_EQ(a.swim.event_clock(), 2u);
  ASSERT_EQ(a.user_events.size(), 1u);
  EXPECT_EQ(a.user_events[0].name, "deploy");
  EXPECT_EQ(a.user_events[0].ltime, 1u);
  auto sent = a.sent<UserEvent>();
  ASSERT_FALSE(sent.empty()) << "our own news leaves at once";
  EXPECT_EQ(sent.front().second, a.user_events[0]);
  EXPECT_EQ(*a.swim.fire_user_event(a.now, user_event(0, "deploy", "v3")), 2u);
}

TEST(SwimUserEvents, AnEventIsDeliveredOnceAndRebroadcast) {
  Driver b(quiet_config_for("b"));
  b.know({member("a"), member("b"), member("c")});
  const UserEvent event = user_event(7, "restart", "web");
  b.receive("a", {event});
  b.receive("c", {event});
  ASSERT_EQ(b.user_events.size(), 1u);
  EXPECT_EQ(b.swim.counters().user_events, 1u);
  b.advance(seconds(1));
  auto sent = b.sent<UserEvent>();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().second, event);
  // Another event at the same time is another event.
  b.receive("a", {user_event(7, "restart", "db")});
  EXPECT_EQ(b.user_events.size(), 2u);
}

TEST(SwimUserEvents, TheLamportClockMovesPastEveryTimeWitnessed) {
  Driver b(quiet_config_for("b"));
  b.know({member("a"), member("b")});
  b.receive("a", {user_event(41, "x")});
  EXPECT_EQ(b.swim.event_clock(), 42u);
  b.receive("a", {user_event(3, "y")});
  EXPECT_EQ(b.swim.event_clock(), 42u) << "an older time never moves the clock back";
  EXPECT_EQ(*b.swim.fire_user_event(b.now, user_event(0, "z")), 42u);
  // A push-pull's clock is witnessed too (Serf: its time minus one).
  b.swim.on_push_pull(b.now, PushPull{false, {member("a")}, 100, {}});
  EXPECT_EQ(b.swim.event_clock(), 100u);
}

TEST(SwimUserEvents, TheBufferBoundsWhatIsRememberedAndOlderEventsAreDropped) {
  SwimConfig config = quiet_config_for("b");
  config.event_buffer_size = 4;
  Driver b(config);
  b.know({member("a"), member("b")});
  b.receive("a", {user_event(100, "new")});
  b.receive("a", {user_event(96, "too-old")});
  b.receive("a", {user_event(97, "oldest-kept")});
  ASSERT_EQ(b.user_events.size(), 2u);
  EXPECT_EQ(b.user_events[1].name, "oldest-kept");
  EXPECT_EQ(b.swim.counters().user_events_too_old, 1u);
  // Slot 100 % 4 is reused by 104; 100's copy is too old by then, not news.
  b.receive("a", {user_event(104, "later")});
  b.receive("a", {user_event(100, "new")});
  EXPECT_EQ(b.user_events.size(), 3u);
  // A push-pull carries only the window's events.
  PushPull state = b.swim.on_push_pull(b.now, PushPull{false, {member("a")}});
  EXPECT_EQ(state.event_ltime, 105u);
  ASSERT_EQ(state.events.size(), 1u);
  EXPECT_EQ(state.events[0].name, "later");
}

TEST(SwimUserEvents, APushPullBringsMissedEventsWithoutRegossiping) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  ASSERT_TRUE(a.swim.fire_user_event(a.now, user_event(0, "deploy", "v2")).is_ok());
  ASSERT_TRUE(a.swim.fire_user_event(a.now, user_event(0, "deploy", "v3")).is_ok());
  a.collect();
  PushPull a_state = a.swim.on_push_pull(a.now, PushPull{false, {member("b")}});
  ASSERT_EQ(a_state.events.size(), 2u);

  // b missed both broadcasts (a partition); a periodic sync brings them.
  Driver b(quiet_config_for("b"));
  b.know({member("a"), member("b")});
  b.swim.on_push_pull(b.now, a_state);
  b.collect();
  ASSERT_EQ(b.user_events.size(), 2u);
  EXPECT_EQ(b.user_events[0].payload, "v2");
  EXPECT_EQ(b.user_events[1].payload, "v3");
  EXPECT_EQ(b.swim.event_clock(), 3u) << "past the events' times 1 and 2";
  b.advance(seconds(2));
  EXPECT_TRUE(b.sent<UserEvent>().empty()) << "Serf does not gossip events learnt by push-pull";
  // The same state again delivers nothing new.
  b.swim.on_push_pull(b.now, a_state);
  b.collect();
  EXPECT_EQ(b.user_events.size(), 2u);
}

TEST(SwimUserEvents, AJoinerIgnoresEventsFromBeforeItsJoin) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  ASSERT_TRUE(a.swim.fire_user_event(a.now, user_event(0, "old")).is_ok());
  a.collect();
  PushPull reply = a.swim.on_push_pull(a.now, PushPull{true, {member("c")}});

  Driver c(quiet_config_for("c"));
  c.swim.join(c.now, {address_of("a")});
  c.collect();
  c.swim.on_push_pull_reply(c.now, address_of("a"), reply);
  c.collect();
  EXPECT_TRUE(c.user_events.empty()) << "Consul joins with Serf's ignoreOld";
  EXPECT_EQ(c.swim.event_min_time(), 2u) << "a's clock after its event at time 1";
  // Events after the join arrive as usual.
  c.receive("a", {user_event(2, "new")});
  ASSERT_EQ(c.user_events.size(), 1u);

  // Without event_join_ignore a joiner catches up.
  SwimConfig catch_up = quiet_config_for("d");
  catch_up.event_join_ignore = false;
  Driver d(catch_up);
  d.swim.join(d.now, {address_of("a")});
  d.collect();
  d.swim.on_push_pull_reply(d.now, address_of("a"), reply);
  d.collect();
  ASSERT_EQ(d.user_events.size(), 1u);
  EXPECT_EQ(d.user_events[0].name, "old");
}

TEST(SwimUserEvents, OversizedEventsAreRefusedAndLeaveTheClockAlone) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  Result<LamportTime> big = a.swim.fire_user_event(a.now, user_event(0, "deploy", std::string(600, 'x')));
  ASSERT_FALSE(big.is_ok());
  EXPECT_EQ(big.status().code(), StatusCode::too_large);
  EXPECT_NE(big.status().message().find("512"), std::string::npos) << big.status().message();
  // Name and payload fit, but not with the filters and ID.
  UserEvent filtered = user_event(0, "deploy", std::string(400, 'x'));
  filtered.node_filter = std::string(100, 'n');
  filtered.service_filter = std::string(100, 's');
  Result<LamportTime> encoded = a.swim.fire_user_event(a.now, filtered);
  ASSERT_FALSE(encoded.is_ok());
  EXPECT_NE(encoded.status().message().find("after encoding"), std::string::npos);
  EXPECT_EQ(a.swim.fire_user_event(a.now, user_event(0, "")).status().code(), StatusCode::invalid_argument);
  a.collect();
  EXPECT_EQ(a.swim.event_clock(), 1u) << "a refused event does not move the clock";
  EXPECT_TRUE(a.user_events.empty());
}

TEST(SwimUserEvents, AForgedHugeTimeIsRefused) {
  Driver b(quiet_config_for("b"));
  b.know({member("a"), member("b")});
  b.receive("a", {user_event(std::numeric_limits<LamportTime>::max(), "forged")});
  EXPECT_TRUE(b.user_events.empty());
  EXPECT_EQ(b.swim.event_clock(), 1u);
  EXPECT_EQ(b.swim.counters().user_events_refused, 1u);
  b.receive("a", {user_event(5, "real")});
  EXPECT_EQ(b.user_events.size(), 1u);
}

TEST(SwimUserEvents, ALeftNodeFiresNothing) {
  Driver a(quiet_config_for("a"));
  a.know({member("a"), member("b")});
  a.swim.leave(a.now);
  EXPECT_EQ(a.swim.fire_user_event(a.now, user_event(0, "late")).status().code(), StatusCode::unavailable);
}

}  // namespace
}  // namespace roster::gossip
