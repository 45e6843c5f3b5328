// RaftCore's behaviours beyond the paper's basics: PreVote, CheckQuorum,
// pipelining and batching, fast backtracking, the leader's own durability,
// held messages, leadership transfer, membership changes, chunked
// snapshots and ReadIndex. Each runs a few cores over the small FIFO
// network in raft_test_network.h.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/raft/raft.h"
#include "tests/agent/raft/raft_test_network.h"

namespace roster::raft {
namespace {

using testing::bootstrapped;
using testing::drain;
using testing::Drained;
using testing::entries_with_terms;
using testing::Network;
using testing::paper_config;

bool is_append_with_entries(const Message& m) {
  return m.type == MessageType::append_entries && !m.entries.empty();
}

bool is_heartbeat_response(const Message& m) {
  return m.type == MessageType::append_entries_response && m.success && m.match_index == 0 && m.log_index == 0;
}

Index propose(Network& net, ServerId leader, const std::string& command) {
  Result<Index> index = net.core(leader).propose(command);
  EXPECT_TRUE(index.is_ok()) << index.status().to_string();
  net.settle();
  return index.is_ok() ? index.value() : 0;
}

// ---------------------------------------------------------------- PreVote

TEST(PreVote, APartitionedServerRejoiningNeitherRaisesTheTermNorDeposesTheLeader) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  const Term term = net.core(1).current_term();
  net.isolate(3);
  for (int i = 0; i < 5; ++i) propose(net, 1, "w" + std::to_string(i));
  net.tick(3, 100);  // many election timeouts alone
  EXPECT_EQ(net.core(3).current_term(), term);
  EXPECT_GT(net.core(3).stats().pre_votes_started, 0u);
  EXPECT_EQ(net.core(3).stats().elections_started, 0u);

  net.heal();
  net.tick_all(50);
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{1});
  EXPECT_EQ(net.core(1).current_term(), term);
  EXPECT_EQ(net.core(3).current_term(), term);
  EXPECT_EQ(net.core(3).role(), Role::follower);
  EXPECT_EQ(net.core(3).leader(), 1u);
}

TEST(PreVote, WithoutTheLeaseAStaleLogStillLosesThePreVote) {
  Network net({1, 2, 3}, [](RaftConfig& config) { config.check_quorum = false; });
  ASSERT_TRUE(net.elect(1));
  const Term term = net.core(1).current_term();
  net.isolate(3);
  for (int i = 0; i < 5; ++i) propose(net, 1, "w" + std::to_string(i));
  net.heal();
  // Only server 3 ticks: its pre-votes reach the others, whose logs are
  // longer, so they refuse.
  net.tick(3, 100);
  EXPECT_EQ(net.core(3).current_term(), term);
  EXPECT_EQ(net.core(1).role(), Role::leader);
  EXPECT_EQ(net.core(1).current_term(), term);
}

// ---------------------------------------------------------------- CheckQuorum

TEST(CheckQuorum, AConnectedLeaderKeepsLeading) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.tick_all(200);
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{1});
  EXPECT_EQ(net.core(1).stats().step_downs_check_quorum, 0u);
}

// The leader counts who it heard from over each election timeout; an
// isolated leader steps down at the first count that finds no quorum, so
// within two election timeouts of losing contact (one to notice, then the
// count).
TEST(CheckQuorum, AnIsolatedLeaderStepsDown) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.tick_all(25);  // an arbitrary point in the leader's counting window
  net.isolate(1);
  int ticks = 0;
  while (net.core(1).role() == Role::leader && ticks < 100) {
    net.tick(1);
    ++ticks;
  }
  EXPECT_EQ(net.core(1).role(), Role::follower);
  EXPECT_LE(ticks, 2 * 10);
  EXPECT_EQ(net.core(1).stats().step_downs_check_quorum, 1u);
  EXPECT_FALSE(net.core(1).propose("late").is_ok());
}

// ---------------------------------------------------------------- replication

