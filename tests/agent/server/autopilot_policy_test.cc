// AutopilotPolicy: which change autopilot makes, round by round, with the
// leader's view and the time given by hand. The removal rules follow
// hashicorp/raft-autopilot (pruneDeadServers / adjudicateRemoval): never a
// majority of the voters, never one of the last 2, never below min_quorum;
// Roster adds that the alive voters left must still be a quorum.

#include "agent/server/autopilot_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace roster::agent {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr raft::ServerId kLeader = 1;

// A cluster as the leader (server 1) sees it: every server in the pool with a
// server port, its log fully acknowledged.
class View {
 public:
  View() { inputs_.leader = kLeader; inputs_.commit_index = 100; inputs_.now = std::chrono::steady_clock::time_point(1h); }

  View& voter(raft::ServerId id) { return member(id, true); }
  View& non_voter(raft::ServerId id) { return member(id, false); }
  // In the pool but not (yet) in the configuration.
  View& newcomer(raft::ServerId id) {
    inputs_.servers[id] = info(id, MemberStatus::alive);
    return *this;
  }
  View& status(raft::ServerId id, MemberStatus status) {
    inputs_.servers[id].status = status;
    return *this;
  }
  View& match(raft::ServerId id, raft::Index index) {
    inputs_.match_index[id] = index;
    return *this;
  }
  View& untracked(raft::ServerId id) {
    inputs_.match_index.erase(id);
    return *this;
  }
  View& forget(raft::ServerId id) {
    inputs_.servers.erase(id);
    return *this;
  }
  View& advance(std::chrono::milliseconds by) {
    inputs_.now += by;
    return *this;
  }
  const AutopilotInputs& inputs() const { return inputs_; }

 private:
  static MemberInfo info(raft::ServerId id, MemberStatus status) {
    MemberInfo info;
    info.name = "s" + std::to_string(id);
    info.ip = "127.0.0.1";
    info.server_port = static_cast<uint16_t>(8300 + id);
    info.status = status;
    return info;
  }
  View& member(raft::ServerId id, bool voter) {
    inputs_.configuration.servers.push_back(raft::Server{id, "127.0.0.1:" + std::to_string(8300 + id), voter});
    inputs_.servers[id] = info(id, MemberStatus::alive);
    if (id != kLeader) inputs_.match_index[id] = inputs_.commit_index;
    return *this;
  }

  AutopilotInputs inputs_;
};

AutopilotOptions options(std::chrono::milliseconds cleanup = 5s, std::chrono::milliseconds stabilization = 2s,
                         size_t min_quorum = 0) {
  return AutopilotOptions{cleanup, stabilization, min_quorum};
}

// The description of the change the round makes, or "" for none.
std::string change_of(const AutopilotRound& round) { return round.change ? round.change->description : ""; }

TEST(AutopilotPolicyTest, AHealthyClusterIsLeftAlone) {
  AutopilotPolicy policy(options());
  View view;
  view.voter(1).voter(2).voter(3);
  AutopilotRound round = policy.next(view.inputs());
  EXPECT_EQ(change_of(round), "");
  EXPECT_THAT(round.held_back, IsEmpty());
}

TEST(AutopilotPolicyTest, ANewServerIsAddedAsANonVoter) {
  AutopilotPolicy policy(options());
  View view;
  view.voter(1).voter(2).voter(3).newcomer(4);
  AutopilotRound round = policy.next(view.inputs());
  ASSERT_TRUE(round.change);
  EXPECT_EQ(round.change->change.kind, raft::MembershipChangeKind::add_non_voter);
  EXPECT_EQ(round.change->change.server.id, 4u);
  EXPECT_EQ(round.change->change.server.address, "127.0.0.1:8304");
  EXPECT_FALSE(round.change->change.server.voter);
  EXPECT_EQ(round.change->description, "adding server s4 as a non-voter");
}

TEST(AutopilotPolicyTest, AFailedServerOutsideTheConfigurationIsNotAdded) {
  AutopilotPolicy policy(options());
  View view;
  view.voter(1).voter(2).voter(3).newcomer(4).status(4, MemberStatus::failed);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
}

TEST(AutopilotPolicyTest, ANonVoterIsPromotedOnlyAfterTheStabilizationTime) {
  AutopilotPolicy policy(options(5s, 2s));
  View view;
  view.voter(1).voter(2).voter(3).non_voter(4);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1999ms);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1ms);
  AutopilotRound round = policy.next(view.inputs());
  ASSERT_TRUE(round.change);
  EXPECT_EQ(round.change->change.kind, raft::MembershipChangeKind::promote);
  EXPECT_EQ(round.change->change.server.id, 4u);
  EXPECT_EQ(round.change->description, "promoting server s4 to voter");
}

