// Three RaftNodes in one process, on loopback (real sockets, real files in a
// temporary directory): election, replication in order, leader loss, a
// restart that catches up from its data directory, and recovery from a
// peers.json after the quorum is lost. All three share one
// io_context run by the test thread, so it is every node's strand.
// Conditions are polled with deadlines; nothing sleeps.

#include "agent/raft/raft_node.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "common/clock.h"
#include "common/env.h"
#include "tests/fakes/fault_env.h"

namespace roster::raft {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

// Records the commands it applies; its snapshot is those commands, one a line.
class RecordingStateMachine final : public StateMachine {
 public:
  void apply(const Entry& entry) override {
    if (entry.type == EntryType::command) commands.push_back(entry.data);
  }
  std::string snapshot() override {
    std::string out;
    for (const std::string& command : commands) out += command + "\n";
    return out;
  }
  void restore(const Snapshot& snapshot) override {
    commands.clear();
    std::istringstream in(*snapshot.data);
    for (std::string line; std::getline(in, line);) commands.push_back(line);
    ++restores;
  }

  std::vector<std::string> commands;
  int restores = 0;
};

struct Member {
  ServerId id = kNoServer;
  uint16_t port = 0;
  std::string dir;
  std::unique_ptr<RecordingStateMachine> state_machine;
  std::unique_ptr<fakes::FaultEnv> env;  // over the real files
  std::unique_ptr<RaftNode> node;
};

class RaftNodeTest : public ::testing::Test {
 protected:
  RaftNodeTest() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l %v");
    logger_ = std::make_shared<spdlog::logger>("raft-node-test", sink);
    logger_->set_level(spdlog::level::debug);

    std::string pattern = (std::filesystem::temp_directory_path() / "raft-node-test-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    for (size_t i = 0; i < members_.size(); ++i) {
      members_[i].id = i + 1;
      members_[i].port = unused_port();
      members_[i].dir = root_ + "/n" + std::to_string(i + 1);
      configuration_.servers.push_back(
          Server{members_[i].id, "127.0.0.1:" + std::to_string(members_[i].port), true});
    }
  }

  ~RaftNodeTest() override {
    for (Member& member : members_) member.node.reset();  // before their envs
    io_.run_for(10ms);  // let the stopped nodes' posted callbacks drain
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    if (HasFailure()) std::cerr << log_.str();
  }

  uint16_t unused_port() {
    tcp::acceptor acceptor(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
  }

  void start(size_t i) {
    Status status = try_start(i);
    ASSERT_TRUE(status.is_ok()) << status.to_string();
  }

  Status try_start(size_t i) {
    Member& member = members_[i];
    member.state_machine = std::make_unique<RecordingStateMachine>();
    member.env = std::make_unique<fakes::FaultEnv>(env_);
    RaftNodeOptions options;
    options.raft.id = member.id;
    options.raft.election_ticks = 10;
    options.raft.heartbeat_ticks = 1;
    options.raft.snapshot_threshold = snapshot_threshold_;
    options.raft.seed = 7;
    options.tick_interval = 20ms;
    options.transport.cluster_id = "raft-node-test";
    options.transport.bind_ip = "127.0.0.1";
    options.transport.port = member.port;
    options.transport.reconnect_backoff_first = 20ms;
    options.transport.reconnect_backoff_max = 200ms;
    options.storage.trailing_entries = trailing_entries_;
    options.storage.wal.segment_bytes = 1 << 20;
    options.data_dir = member.dir;
    options.bootstrap = configuration_;
    Result<std::unique_ptr<RaftNode>> node =
        RaftNode::open(io_.get_executor(), *member.env, clock_, *member.state_machine, options, logger_);
    if (!node.is_ok()) return node.status();
    member.node = std::move(node.value());
    return Status::ok();
  }

  void stop(size_t i) { members_[i].node.reset(); }

  bool run_until(const std::function<bool()>& condition, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(5ms);
      io_.restart();
    }
    return true;
  }