TEST(Replication, AppendsArePipelinedUpToMaxInflightAppends) {
  Network net({1, 2, 3}, [](RaftConfig& config) { config.max_inflight_appends = 4; });
  ASSERT_TRUE(net.elect(1));
  net.hold = [](const Message& m) { return m.to == 2 && is_append_with_entries(m); };
  Index last = 0;
  for (int i = 0; i < 10; ++i) last = propose(net, 1, "p" + std::to_string(i));

  // Four appends to server 2 are out at once, unanswered; the rest wait.
  EXPECT_EQ(net.held.size(), 4u);
  ASSERT_NE(net.core(1).progress(2), nullptr);
  EXPECT_EQ(net.core(1).progress(2)->state(), ProgressState::replicate);
  // Server 3 answered each at once and has everything.
  EXPECT_EQ(net.core(1).progress(3)->match_index(), last);
  EXPECT_EQ(net.core(1).commit_index(), last);

  for (int round = 0; round < 10 && !net.held.empty(); ++round) net.release_held();
  EXPECT_EQ(net.core(1).progress(2)->match_index(), last);
  EXPECT_EQ(net.core(2).log().last_index(), last);
}

TEST(Replication, ProposalsBetweenReadyCallsGoOutInOneAppend) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  const size_t before = net.count_sent([](const Message& m) { return m.to == 2 && is_append_with_entries(m); });
  Index last = 0;
  for (int i = 0; i < 50; ++i) last = net.core(1).propose("b" + std::to_string(i)).value();

  Ready ready = net.core(1).ready();
  ASSERT_TRUE(ready.persist.has_value());
  EXPECT_EQ(ready.persist->entries.size(), 50u);
  size_t to_two = 0;
  for (const Message& m : ready.messages) {
    if (m.to == 2 && is_append_with_entries(m)) {
      ++to_two;
      EXPECT_EQ(m.entries.size(), 50u);
    }
  }
  EXPECT_EQ(to_two, 1u);
  net.core(1).persisted(ready.persist->seq);
  for (Message& m : ready.messages) {
    net.core(m.to).step(m);
  }
  net.settle();
  EXPECT_EQ(net.count_sent([](const Message& m) { return m.to == 2 && is_append_with_entries(m); }), before);
  EXPECT_EQ(net.core(1).commit_index(), last);
}

// A follower whose log diverges over hundreds of entries is brought into
// line in a round trip or two, not one per entry.
TEST(Replication, FastBacktrackingSkipsAWholeDivergentTerm) {
  Network net;
  const std::vector<ServerId> ids = {1, 2, 3};
  std::vector<Entry> common = entries_with_terms(2, std::vector<Term>(10, 1));
  std::vector<Entry> leader_log = common;
  for (Entry& e : entries_with_terms(12, std::vector<Term>(100, 3))) leader_log.push_back(e);
  std::vector<Entry> follower_log = common;
  for (Entry& e : entries_with_terms(12, std::vector<Term>(300, 2))) follower_log.push_back(e);
  RaftConfig config;
  config.seed = 3;
  for (ServerId id : ids) {
    config.id = id;
    net.add(id, config, bootstrapped(ids, id == 2 ? follower_log : leader_log, 3, 11));
  }
  ASSERT_TRUE(net.elect(1));
  net.settle();

  const size_t refusals = net.count_sent([](const Message& m) {
    return m.type == MessageType::append_entries_response && m.from == 2 && !m.success;
  });
  EXPECT_LE(refusals, 2u);
  const RaftLog& leader = net.core(1).log();
  const RaftLog& follower = net.core(2).log();
  ASSERT_EQ(follower.last_index(), leader.last_index());
  for (Index index = 1; index <= leader.last_index(); ++index) EXPECT_EQ(follower.at(index), leader.at(index));
}

TEST(Replication, AFollowerFarBehindIsFoundInOneRoundTrip) {
  Network net;
  const std::vector<ServerId> ids = {1, 2, 3};
  std::vector<Entry> long_log = entries_with_terms(2, std::vector<Term>(200, 1));
  RaftConfig config;
  config.seed = 3;
  for (ServerId id : ids) {
    config.id = id;
    net.add(id, config, bootstrapped(ids, id == 2 ? std::vector<Entry>{} : long_log, 1, id == 2 ? 1 : 201));
  }
  ASSERT_TRUE(net.elect(1));
  net.settle();
  EXPECT_LE(net.count_sent([](const Message& m) {
    return m.type == MessageType::append_entries_response && m.from == 2 && !m.success;
  }), 1u);
  EXPECT_EQ(net.core(2).log().last_index(), net.core(1).log().last_index());
}

// Appends lost while a follower was unreachable are sent again once it
// answers a heartbeat, without waiting for the next proposal.
TEST(Replication, LostAppendsAreResentWhenTheFollowerAnswersAgain) {
  Network net({1, 2, 3}, [](RaftConfig& config) { config.max_inflight_appends = 4; });
  ASSERT_TRUE(net.elect(1));
  ASSERT_EQ(net.core(1).progress(3)->state(), ProgressState::replicate);
  net.isolate(3);
  Index last = 0;
  for (int i = 0; i < 10; ++i) last = propose(net, 1, "lost" + std::to_string(i));  // fills the window
  net.heal();
  net.tick_all(5);
  EXPECT_EQ(net.core(3).log().last_index(), last);
  EXPECT_EQ(net.core(1).progress(3)->match_index(), last);
}