// However short the log, a non-voter that has acknowledged nothing has not
// caught up (a small cluster's log is far under the lag allowed).
TEST(AutopilotPolicyTest, ANonVoterThatAcknowledgedNothingIsNotHealthy) {
  AutopilotPolicy policy(options(5s, 2s));
  View view;
  view.voter(1).voter(2).voter(3).non_voter(4).match(4, 0);
  EXPECT_FALSE(server_healthy(view.inputs(), 4));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(change_of(policy.next(view.inputs())), "");
    view.advance(1s);
  }
  view.untracked(4);
  EXPECT_FALSE(server_healthy(view.inputs(), 4));
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  // Once it acknowledges the log, its stable spell starts then.
  view.match(4, 100);
  EXPECT_TRUE(server_healthy(view.inputs(), 4));
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(2s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "promoting server s4 to voter");
}

TEST(AutopilotPolicyTest, ALaggingNonVoterIsNotHealthy) {
  View view;
  view.voter(1).voter(2).voter(3).non_voter(4).match(4, 1);
  AutopilotInputs inputs = view.inputs();
  inputs.commit_index = 1 + kHealthyLag;
  EXPECT_TRUE(server_healthy(inputs, 4));
  inputs.commit_index = 2 + kHealthyLag;
  EXPECT_FALSE(server_healthy(inputs, 4));
}

TEST(AutopilotPolicyTest, AnUnhealthySpellRestartsTheStabilizationTime) {
  AutopilotPolicy policy(options(5s, 2s));
  View view;
  view.voter(1).voter(2).voter(3).non_voter(4);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1500ms).status(4, MemberStatus::failed);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(100ms).status(4, MemberStatus::alive);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1900ms);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(100ms);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "promoting server s4 to voter");
}

TEST(AutopilotPolicyTest, AFailedVoterIsRemovedAfterTheCleanupTime) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).voter(4);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.status(3, MemberStatus::failed);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(4999ms);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1ms);
  AutopilotRound round = policy.next(view.inputs());
  ASSERT_TRUE(round.change);
  EXPECT_EQ(round.change->change.kind, raft::MembershipChangeKind::remove);
  EXPECT_EQ(round.change->change.server.id, 3u);
  EXPECT_EQ(round.change->description, "removing server s3 (failed past the cleanup time)");
}

TEST(AutopilotPolicyTest, AFailureMustLastWithoutABreak) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3);
  view.status(3, MemberStatus::failed);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(4s).status(3, MemberStatus::alive);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1s).status(3, MemberStatus::failed);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(4s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s3 (failed past the cleanup time)");
}

TEST(AutopilotPolicyTest, AServerTheLeaderNoLongerKnowsCountsAsFailed) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).forget(3);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(5s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server 3 (failed past the cleanup time)");
}

TEST(AutopilotPolicyTest, CleanupOffNeverRemovesAFailedServer) {
  AutopilotPolicy policy(options(0ms));
  View view;
  view.voter(1).voter(2).voter(3).voter(4).voter(5).non_voter(6);
  view.status(3, MemberStatus::failed).status(6, MemberStatus::failed);
  for (int i = 0; i < 10; ++i) {
    AutopilotRound round = policy.next(view.inputs());
    EXPECT_EQ(change_of(round), "");
    EXPECT_THAT(round.held_back, IsEmpty());
    view.advance(1h);
  }
  // A leave is not a failure: that server still goes.
  view.status(5, MemberStatus::left);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s5 (left the pool)");
}

TEST(AutopilotPolicyTest, AServerThatLeftIsRemovedAtOnce) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).status(2, MemberStatus::left);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s2 (left the pool)");
}

TEST(AutopilotPolicyTest, FailedNonVotersGoBeforeFailedVoters) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).voter(4).voter(5).non_voter(6);
  view.status(2, MemberStatus::failed).status(6, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(5s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s6 (failed past the cleanup time)");
}

// raft-autopilot removes at most (voters - 1) / 2 voters: with 3 voters one
// may go, with 2 none, so the cluster never drops to a single voter on its own.
TEST(AutopilotPolicyTest, NeverRemovesOneOfTheLastTwoVoters) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).status(2, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(1h);
  AutopilotRound round = policy.next(view.inputs());
  EXPECT_EQ(change_of(round), "");
  EXPECT_THAT(round.held_back, ElementsAre("not removing server s2: it is one of the last 2 voters"));
}

