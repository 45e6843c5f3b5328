// The transport on real loopback sockets: joins, encryption mismatches, bad
// datagrams, force-leave, and the data-dir files. Conditions are polled with
// a deadline on the io_context; nothing sleeps.

#include "agent/gossip/transport.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "agent/catalog/watch_hub.h"
#include "agent/gossip/gossip_agent.h"
#include "agent/gossip/persisted_state.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace roster::gossip {
namespace {

using namespace std::chrono_literals;

const std::string kKeyA(32, 'a');
const std::string kKeyB(32, 'b');

TransportOptions local_options(const std::string& name, const std::string& key = "") {
  TransportOptions options;
  options.swim.name = name;
  options.swim.id = "id-of-" + name;
  options.swim.probe_interval = 200ms;
  options.swim.probe_timeout = 100ms;
  options.swim.gossip_interval = 50ms;
  options.swim.seed = std::hash<std::string>{}(name);
  options.bind_ip = "127.0.0.1";
  options.port = 0;
  options.tcp_timeout = 1s;
  if (!key.empty()) {
    EXPECT_TRUE(options.keyring.install(key).is_ok());
  }
  return options;
}

struct JoinResult {
  bool reported = false;
  bool ok = false;
  std::string error;
};

class TransportTest : public ::testing::Test {
 protected:
  std::unique_ptr<Transport> make(const std::string& name, const std::string& key = "",
                                  JoinResult* join_result = nullptr) {
    TransportCallbacks callbacks;
    callbacks.on_join_result = [join_result](const std::string&, bool ok, const std::string& error) {
      if (join_result == nullptr) return;
      join_result->reported = true;
      join_result->ok = ok;
      join_result->error = error;
    };
    TransportOptions options = local_options(name, key);
    if (tweak_) tweak_(options);
    auto transport = std::make_unique<Transport>(io_, clock_, std::move(options), std::move(callbacks));
    EXPECT_TRUE(transport->start().is_ok());
    return transport;
  }

  // Runs the io_context until `condition` holds or 10 s pass.
  bool run_until(const std::function<bool()>& condition) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(20ms);
      io_.restart();
    }
    return true;
  }

  static bool knows_alive(const Transport& transport, const std::string& name) {
    auto member = transport.swim().member(name);
    return member && member->state == MemberState::alive;
  }

  boost::asio::io_context io_{1};
  SystemClock clock_;
  std::function<void(TransportOptions&)> tweak_;  // applied to every make()
};

TEST_F(TransportTest, TwoNodesJoinAndSeeEachOther) {
  JoinResult result;
  auto a = make("node-a");
  auto b = make("node-b", "", &result);
  EXPECT_NE(a->port(), 0);
  EXPECT_EQ(a->address(), "127.0.0.1:" + std::to_string(a->port()));
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b") && knows_alive(*b, "node-a"); }));
  EXPECT_TRUE(result.reported);
  EXPECT_TRUE(result.ok);
  // Probes flow over UDP both ways.
  ASSERT_TRUE(run_until([&] { return a->counters().udp_packets_received > 2 && b->counters().udp_packets_received > 2; }));

  ASSERT_TRUE(b->set_tags({{"role", "web"}}).is_ok());
  ASSERT_TRUE(run_until([&] {
    auto member = a->swim().member("node-b");
    return member && member->tags.count("role") == 1;
  }));
}

TEST_F(TransportTest, EncryptedNodesJoin) {
  auto a = make("node-a", kKeyA);
  auto b = make("node-b", kKeyA);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b") && knows_alive(*b, "node-a"); }));
  EXPECT_EQ(a->wire_counters().total(), 0u);
}

TEST_F(TransportTest, WrongKeyJoinFailsAndSaysWhy) {
  JoinResult result;
  auto a = make("node-a", kKeyA);
  auto b = make("node-b", kKeyB, &result);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return result.reported; }));
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("-encrypt"), std::string::npos) << result.error;
  EXPECT_GE(a->wire_counters().wrong_key, 1u);
  EXPECT_FALSE(a->swim().member("node-b").has_value());
  EXPECT_FALSE(b->swim().member("node-a").has_value());
}

TEST_F(TransportTest, PlainNodeCannotJoinAnEncryptedOne) {
  JoinResult result;
  auto a = make("node-a", kKeyA);
  auto b = make("node-b", "", &result);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return result.reported; }));
  EXPECT_FALSE(result.ok);
  EXPECT_GE(a->wire_counters().plain_refused, 1u);
}