// A probe that finds the follower already holds everything (after a
// snapshot, or a refused stale append) returns the follower to replicate
// state instead of probing again on every ready().
TEST(Replication, AProbeAnsweredWithNothingNewEndsProbing) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  testing::commit_noop(core, testing::make_leader(core));
  ASSERT_EQ(core.progress(2)->state(), ProgressState::replicate);
  const Index last = core.log().last_index();
  ASSERT_EQ(core.progress(2)->match_index(), last);

  Message refusal;  // an answer to an append that was stale by the time it arrived
  refusal.type = MessageType::append_entries_response;
  refusal.from = 2;
  refusal.to = 1;
  refusal.term = core.current_term();
  refusal.log_index = last;
  refusal.conflict_index = last + 1;
  core.step(refusal);
  ASSERT_EQ(core.progress(2)->state(), ProgressState::probe);

  std::vector<Message> probes = drain(core).of_type(MessageType::append_entries);
  ASSERT_EQ(probes.size(), 1u);
  core.step(testing::accept(probes[0]));
  EXPECT_EQ(core.progress(2)->state(), ProgressState::replicate);
  EXPECT_TRUE(drain(core).messages.empty());
}

// ---------------------------------------------------------------- durability

// Thesis §10.2.1: the leader sends its entries before its own write
// finishes; two followers are a majority without it.
TEST(Durability, ThreeServerLeaderCommitsOnFollowersAcksBeforeItsOwnWrite) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.node(1).auto_persist = false;
  const Index index = propose(net, 1, "x");
  EXPECT_LT(net.core(1).log().stable(), index);
  EXPECT_EQ(net.core(1).commit_index(), index);
  ASSERT_FALSE(net.node(1).applied.empty());
  EXPECT_EQ(net.node(1).applied.back().data, "x");
}

TEST(Durability, SingleServerCommitsOnlyAfterItsWriteIsDurable) {
  Network net({1});
  ASSERT_TRUE(net.elect(1));
  net.node(1).auto_persist = false;
  const Index index = propose(net, 1, "x");
  EXPECT_LT(net.core(1).commit_index(), index);
  for (const Entry& e : net.node(1).applied) EXPECT_NE(e.data, "x");

  net.persist(1);
  net.settle();
  EXPECT_EQ(net.core(1).commit_index(), index);
  EXPECT_EQ(net.node(1).applied.back().data, "x");
}

// ---------------------------------------------------------------- held messages

TEST(HeldMessages, AVoteGrantIsNotReleasedBeforeTheVoteIsDurable) {
  RaftCore core(paper_config(2), bootstrapped({1, 2, 3}));
  drain(core);
  Message request;
  request.type = MessageType::request_vote;
  request.from = 1;
  request.to = 2;
  request.term = 2;
  request.log_index = 1;
  request.log_term = 1;
  core.step(request);
  EXPECT_EQ(core.voted_for(), 1u);

  Ready first = core.ready();
  EXPECT_TRUE(first.messages.empty());
  ASSERT_TRUE(first.persist.has_value());
  ASSERT_TRUE(first.persist->hard_state.has_value());
  EXPECT_EQ(first.persist->hard_state->voted_for, 1u);
  EXPECT_EQ(first.persist->hard_state->current_term, 2u);
  EXPECT_FALSE(core.has_ready());  // nothing more until the write finishes
  EXPECT_TRUE(core.ready().messages.empty());

  core.persisted(first.persist->seq);
  std::vector<Message> released = core.ready().messages;
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].type, MessageType::request_vote_response);
  EXPECT_TRUE(released[0].success);
}