TEST(AutopilotPolicyTest, ThreeVotersMayLoseOneFailedVoter) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).status(3, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(5s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s3 (failed past the cleanup time)");
}

// With a minority alive the cluster has no quorum: removing a failed voter
// would let the rest decide alone.
TEST(AutopilotPolicyTest, NeverRemovesWhenTheAliveVotersWouldNotBeAQuorum) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).voter(4).voter(5);
  view.status(3, MemberStatus::failed).status(4, MemberStatus::failed).status(5, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(1h);
  AutopilotRound round = policy.next(view.inputs());
  EXPECT_EQ(change_of(round), "");
  EXPECT_THAT(round.held_back,
              ElementsAre(HasSubstr("not removing server s3: the 2 alive voters would not be a quorum of the 4"),
                          HasSubstr("not removing server s4"), HasSubstr("not removing server s5")));
}

// Five voters, two failed: each removal keeps a quorum, and autopilot stops at
// the 3 alive voters; a third failure then takes it down to 2 and no further.
TEST(AutopilotPolicyTest, RemovesFailedVotersOneAtATimeDownToTwo) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).voter(4).voter(5);
  view.status(4, MemberStatus::failed).status(5, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(5s);
  AutopilotRound round = policy.next(view.inputs());
  EXPECT_EQ(change_of(round), "removing server s4 (failed past the cleanup time)");

  View four;
  four.voter(1).voter(2).voter(3).voter(5).status(5, MemberStatus::failed);
  four.advance(5s);
  EXPECT_EQ(change_of(policy.next(four.inputs())), "removing server s5 (failed past the cleanup time)");

  View three;
  three.voter(1).voter(2).voter(3).advance(5s);
  EXPECT_EQ(change_of(policy.next(three.inputs())), "");
  three.status(3, MemberStatus::failed);
  policy.next(three.inputs());
  three.advance(5s);
  EXPECT_EQ(change_of(policy.next(three.inputs())), "removing server s3 (failed past the cleanup time)");

  View two;
  two.voter(1).voter(2).advance(10s).status(2, MemberStatus::failed);
  policy.next(two.inputs());
  two.advance(1h);
  EXPECT_EQ(change_of(policy.next(two.inputs())), "");
}

TEST(AutopilotPolicyTest, MinQuorumIsAFloorOnFailedVoterRemovals) {
  AutopilotPolicy policy(options(5s, 2s, /*min_quorum=*/3));
  View view;
  view.voter(1).voter(2).voter(3).status(3, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(1h);
  AutopilotRound round = policy.next(view.inputs());
  EXPECT_EQ(change_of(round), "");
  EXPECT_THAT(round.held_back,
              ElementsAre("not removing server s3: 2 voters would stay, fewer than min_quorum 3"));

  AutopilotPolicy four_policy(options(5s, 2s, /*min_quorum=*/3));
  View four;
  four.voter(1).voter(2).voter(3).voter(4).status(4, MemberStatus::failed);
  four_policy.next(four.inputs());
  four.advance(5s);
  EXPECT_EQ(change_of(four_policy.next(four.inputs())), "removing server s4 (failed past the cleanup time)");
}

// A leave is the server's own choice (or an operator's force-leave): it is
// removed even from 2 voters, as long as the one alive stays a quorum.
TEST(AutopilotPolicyTest, AVoterThatLeftIsRemovedEvenFromTwo) {
  AutopilotPolicy policy(options(5s, 2s, /*min_quorum=*/3));
  View view;
  view.voter(1).voter(2).status(2, MemberStatus::left);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "removing server s2 (left the pool)");
}

TEST(AutopilotPolicyTest, TheLeaderIsNeverRemoved) {
  AutopilotPolicy policy(options(5s));
  View view;
  view.voter(1).voter(2).voter(3).forget(kLeader);
  policy.next(view.inputs());
  view.advance(1h);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  EXPECT_TRUE(server_healthy(view.inputs(), kLeader));
}

TEST(AutopilotPolicyTest, ResetForgetsEarlierRounds) {
  AutopilotPolicy policy(options(5s, 2s));
  View view;
  view.voter(1).voter(2).voter(3).voter(4).non_voter(5).status(4, MemberStatus::failed);
  policy.next(view.inputs());
  view.advance(4s);
  policy.reset();
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "");
  view.advance(1s);
  EXPECT_EQ(change_of(policy.next(view.inputs())), "promoting server s5 to voter");
}

}  // namespace
}  // namespace roster::agent