  // The running member that is leader, agreed on by every running member.
  std::optional<size_t> agreed_leader() const {
    std::optional<size_t> leader;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].node && members_[i].node->role() == Role::leader) {
        if (leader) return std::nullopt;
        leader = i;
      }
    }
    if (!leader) return std::nullopt;
    for (const Member& member : members_) {
      if (member.node && member.node->leader() != members_[*leader].id) return std::nullopt;
    }
    return leader;
  }

  size_t wait_for_leader() {
    std::optional<size_t> leader;
    EXPECT_TRUE(run_until([&] { return (leader = agreed_leader()).has_value(); })) << "no leader elected";
    return leader.value_or(0);
  }

  // Proposes `count` commands at once on member `leader`; returns once each
  // has its answer. Every answer must be ok.
  void propose_all(size_t leader, int first, int count) {
    int answered = 0;
    std::vector<Index> indexes;
    for (int i = first; i < first + count; ++i) {
      members_[leader].node->propose("cmd-" + std::to_string(i), [&](Result<Index> result) {
        ++answered;
        EXPECT_TRUE(result.is_ok()) << result.status().to_string();
        if (result.is_ok()) indexes.push_back(result.value());
      });
    }
    ASSERT_TRUE(run_until([&] { return answered == count; })) << answered << " of " << count << " answered";
    // Answers come in log order, one index each.
    for (size_t i = 1; i < indexes.size(); ++i) EXPECT_EQ(indexes[i], indexes[i - 1] + 1);
  }

  static std::vector<std::string> commands(int first, int count) {
    std::vector<std::string> out;
    for (int i = first; i < first + count; ++i) out.push_back("cmd-" + std::to_string(i));
    return out;
  }

  bool all_running_applied(const std::vector<std::string>& expected) {
    return run_until([&] {
      for (const Member& member : members_) {
        if (member.node && member.state_machine->commands != expected) return false;
      }
      return true;
    });
  }

  size_t log_lines_with(const std::string& text) const {
    const std::string log = log_.str();
    size_t count = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++count;
    return count;
  }

  std::string peers_path(size_t i) const { return members_[i].dir + "/peers.json"; }

  void write_peers_file(size_t i, const std::string& text) {
    std::ofstream out(peers_path(i), std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good());
  }

  // Consul's peers.json listing `servers` as voters.
  std::string peers_json_of(std::initializer_list<size_t> servers) const {
    std::string json = "[\n";
    for (size_t i : servers) {
      if (json.size() > 2) json += ",\n";
      json += "  {\"id\": \"" + std::to_string(members_[i].id) + "\", \"address\": \"127.0.0.1:" +
              std::to_string(members_[i].port) + "\", \"non_voter\": false}";
    }
    return json + "\n]\n";
  }

  // Every file under a member's data directory, with its contents.
  std::map<std::string, std::string> files_of(size_t i) const {
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(members_[i].dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream contents;
      contents << in.rdbuf();
      files[entry.path().string()] = contents.str();
    }
    return files;
  }

  bool becomes_leader(size_t i) {
    return run_until([&] { return members_[i].node->role() == Role::leader; });
  }

  boost::asio::io_context io_{1};
  SystemClock clock_;
  PosixEnv env_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string root_;
  Configuration configuration_;
  std::array<Member, 3> members_;
  uint64_t snapshot_threshold_ = 0;
  uint64_t trailing_entries_ = 10240;
};

TEST_F(RaftNodeTest, ThreeNodesElectALeaderAndApplyEveryCommandInTheSameOrder) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  EXPECT_EQ(log_lines_with("bootstrapped a new cluster of 3 servers"), 3u);
  EXPECT_EQ(log_lines_with("elected leader for term"), 1u);

  propose_all(leader, 0, 100);
  EXPECT_TRUE(all_running_applied(commands(0, 100)));
  for (const Member& member : members_) {
    EXPECT_EQ(member.node->applied_index(), members_[leader].node->commit_index());
  }
  const RaftNodeStats stats = members_[leader].node->stats();
  EXPECT_EQ(stats.proposals_committed, 100u);
  EXPECT_EQ(stats.proposals_failed, 0u);
  EXPECT_GE(stats.storage.entries, 100u);
  EXPECT_GT(stats.transport.frames_sent, 0u);
}

TEST_F(RaftNodeTest, AFollowerRefusesProposalsAndReadsWithoutAppendingAnything) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  const size_t follower = (leader + 1) % 3;
  propose_all(leader, 0, 1);
  ASSERT_TRUE(all_running_applied(commands(0, 1)));  // the follower has heard of every commit
  const Index last = members_[follower].node->commit_index();
  std::optional<Status> proposed;
  std::optional<Status> read;
  members_[follower].node->propose("nope", [&](Result<Index> result) { proposed = result.status(); });
  members_[follower].node->read_index([&](Status status) { read = status; });
  EXPECT_FALSE(proposed.has_value()) << "callbacks never run inside the call";
  ASSERT_TRUE(run_until([&] { return proposed && read; }));
  EXPECT_EQ(proposed->code(), StatusCode::unavailable);
  EXPECT_EQ(read->code(), StatusCode::unavailable);
  EXPECT_EQ(members_[follower].node->commit_index(), last);
}