TEST(HeldMessages, AnAppendIsAcknowledgedOnlyOnceTheEntriesAreDurable) {
  RaftCore core(paper_config(2), bootstrapped({1, 2, 3}));
  drain(core);
  Message append;
  append.type = MessageType::append_entries;
  append.from = 1;
  append.to = 2;
  append.term = 1;
  append.log_index = 1;
  append.log_term = 1;
  append.entries = entries_with_terms(2, {1, 1});
  core.step(append);

  Ready first = core.ready();
  EXPECT_TRUE(first.messages.empty());
  ASSERT_TRUE(first.persist.has_value());
  EXPECT_EQ(first.persist->entries.size(), 2u);

  // A second copy of the same append (a retransmission) must wait too.
  core.step(append);
  EXPECT_TRUE(core.ready().messages.empty());

  core.persisted(first.persist->seq);
  std::vector<Message> released = core.ready().messages;
  ASSERT_EQ(released.size(), 2u);
  for (const Message& m : released) {
    EXPECT_TRUE(m.success);
    EXPECT_EQ(m.match_index, 3u);
  }
  EXPECT_EQ(core.log().stable(), 3u);
}

// ---------------------------------------------------------------- transfer

TEST(Transfer, AnUpToDateTargetIsToldToCampaignAndWins) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  propose(net, 1, "before");
  const Term term = net.core(1).current_term();
  ASSERT_TRUE(net.core(1).transfer_leadership(2).is_ok());
  net.settle();
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{2});
  EXPECT_EQ(net.core(2).current_term(), term + 1);
  EXPECT_EQ(net.core(1).leader(), 2u);
  EXPECT_EQ(net.core(3).leader(), 2u);
  EXPECT_EQ(net.core(2).stats().transfers, 1u);
  EXPECT_EQ(net.count_sent([](const Message& m) { return m.type == MessageType::timeout_now; }), 1u);
}

TEST(Transfer, ALaggingTargetIsCaughtUpFirstAndProposalsWait) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.hold = [](const Message& m) { return m.to == 3 && is_append_with_entries(m); };
  propose(net, 1, "behind");
  ASSERT_FALSE(net.held.empty());
  ASSERT_TRUE(net.core(1).transfer_leadership(3).is_ok());
  net.settle();
  EXPECT_EQ(net.count_sent([](const Message& m) { return m.type == MessageType::timeout_now; }), 0u);
  Result<Index> refused = net.core(1).propose("during");
  EXPECT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::unavailable);

  net.hold = nullptr;
  net.release_held();
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{3});
}

TEST(Transfer, ALeaderAskedToStepDownHandsOverToTheMostCaughtUpVoter) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.hold = [](const Message& m) { return m.to == 2 && is_append_with_entries(m); };
  propose(net, 1, "only 3 has it");
  ASSERT_TRUE(net.core(1).step_down().is_ok());
  EXPECT_EQ(net.core(1).transfer_target(), 3u);
  net.hold = nullptr;
  net.release_held();
  net.settle();
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{3});
  EXPECT_EQ(net.core(1).leader(), 3u);
  EXPECT_FALSE(net.core(2).step_down().is_ok());  // not the leader
}

TEST(Transfer, ASingleServerHasNoOneToStepDownFor) {
  Network net({1});
  ASSERT_TRUE(net.elect(1));
  Status status = net.core(1).step_down();
  EXPECT_EQ(status.code(), StatusCode::unavailable);
  EXPECT_EQ(net.leaders(), std::vector<ServerId>{1});
}

TEST(Transfer, ATransferThatDoesNotCompleteTimesOut) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.drop = [](const Message& m) { return m.to == 3 && m.type == MessageType::timeout_now; };
  net.hold = [](const Message& m) { return m.to == 3 && is_append_with_entries(m); };
  propose(net, 1, "behind");
  ASSERT_TRUE(net.core(1).transfer_leadership(3).is_ok());
  EXPECT_FALSE(net.core(1).propose("during").is_ok());
  net.tick(1, 10);
  EXPECT_EQ(net.core(1).role(), Role::leader);
  EXPECT_EQ(net.core(1).transfer_target(), kNoServer);
  EXPECT_TRUE(net.core(1).propose("after").is_ok());
}

TEST(Transfer, OnlyToAVoterOtherThanTheLeader) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  EXPECT_FALSE(net.core(1).transfer_leadership(1).is_ok());
  EXPECT_FALSE(net.core(1).transfer_leadership(9).is_ok());
  EXPECT_FALSE(net.core(2).transfer_leadership(3).is_ok());
}

// ---------------------------------------------------------------- membership