TEST_F(TransportTest, UnreachableJoinFails) {
  JoinResult result;
  auto b = make("node-b", "", &result);
  b->join({"127.0.0.1:1"});
  ASSERT_TRUE(run_until([&] { return result.reported; }));
  EXPECT_FALSE(result.ok);
}

TEST_F(TransportTest, BadDatagramsAreCountedAndDropped) {
  auto a = make("node-a", kKeyA);
  boost::asio::ip::udp::socket sender(io_, boost::asio::ip::udp::endpoint(boost::asio::ip::udp::v4(), 0));
  boost::asio::ip::udp::endpoint target(boost::asio::ip::make_address("127.0.0.1"), a->port());
  for (std::string payload : {std::string("garbage!"), std::string("\x02\x00\x00\x10\x00" "abc", 8),
                              std::string("\x01\x00\x00\x00\x02hi", 7)}) {
    sender.send_to(boost::asio::buffer(payload), target);
  }
  ASSERT_TRUE(run_until([&] { return a->wire_counters().total() >= 3; }));
  EXPECT_GE(a->wire_counters().garbage, 1u);
  EXPECT_GE(a->wire_counters().truncated, 1u);
  EXPECT_GE(a->wire_counters().plain_refused, 1u);
}

TEST_F(TransportTest, ForceLeaveMarksAFailedNodeLeft) {
  auto a = make("node-a");
  auto b = make("node-b");
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b"); }));
  b->stop();
  ASSERT_TRUE(run_until([&] {
    auto member = a->swim().member("node-b");
    return member && member->state == MemberState::dead;
  }));
  EXPECT_EQ(a->force_leave("node-x").code(), StatusCode::not_found);
  EXPECT_EQ(a->force_leave("node-a").code(), StatusCode::invalid_argument);
  ASSERT_TRUE(a->force_leave("node-b").is_ok());
  EXPECT_EQ(a->swim().member("node-b")->state, MemberState::left);
}

TEST_F(TransportTest, AStoppedPeerIsDeclaredFailedOnceItsPortRefuses) {
  // With this suspicion_mult the Lifeguard timeout alone is 20 x 200 ms =
  // 4 s. A stopped agent's port refuses the TCP fallback probe: its process
  // is gone, and the suspicion ends 100 ms after the probe.
  tweak_ = [](TransportOptions& options) {
    options.swim.suspicion_mult = 20;
    options.swim.refused_suspicion_timeout = 100ms;
  };
  auto a = make("node-a");
  auto b = make("node-b");
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b"); }));
  b->stop();
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] {
    auto member = a->swim().member("node-b");
    return member && member->state == MemberState::dead;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
}

using boost::asio::ip::tcp;

tcp::endpoint endpoint_of(const Transport& transport) {
  return tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), transport.port());
}

// A raw TCP client from `source_ip` that reads until the other side closes.
struct RawClient {
  RawClient(boost::asio::io_context& io, const std::string& source_ip, const tcp::endpoint& to) : socket(io) {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(boost::asio::ip::make_address(source_ip), 0));
    socket.connect(to);
  }
  void read_until_closed() {
    socket.async_read_some(boost::asio::buffer(buffer), [this](const boost::system::error_code& error, size_t n) {
      received.append(buffer.data(), n);
      if (error) {
        closed = true;
        return;
      }
      read_until_closed();
    });
  }
  tcp::socket socket;
  std::array<char, 256> buffer{};
  std::string received;
  bool closed = false;
};

TEST_F(TransportTest, AcceptBacksOffWhenOutOfDescriptors) {
  auto a = make("node-a");
  tcp::socket client(io_);
  client.open(tcp::v4());
  // Use up this process's descriptors, then leave a connection in the backlog.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit lowered = saved;
  lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  std::vector<int> filler;
  for (int fd = ::dup(client.native_handle()); fd >= 0; fd = ::dup(client.native_handle())) filler.push_back(fd);
  client.connect(endpoint_of(*a));
  // Without backoff, the accept loop fails thousands of times in this window.
  const uint64_t before = a->counters().tcp_accept_errors;
  io_.run_for(500ms);
  io_.restart();
  const uint64_t errors = a->counters().tcp_accept_errors - before;
  for (int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 6u);  // 50, 100, 200 ms... apart
  // With descriptors back, the waiting connection is served.
  EXPECT_TRUE(run_until([&] { return a->counters().tcp_accepted >= 1; }));
}