TEST_F(RaftNodeTest, ReadIndexOnTheLeaderSeesEveryAcknowledgedWrite) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 10);
  std::optional<size_t> seen;
  members_[leader].node->read_index([&](Status status) {
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    seen = members_[leader].state_machine->commands.size();
  });
  ASSERT_TRUE(run_until([&] { return seen.has_value(); }));
  EXPECT_EQ(*seen, 10u);
}

TEST_F(RaftNodeTest, AfterTheLeaderIsDestroyedANewOneIsElectedAndProposalsContinue) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t first_leader = wait_for_leader();
  propose_all(first_leader, 0, 20);
  ASSERT_TRUE(all_running_applied(commands(0, 20)));
  const Term old_term = members_[first_leader].node->term();

  stop(first_leader);
  const size_t second_leader = wait_for_leader();
  EXPECT_NE(second_leader, first_leader);
  EXPECT_GT(members_[second_leader].node->term(), old_term);

  propose_all(second_leader, 20, 20);
  EXPECT_TRUE(all_running_applied(commands(0, 40)));

  // The old leader comes back from its data directory, without bootstrapping
  // again, and catches up as a follower.
  start(first_leader);
  EXPECT_TRUE(all_running_applied(commands(0, 40)));
  EXPECT_EQ(log_lines_with("bootstrapped a new cluster"), 3u);
  EXPECT_NE(members_[first_leader].node->role(), Role::leader);
}

TEST_F(RaftNodeTest, ALeaderThatStepsDownHandsOverWithoutAnElectionTimeout) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t first_leader = wait_for_leader();
  propose_all(first_leader, 0, 10);
  const Term old_term = members_[first_leader].node->term();
  ASSERT_TRUE(members_[first_leader].node->step_down().is_ok());
  // TimeoutNow makes the target campaign at once, in the very next term.
  ASSERT_TRUE(run_until([&] {
    auto leader = agreed_leader();
    return leader.has_value() && *leader != first_leader;
  }));
  const size_t second_leader = *agreed_leader();
  EXPECT_EQ(members_[second_leader].node->term(), old_term + 1);
  EXPECT_EQ(members_[first_leader].node->role(), Role::follower);
  propose_all(second_leader, 10, 10);
  EXPECT_TRUE(all_running_applied(commands(0, 20)));
}

TEST_F(RaftNodeTest, ARestartedFollowerCatchesUpFromItsDataDirectoryAndTheLeader) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  const size_t follower = (leader + 1) % 3;
  propose_all(leader, 0, 30);
  ASSERT_TRUE(all_running_applied(commands(0, 30)));

  stop(follower);
  propose_all(leader, 30, 30);  // a majority of two still commits
  start(follower);
  EXPECT_TRUE(all_running_applied(commands(0, 60)));
  EXPECT_EQ(members_[follower].state_machine->restores, 0);
  EXPECT_GE(log_lines_with("recovered term"), 1u);
}

TEST_F(RaftNodeTest, AFollowerFarBehindIsSentASnapshotAndEveryServerSnapshotsItself) {
  snapshot_threshold_ = 16;
  trailing_entries_ = 4;
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  const size_t follower = (leader + 2) % 3;
  propose_all(leader, 0, 10);
  stop(follower);
  for (int batch = 0; batch < 10; ++batch) propose_all(leader, 10 + batch * 10, 10);

  // Wiped: the leader's log no longer reaches back far enough, so it needs a snapshot.
  std::filesystem::remove_all(members_[follower].dir);
  start(follower);
  EXPECT_TRUE(all_running_applied(commands(0, 110)));
  EXPECT_EQ(members_[follower].state_machine->restores, 1);
  EXPECT_GE(members_[leader].node->stats().snapshots_taken, 1u);
  EXPECT_GE(members_[leader].node->stats().raft.snapshots_sent, 1u);
}