TEST(Membership, AddNonVoterPromoteWhenCaughtUpThenTheLeaderRemovesItself) {
  Network net({1, 2, 3}, [](RaftConfig& config) { config.catch_up_entries = 5; });
  ASSERT_TRUE(net.elect(1));
  RaftConfig fourth;
  fourth.id = 4;
  fourth.seed = 11;
  fourth.catch_up_entries = 5;
  net.add(4, fourth, RaftBoot{});
  net.isolate(4);

  const MembershipChange add{MembershipChangeKind::add_non_voter, Server{4, "10.0.0.4:8300", true}};
  Result<Index> added = net.core(1).change_membership(add);
  ASSERT_TRUE(added.is_ok()) << added.status().to_string();
  // One change at a time: the next waits for this one to commit.
  const MembershipChange promote{MembershipChangeKind::promote, Server{4, "", true}};
  EXPECT_EQ(net.core(1).change_membership(promote).status().code(), StatusCode::unavailable);
  net.settle();
  ASSERT_GE(net.core(1).commit_index(), added.value());
  for (ServerId id : {1, 2, 3}) {
    ASSERT_NE(find_server(net.core(id).configuration(), 4), nullptr) << id;
    EXPECT_FALSE(is_voter(net.core(id).configuration(), 4));
  }

  for (int i = 0; i < 20; ++i) propose(net, 1, "c" + std::to_string(i));
  Result<Index> early = net.core(1).change_membership(promote);
  EXPECT_EQ(early.status().code(), StatusCode::unavailable) << "promoted a server that has not caught up";

  net.heal();
  net.tick_all(3);
  ASSERT_EQ(net.core(1).progress(4)->match_index(), net.core(1).log().last_index());
  Result<Index> promoted = net.core(1).change_membership(promote);
  ASSERT_TRUE(promoted.is_ok()) << promoted.status().to_string();
  net.settle();
  EXPECT_TRUE(is_voter(net.core(1).configuration(), 4));
  EXPECT_TRUE(is_voter(net.core(4).configuration(), 4));

  const uint64_t elections_before = net.core(1).stats().elections_started;
  const MembershipChange remove_self{MembershipChangeKind::remove, Server{1, "", true}};
  Result<Index> removed = net.core(1).change_membership(remove_self);
  ASSERT_TRUE(removed.is_ok()) << removed.status().to_string();
  net.settle();
  EXPECT_EQ(net.core(1).role(), Role::follower);
  EXPECT_GE(net.core(1).commit_index(), removed.value());
  EXPECT_EQ(find_server(net.core(2).configuration(), 1), nullptr);

  net.tick_all(60);
  std::vector<ServerId> leaders = net.leaders();
  ASSERT_EQ(leaders.size(), 1u);
  EXPECT_NE(leaders[0], 1u);
  EXPECT_EQ(net.core(1).stats().elections_started, elections_before);  // a removed server never stands
}

TEST(Membership, ANewLeaderChangesNothingBeforeItCommitsAnEntryOfItsTerm) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  testing::make_leader(core);  // its no-op is not committed yet
  const MembershipChange add{MembershipChangeKind::add_non_voter, Server{4, "", false}};
  EXPECT_EQ(core.change_membership(add).status().code(), StatusCode::unavailable);
}

// ---------------------------------------------------------------- snapshots

TEST(Snapshot, ALaggingFollowerReceivesTheSnapshotInChunks) {
  Network net({1, 2, 3}, [](RaftConfig& config) { config.snapshot_chunk_bytes = 100; });
  ASSERT_TRUE(net.elect(1));
  net.isolate(3);
  for (int i = 0; i < 30; ++i) propose(net, 1, "s" + std::to_string(i));
  const Index applied = net.core(1).applied_index();
  ASSERT_EQ(applied, net.core(1).log().last_index());

  auto data = std::make_shared<const std::string>(1050, 'd');
  net.core(1).snapshot_taken(Snapshot{net.core(1).snapshot_meta_at(applied), data}, 0);
  EXPECT_EQ(net.core(1).log().snapshot_index(), applied);
  EXPECT_GT(net.core(1).log().first_index(), 2u);

  net.heal();
  net.tick_all(5);
  const size_t chunks = net.count_sent([](const Message& m) { return m.type == MessageType::install_snapshot; });
  EXPECT_GE(chunks, 11u);  // 1050 bytes in chunks of 100
  ASSERT_EQ(net.node(3).restored.size(), 1u);
  EXPECT_EQ(*net.node(3).restored[0].data, *data);
  EXPECT_EQ(net.node(3).restored[0].meta.last_index, applied);
  EXPECT_EQ(net.core(3).log().snapshot_index(), applied);
  EXPECT_EQ(net.core(3).configuration(), net.core(1).configuration());
  EXPECT_EQ(net.core(3).stats().snapshots_installed, 1u);
  // Server 3's log (the bootstrap entry, the first no-op) does not reach the
  // snapshot's index: the snapshot replaces it, and storage is told to
  // forget it, or a crash would bring it back.
  EXPECT_EQ(net.node(3).snapshot_replaced_log, std::vector<bool>{true});

  // Replication goes on from the log after the snapshot.
  const Index next = propose(net, 1, "after");
  EXPECT_EQ(net.core(3).log().last_index(), next);
  net.tick(1);  // the next heartbeat carries the commit index
  EXPECT_LT(net.sent.size(), 500u);
  EXPECT_EQ(net.core(3).commit_index(), next);
  EXPECT_EQ(net.node(3).applied.back().data, "after");
}