TEST_F(TransportTest, AConnectionWithoutAFirstFrameIsClosedSoon) {
  tweak_ = [](TransportOptions& options) {
    options.tcp_timeout = 60s;
    options.tcp_first_frame_timeout = 200ms;
  };
  auto a = make("node-a", kKeyA);
  RawClient idle(io_, "127.0.0.1", endpoint_of(*a));
  RawClient partial(io_, "127.0.0.1", endpoint_of(*a));
  boost::asio::write(partial.socket, boost::asio::buffer(std::string("\0\0\1\0\2", 5)));
  idle.read_until_closed();
  partial.read_until_closed();
  // Well before tcp_timeout (and run_until's 10 s).
  ASSERT_TRUE(run_until([&] { return idle.closed && partial.closed; }));
  EXPECT_EQ(a->counters().tcp_first_frame_timeouts, 2u);
  // A peer with a frame to send still gets its answer.
  auto b = make("node-b", kKeyA);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b") && knows_alive(*b, "node-a"); }));
}

TEST_F(TransportTest, OneAddressCannotTakeEverySlot) {
  tweak_ = [](TransportOptions& options) {
    options.tcp_timeout = 60s;
    options.tcp_first_frame_timeout = 60s;
    options.max_tcp_connections = 4;
    options.max_tcp_connections_per_ip = 2;
  };
  auto a = make("node-a");
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawClient>(io_, "127.0.0.2", endpoint_of(*a)));
    idle.back()->read_until_closed();
  }
  ASSERT_TRUE(run_until([&] { return a->counters().tcp_accepted + a->counters().tcp_refused == 3; }));
  EXPECT_EQ(a->counters().tcp_accepted, 2u);
  EXPECT_EQ(a->counters().tcp_refused, 1u);
  // The refused one is told why.
  ASSERT_TRUE(run_until([&] { return idle[2]->closed; }));
  EXPECT_NE(idle[2]->received.find("gossip listener full"), std::string::npos);
  // Another address still gets in.
  JoinResult result;
  auto b = make("node-b", "", &result);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return result.reported; }));
  EXPECT_TRUE(result.ok) << result.error;
}

TEST_F(TransportTest, AFullListenerTellsTheJoinerItIsFullNotThatItsKeyIsWrong) {
  tweak_ = [](TransportOptions& options) {
    options.tcp_timeout = 60s;
    options.tcp_first_frame_timeout = 60s;
    options.max_tcp_connections = 1;
  };
  auto a = make("node-a", kKeyA);
  RawClient idle(io_, "127.0.0.2", endpoint_of(*a));
  ASSERT_TRUE(run_until([&] { return a->counters().tcp_accepted == 1; }));
  JoinResult result;
  auto b = make("node-b", kKeyA, &result);
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return result.reported; }));
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("listener is full"), std::string::npos) << result.error;
  EXPECT_EQ(result.error.find("-encrypt"), std::string::npos) << result.error;
  EXPECT_EQ(a->counters().tcp_refused, 1u);
}

TEST_F(TransportTest, TheIncarnationIsPersistedBeforeItIsAdvertised) {
  std::vector<std::pair<Incarnation, uint64_t>> persisted;  // value saved, UDP packets sent by then
  std::unique_ptr<Transport> a;
  TransportCallbacks callbacks;
  callbacks.persist_incarnation = [&](Incarnation incarnation) {
    persisted.emplace_back(incarnation, a ? a->counters().udp_packets_sent : 0);
    return Status::ok();
  };
  TransportOptions options = local_options("node-a");
  options.swim.initial_incarnation = 7;
  a = std::make_unique<Transport>(io_, clock_, std::move(options), std::move(callbacks));
  ASSERT_TRUE(a->start().is_ok());
  // 8 and a reserve, before anything was sent.
  ASSERT_EQ(persisted.size(), 1u);
  EXPECT_EQ(persisted[0], std::make_pair(Incarnation{8 + 15}, uint64_t{0}));
  auto b = make("node-b");
  b->join({a->address()});
  ASSERT_TRUE(run_until([&] { return knows_alive(*a, "node-b") && knows_alive(*b, "node-a"); }));
  // Every incarnation a advertises is covered by a save made before it left.
  for (int i = 0; i < 20; ++i) {
    const uint64_t sent_before = a->counters().udp_packets_sent;
    const size_t saves_before = persisted.size();
    ASSERT_TRUE(a->set_tags({{"round", std::to_string(i)}}).is_ok());
    ASSERT_FALSE(persisted.empty());
    EXPECT_GE(persisted.back().first, a->swim().local_incarnation());
    if (persisted.size() > saves_before) {
      EXPECT_EQ(persisted.back().second, sent_before);
    }
  }
  EXPECT_EQ(a->swim().local_incarnation(), 28u);
  ASSERT_TRUE(run_until([&] {
    auto member = b->swim().member("node-a");
    return member && member->incarnation == 28;
  }));
  EXPECT_EQ(persisted.size(), 2u);  // at 8 (reserving to 23) and at 24 (to 39)
}