TEST_F(RaftNodeTest, ALeaderWhoseFsyncFailsStopsFailsItsProposalsAndIsReplaced) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 5);

  members_[leader].env->fail_sync(1);
  std::vector<Status> answers;
  std::vector<std::string> acknowledged;
  for (int i = 5; i < 10; ++i) {
    const std::string command = "cmd-" + std::to_string(i);
    members_[leader].node->propose(command, [&, command](Result<Index> result) {
      answers.push_back(result.status());
      if (result.is_ok()) acknowledged.push_back(command);
    });
  }
  ASSERT_TRUE(run_until([&] { return answers.size() == 5; }));
  // The two followers may have made some durable and committed them before
  // the leader learned of its own failure: those are acknowledged, the rest
  // fail.
  EXPECT_FALSE(members_[leader].node->failure().is_ok());
  EXPECT_EQ(log_lines_with("storage failed, stopping this server"), 1u);

  std::optional<Status> refused;
  members_[leader].node->propose("after", [&](Result<Index> result) { refused = result.status(); });
  ASSERT_TRUE(run_until([&] { return refused.has_value(); }));
  EXPECT_EQ(*refused, members_[leader].node->failure());

  // The other two carry on without it, and keep every acknowledged write.
  members_[leader].node.reset();
  const size_t next = wait_for_leader();
  EXPECT_NE(next, leader);
  propose_all(next, 100, 5);
  ASSERT_TRUE(run_until([&] {
    for (const Member& member : members_) {
      if (member.node && member.state_machine->commands.back() != "cmd-104") return false;
    }
    return true;
  }));
  for (const Member& member : members_) {
    if (!member.node) continue;
    const std::vector<std::string>& applied = member.state_machine->commands;
    EXPECT_EQ(std::vector<std::string>(applied.begin(), applied.begin() + 5), commands(0, 5));
    for (const std::string& command : acknowledged) {
      EXPECT_NE(std::find(applied.begin(), applied.end(), command), applied.end()) << command << " was lost";
    }
  }
}

// ---------------------------------------------------------------- peers.json

TEST_F(RaftNodeTest, ALoneSurvivorRecoversFromPeersJsonKeepsEveryEntryLeadsAndCommits) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 30);
  ASSERT_TRUE(all_running_applied(commands(0, 30)));
  for (size_t i = 0; i < 3; ++i) stop(i);

  // A follower survives: the other two are gone for good.
  const size_t survivor = (leader + 1) % 3;
  write_peers_file(survivor, peers_json_of({survivor}));
  start(survivor);
  RaftNode& node = *members_[survivor].node;
  EXPECT_EQ(members_[survivor].state_machine->commands, commands(0, 30));
  EXPECT_EQ(node.configuration().servers,
            (std::vector<Server>{{members_[survivor].id, configuration_.servers[survivor].address, true}}));
  EXPECT_EQ(log_lines_with("recovered the Raft configuration from " + peers_path(survivor) + ": 1 servers"), 1u);
  EXPECT_FALSE(std::filesystem::exists(peers_path(survivor))) << "a later start would recover again";

  ASSERT_TRUE(becomes_leader(survivor)) << "a configuration of one elects itself";
  propose_all(survivor, 30, 10);
  EXPECT_EQ(members_[survivor].state_machine->commands, commands(0, 40));

  // A restart is an ordinary one: no second recovery, the same state and configuration.
  stop(survivor);
  start(survivor);
  EXPECT_EQ(log_lines_with("recovered the Raft configuration"), 1u);
  // The entries after the recovery's snapshot are applied once the node runs.
  EXPECT_TRUE(all_running_applied(commands(0, 40)));
  EXPECT_EQ(members_[survivor].node->configuration().servers.size(), 1u);
  ASSERT_TRUE(becomes_leader(survivor));
  propose_all(survivor, 40, 5);
  EXPECT_EQ(members_[survivor].state_machine->commands, commands(0, 45));
}

TEST_F(RaftNodeTest, TwoSurvivorsWithTheSamePeersJsonFormAClusterOfTwo) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 20);
  ASSERT_TRUE(all_running_applied(commands(0, 20)));
  for (size_t i = 0; i < 3; ++i) stop(i);

  const std::string peers = peers_json_of({0, 1});
  write_peers_file(0, peers);
  write_peers_file(1, peers);
  start(0);
  start(1);
  const size_t recovered_leader = wait_for_leader();
  EXPECT_NE(recovered_leader, 2u);
  EXPECT_EQ(members_[recovered_leader].node->configuration().servers.size(), 2u);
  propose_all(recovered_leader, 20, 10);
  EXPECT_TRUE(all_running_applied(commands(0, 30)));
  EXPECT_EQ(log_lines_with("recovered the Raft configuration"), 2u);
}