// ---------------------------------------------------------------- ReadIndex

TEST(ReadIndex, ReleasedOnlyAfterAHeartbeatQuorum) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  const Index commit = net.core(1).commit_index();
  net.hold = [](const Message& m) { return is_heartbeat_response(m) && m.read_round != 0; };
  ASSERT_TRUE(net.core(1).read_index(42).is_ok());
  net.settle();
  EXPECT_TRUE(net.node(1).read_states.empty());
  ASSERT_EQ(net.held.size(), 2u);

  // One follower's answer makes a majority with the leader.
  net.core(1).step(net.held[0]);
  net.held.clear();
  net.settle();
  ASSERT_EQ(net.node(1).read_states.size(), 1u);
  EXPECT_EQ(net.node(1).read_states[0].request_id, 42u);
  EXPECT_EQ(net.node(1).read_states[0].index, commit);
  EXPECT_EQ(net.core(1).stats().reads_confirmed, 1u);
}

TEST(ReadIndex, ReleasedNoEarlierThanTheEntriesItWaitsFor) {
  RaftConfig config;
  config.id = 1;
  RaftCore core(config, bootstrapped({1}));
  while (core.role() != Role::leader) core.tick();
  drain(core);
  ASSERT_TRUE(core.propose("x").is_ok());
  Ready write = core.ready();
  ASSERT_TRUE(write.persist.has_value());
  core.persisted(write.persist->seq);  // commits "x"; it is not handed out yet
  ASSERT_GT(core.commit_index(), core.applied_index());
  ASSERT_TRUE(core.read_index(7).is_ok());
  Ready ready = core.ready();
  ASSERT_EQ(ready.read_states.size(), 1u);
  EXPECT_EQ(ready.read_states[0].index, core.commit_index());
  ASSERT_FALSE(ready.committed.empty());
  EXPECT_GE(ready.committed.back().index, ready.read_states[0].index);
}

TEST(ReadIndex, ANewLeaderWaitsForItsNoOpBeforeReading) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  Drained first = testing::make_leader(core);
  ASSERT_TRUE(core.read_index(5).is_ok());
  Drained nothing = drain(core);
  for (const Message& m : nothing.messages) EXPECT_EQ(m.read_round, 0u);
  EXPECT_TRUE(nothing.read_states.empty());

  for (const Message& m : first.of_type(MessageType::append_entries)) core.step(testing::accept(m));
  // The no-op committed: the read starts a heartbeat round.
  Drained beats = drain(core);
  size_t tagged = 0;
  for (const Message& m : beats.messages) {
    if (testing::is_heartbeat(m) && m.read_round != 0) {
      ++tagged;
      core.step(testing::accept(m));
    }
  }
  EXPECT_EQ(tagged, 2u);
  Drained out = drain(core);
  ASSERT_EQ(out.read_states.size(), 1u);
  EXPECT_EQ(out.read_states[0].request_id, 5u);
  EXPECT_EQ(out.read_states[0].index, 2u);  // the no-op
}

TEST(ReadIndex, PendingReadsFailWhenLeadershipIsLost) {
  Network net({1, 2, 3});
  ASSERT_TRUE(net.elect(1));
  net.drop = [](const Message& m) { return is_heartbeat_response(m); };
  ASSERT_TRUE(net.core(1).read_index(9).is_ok());
  net.settle();
  Message newer;
  newer.type = MessageType::append_entries;
  newer.from = 2;
  newer.to = 1;
  newer.term = net.core(1).current_term() + 1;
  net.core(1).step(newer);
  net.settle();
  EXPECT_EQ(net.node(1).failed_reads, std::vector<uint64_t>{9});
  EXPECT_TRUE(net.node(1).read_states.empty());
  EXPECT_EQ(net.core(2).read_index(10).code(), StatusCode::unavailable);
}

}  // namespace
}  // namespace roster::raft