TEST(GossipAgentTest, ARestartedAgentSavesItsNewIncarnationAtOnce) {
  auto dir = std::filesystem::temp_directory_path() / ("roster-restart-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string peers_path = (dir / kPeersFileName).string();
  ASSERT_TRUE(save_peer_snapshot(peers_path, PeerSnapshot{7, {}}).is_ok());
  auto saved_incarnation = [&] {
    auto snapshot = load_peer_snapshot(peers_path);
    return snapshot.is_ok() && snapshot->has_value() ? (*snapshot)->incarnation : Incarnation{0};
  };
  boost::asio::io_context io{1};
  SystemClock clock;
  catalog::WatchHub watch_hub;
  GossipAgentOptions options;
  options.transport = local_options("node-a");
  options.data_dir = dir.string();
  options.snapshot_interval = std::chrono::hours(1);  // only the incarnation rule saves
  {
    GossipAgent agent(io, clock, watch_hub, options, {});
    ASSERT_TRUE(agent.start().is_ok());
    EXPECT_EQ(agent.transport().swim().local_incarnation(), 8u);
    EXPECT_EQ(saved_incarnation(), 23u);  // 8 and the reserve, at once
    agent.set_local_tags({{"role", "web"}});
    EXPECT_EQ(agent.transport().swim().local_incarnation(), 9u);
    agent.stop();
    // The save at stop keeps the reservation.
    EXPECT_EQ(saved_incarnation(), 23u);
  }
  GossipAgent restarted(io, clock, watch_hub, options, {});
  ASSERT_TRUE(restarted.start().is_ok());
  EXPECT_EQ(restarted.transport().swim().local_incarnation(), 24u);
  restarted.stop();
  std::filesystem::remove_all(dir);
}

TEST(GossipAgentTest, MembersLearnWhichNodesAreServersAndTheirHttpAddress) {
  boost::asio::io_context io{1};
  SystemClock clock;
  catalog::WatchHub watch_hub;
  GossipAgentOptions server_options;
  server_options.transport = local_options("node-a");
  server_options.transport.swim.tags = {{"role", "db"}};
  server_options.server = true;
  server_options.http_address = "127.0.0.1:8500";
  GossipAgentOptions client_options;
  client_options.transport = local_options("node-b");
  GossipAgent server(io, clock, watch_hub, server_options, {});
  GossipAgent client(io, clock, watch_hub, client_options, {});
  ASSERT_TRUE(server.start().is_ok());
  ASSERT_TRUE(client.start().is_ok());
  client.start_join({server.transport().address()});
  auto find = [](const std::vector<agent::MemberInfo>& members, const std::string& name) {
    for (const agent::MemberInfo& member : members) {
      if (member.name == name) return std::optional<agent::MemberInfo>(member);
    }
    return std::optional<agent::MemberInfo>();
  };
  auto run_until = [&](const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_for(20ms);
      io.restart();
    }
    return true;
  };
  ASSERT_TRUE(run_until([&] { return find(client.members(), "node-a").has_value(); }));
  agent::MemberInfo seen = *find(client.members(), "node-a");
  EXPECT_TRUE(seen.server);
  EXPECT_EQ(seen.http_address, "127.0.0.1:8500");
  EXPECT_EQ(seen.tags, (std::map<std::string, std::string>{{"role", "db"}}));
  EXPECT_TRUE(server.local_member().server);
  EXPECT_FALSE(client.local_member().server);
  EXPECT_EQ(client.local_member().http_address, "");

  // New tags keep the reserved keys, and a user tag cannot pose as one.
  server.set_local_tags({{"role", "web"}, {kServerTagKey, "0"}});
  ASSERT_TRUE(run_until([&] {
    auto member = find(client.members(), "node-a");
    return member && member->tags.count("role") && member->tags.at("role") == "web";
  }));
  seen = *find(client.members(), "node-a");
  EXPECT_TRUE(seen.server);
  EXPECT_EQ(seen.http_address, "127.0.0.1:8500");
  EXPECT_EQ(seen.tags, (std::map<std::string, std::string>{{"role", "web"}}));
  client.stop();
  server.stop();
}