TEST_F(RaftNodeTest, RecoveryAppliesTheEntriesThatWereNeverCommitted) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 5);
  ASSERT_TRUE(all_running_applied(commands(0, 5)));

  // Both followers die: the leader appends, but can no longer commit.
  const uint64_t durable_before = members_[leader].node->stats().storage.entries;
  stop((leader + 1) % 3);
  stop((leader + 2) % 3);
  for (int i = 5; i < 10; ++i) {
    members_[leader].node->propose("cmd-" + std::to_string(i), [](Result<Index>) {});
  }
  ASSERT_EQ(members_[leader].node->role(), Role::leader);
  ASSERT_TRUE(run_until([&] { return members_[leader].node->stats().storage.entries >= durable_before + 5; }))
      << "the leader never made its own copies durable";
  EXPECT_EQ(members_[leader].state_machine->commands, commands(0, 5)) << "committed without a quorum";
  stop(leader);

  write_peers_file(leader, peers_json_of({leader}));
  start(leader);
  EXPECT_EQ(members_[leader].state_machine->commands, commands(0, 10));
  EXPECT_EQ(log_lines_with("were not known to be committed"), 1u);
  ASSERT_TRUE(becomes_leader(leader));
  propose_all(leader, 10, 5);
  EXPECT_EQ(members_[leader].state_machine->commands, commands(0, 15));
}

TEST_F(RaftNodeTest, RecoveryOnTopOfSnapshotsKeepsTheirState) {
  snapshot_threshold_ = 16;
  trailing_entries_ = 4;
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  for (int batch = 0; batch < 5; ++batch) propose_all(leader, batch * 10, 10);
  ASSERT_TRUE(all_running_applied(commands(0, 50)));
  ASSERT_GE(members_[leader].node->stats().snapshots_taken, 1u);
  for (size_t i = 0; i < 3; ++i) stop(i);

  write_peers_file(leader, peers_json_of({leader}));
  start(leader);
  EXPECT_EQ(members_[leader].state_machine->commands, commands(0, 50));
  ASSERT_TRUE(becomes_leader(leader));
  propose_all(leader, 50, 20);  // past another snapshot
  stop(leader);
  start(leader);
  EXPECT_TRUE(all_running_applied(commands(0, 70)));
}

TEST_F(RaftNodeTest, ABadPeersJsonIsRefusedWithItsProblemAndNothingOnDiskChanges) {
  for (size_t i = 0; i < 3; ++i) start(i);
  const size_t leader = wait_for_leader();
  propose_all(leader, 0, 5);
  ASSERT_TRUE(all_running_applied(commands(0, 5)));
  for (size_t i = 0; i < 3; ++i) stop(i);

  const std::pair<std::string, std::string> bad_files[] = {
      {"[{\"id\": \"1\", \"address\": ", "not valid JSON"},
      {"[\"127.0.0.1:8300\"]", "raft protocol 2 format"},
      {"[{\"id\": \"1\"}]", "server 1 of the list: no \"address\""},
      {"[{\"id\": \"web-1\", \"address\": \"127.0.0.1:8300\"}]", "id \"web-1\" is not a Raft server number"},
  };
  for (const auto& [text, problem] : bad_files) {
    write_peers_file(0, text);
    const std::map<std::string, std::string> before = files_of(0);
    Status status = try_start(0);
    ASSERT_FALSE(status.is_ok()) << text;
    EXPECT_NE(status.message().find(peers_path(0)), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(problem), std::string::npos) << status.message();
    EXPECT_TRUE(files_of(0) == before) << "the refused start changed files under " << members_[0].dir;
  }
  EXPECT_EQ(log_lines_with("recovered the Raft configuration"), 0u);

  // Mended, the same file is accepted.
  write_peers_file(0, peers_json_of({0}));
  start(0);
  EXPECT_EQ(members_[0].state_machine->commands, commands(0, 5));
  ASSERT_TRUE(becomes_leader(0));
}

TEST_F(RaftNodeTest, AServerWithoutDataRefusesToRecoverFromPeersJson) {
  std::filesystem::create_directories(members_[0].dir);
  write_peers_file(0, peers_json_of({0}));
  Status status = try_start(0);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("holds no Raft log or snapshot"), std::string::npos) << status.message();
  EXPECT_EQ(files_of(0).size(), 1u) << "the refused start created files beside peers.json";
  EXPECT_TRUE(std::filesystem::exists(peers_path(0)));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(members_[0].dir), std::filesystem::directory_iterator()), 1)
      << "the refused start created directories beside peers.json";
}

}  // namespace
}  // namespace roster::raft