TEST(GossipAgentTest, MetricsReportMembersAndCounters) {
  boost::asio::io_context io{1};
  SystemClock clock;
  catalog::WatchHub watch_hub;
  GossipAgentOptions options;
  options.transport = local_options("node-a");
  GossipAgent agent(io, clock, watch_hub, options, {});
  metrics::Snapshot before;
  agent.collect_metrics(before);  // not started: nothing, and no crash
  EXPECT_TRUE(before.families().empty());
  ASSERT_TRUE(agent.start().is_ok());
  metrics::Snapshot snapshot;
  agent.collect_metrics(snapshot);
  ASSERT_NE(snapshot.find("roster.gossip.members", {{"state", "alive"}}), nullptr);
  EXPECT_EQ(snapshot.find("roster.gossip.members", {{"state", "alive"}})->value, 1);
  EXPECT_EQ(snapshot.find("roster.gossip.members", {{"state", "failed"}})->value, 0);
  EXPECT_NE(snapshot.find("roster.gossip.udp_bytes", {{"direction", "received"}}), nullptr);
  EXPECT_NE(snapshot.find("roster.gossip.dropped", {{"reason", "wrong_key"}}), nullptr);
  EXPECT_NE(snapshot.find("roster.gossip.probes"), nullptr);
  for (const metrics::Family& family : snapshot.families()) EXPECT_FALSE(family.help.empty()) << family.name;
  agent.stop();
}

TEST_F(TransportTest, KeyringChangesNeedEncryptionOn) {
  auto a = make("node-a");
  EXPECT_EQ(a->install_key(kKeyB).code(), StatusCode::unavailable);
  auto b = make("node-b", kKeyA);
  EXPECT_TRUE(b->install_key(kKeyB).is_ok());
  EXPECT_TRUE(b->use_key(kKeyB).is_ok());
  EXPECT_TRUE(b->remove_key(kKeyA).is_ok());
  EXPECT_EQ(b->keyring().list(), std::vector<std::string>{kKeyB});
}

TEST(KeyringPeersTest, AsksAliveAndSuspectMembersButNotItself) {
  // A suspect member left out of a key rotation could not read the pool
  // afterwards, nor refute its suspicion: it would be declared failed.
  auto member = [](const std::string& name, MemberState state) {
    Member m;
    m.name = name;
    m.state = state;
    return m;
  };
  const std::vector<Member> members = {member("self", MemberState::alive), member("a", MemberState::alive),
                                       member("s", MemberState::suspect), member("d", MemberState::dead),
                                       member("l", MemberState::left)};
  std::vector<std::string> names;
  for (const Member& peer : keyring_peers(members, "self")) names.push_back(peer.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "s"}));
}

TEST(PersistedStateTest, KeyringAndPeersRoundTrip) {
  auto dir = std::filesystem::temp_directory_path() / ("roster-persisted-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string keyring_path = (dir / kKeyringFileName).string();
  const std::string peers_path = (dir / kPeersFileName).string();

  auto missing = load_keyring_file(keyring_path);
  ASSERT_TRUE(missing.is_ok());
  EXPECT_FALSE(missing->has_value());

  wire::Keyring keyring;
  ASSERT_TRUE(keyring.install(kKeyA).is_ok());
  ASSERT_TRUE(keyring.install(kKeyB).is_ok());
  ASSERT_TRUE(keyring.use(kKeyB).is_ok());
  ASSERT_TRUE(save_keyring_file(keyring_path, keyring).is_ok());
  EXPECT_EQ(std::filesystem::status(keyring_path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  auto loaded = load_keyring_file(keyring_path);
  ASSERT_TRUE(loaded.is_ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->list(), keyring.list());

  PeerSnapshot snapshot{7, {"127.0.0.1:8301", "10.0.0.2:8301"}};
  ASSERT_TRUE(save_peer_snapshot(peers_path, snapshot).is_ok());
  auto peers = load_peer_snapshot(peers_path);
  ASSERT_TRUE(peers.is_ok());
  ASSERT_TRUE(peers->has_value());
  EXPECT_EQ(**peers, snapshot);

  // Damaged files are errors, not crashes.
  std::ofstream(keyring_path) << "[\"not base64!\"]";
  EXPECT_FALSE(load_keyring_file(keyring_path).is_ok());
  std::ofstream(peers_path) << "{\"incarnation\": \"x\"}";
  EXPECT_FALSE(load_peer_snapshot(peers_path).is_ok());
  std::ofstream(peers_path) << "garbage";
  EXPECT_FALSE(load_peer_snapshot(peers_path).is_ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace roster::gossip
