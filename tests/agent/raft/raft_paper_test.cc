// The Raft paper (Ongaro & Ousterhout, "In Search of an Understandable
// Consensus Algorithm"), section by section, against RaftCore. The list of
// scenarios follows etcd's raft_paper_test.go; each test is written afresh
// for Roster's API. Tests run the paper's Raft (no pre-vote, no
// check-quorum lease) unless they say otherwise.
//
// Roster's log starts with the bootstrap entry (index 1, term 1), so the
// paper's examples are shifted one index to the right.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "agent/raft/raft.h"
#include "tests/agent/raft/raft_test_network.h"

namespace roster::raft {
namespace {

using testing::accept;
using testing::bootstrapped;
using testing::commit_noop;
using testing::drain;
using testing::Drained;
using testing::entries_with_terms;
using testing::make_leader;
using testing::paper_config;
using testing::vote_response;

std::vector<ServerId> ids_up_to(size_t size) {
  std::vector<ServerId> ids;
  for (ServerId id = 1; id <= size; ++id) ids.push_back(id);
  return ids;
}

std::vector<Term> log_terms(const RaftCore& core) {
  std::vector<Term> terms;
  for (Index index = core.log().first_index(); index <= core.log().last_index(); ++index) {
    terms.push_back(core.log().at(index).term);
  }
  return terms;
}

Message heartbeat(ServerId from, ServerId to, Term term, Index commit = 0) {
  Message m;
  m.type = MessageType::append_entries;
  m.from = from;
  m.to = to;
  m.term = term;
  m.leader_commit = commit;
  return m;
}

Message append(ServerId from, ServerId to, Term term, Index prev_index, Term prev_term, std::vector<Entry> entries,
               Index commit = 0) {
  Message m = heartbeat(from, to, term, commit);
  m.log_index = prev_index;
  m.log_term = prev_term;
  m.entries = std::move(entries);
  return m;
}

Message vote_request(ServerId from, ServerId to, Term term, Index last_index, Term last_term) {
  Message m;
  m.type = MessageType::request_vote;
  m.from = from;
  m.to = to;
  m.term = term;
  m.log_index = last_index;
  m.log_term = last_term;
  return m;
}

enum class Start { follower, candidate, leader };

// A server of {1, 2, 3} in the given role at a term it reached itself.
RaftCore core_in(Start start) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  if (start == Start::candidate) {
    while (core.role() != Role::candidate) core.tick();
  } else if (start == Start::leader) {
    make_leader(core);
  }
  return core;
}

// ---------------------------------------------------------------- §5.1

// "If one server's current term is smaller than the other's, then it updates
// its current term to the larger value. If a candidate or leader discovers
// that its term is out of date, it immediately reverts to follower state."
TEST(Paper_5_1, FollowerCandidateAndLeaderTakeANewerTermAndBecomeFollowers) {
  for (Start start : {Start::follower, Start::candidate, Start::leader}) {
    RaftCore core = core_in(start);
    const Term newer = core.current_term() + 3;
    core.step(heartbeat(2, 1, newer));
    EXPECT_EQ(core.current_term(), newer) << static_cast<int>(start);
    EXPECT_EQ(core.role(), Role::follower) << static_cast<int>(start);
    EXPECT_EQ(core.leader(), 2u) << static_cast<int>(start);
    EXPECT_EQ(core.voted_for(), kNoServer) << static_cast<int>(start);
  }
}

TEST(Paper_5_1, ANewerTermInAVoteRequestAlsoUpdatesTheTerm) {
  for (Start start : {Start::follower, Start::candidate, Start::leader}) {
    RaftCore core = core_in(start);
    const Term newer = core.current_term() + 2;
    // A candidate with a stale log: the vote is refused but the term is taken.
    core.step(vote_request(3, 1, newer, 1, 1));
    EXPECT_EQ(core.current_term(), newer);
    EXPECT_EQ(core.role(), Role::follower);
  }
}

// "If a server receives a request with a stale term number, it rejects the
// request." Roster answers a stale append with its own term (so a stale
// leader steps down) and drops a stale vote request.
TEST(Paper_5_1, RequestsWithAStaleTermAreRejected) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}, {}, 3));
  drain(core);

  core.step(append(2, 1, 2, 1, 1, entries_with_terms(2, {2})));
  EXPECT_EQ(core.current_term(), 3u);
  EXPECT_EQ(core.leader(), kNoServer);
  EXPECT_EQ(core.log().last_index(), 1u);
  Drained out = drain(core);
  ASSERT_EQ(out.messages.size(), 1u);
  EXPECT_EQ(out.messages[0].type, MessageType::append_entries_response);
  EXPECT_EQ(out.messages[0].term, 3u);
  EXPECT_FALSE(out.messages[0].success);

  core.step(vote_request(2, 1, 2, 5, 2));
  EXPECT_EQ(core.voted_for(), kNoServer);
  EXPECT_TRUE(drain(core).messages.empty());
}

// ---------------------------------------------------------------- §5.2

// "When servers start up, they begin as followers."
TEST(Paper_5_2, ServersStartAsFollowers) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  EXPECT_EQ(core.role(), Role::follower);
  EXPECT_EQ(core.leader(), kNoServer);
  EXPECT_EQ(core.current_term(), 1u);
}

// "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log
// entries) to all followers." Roster's heartbeat: no entries, log_index and
// log_term 0, and a commit index the follower is known to hold.
TEST(Paper_5_2, LeaderSendsHeartbeatsEveryHeartbeatInterval) {
  RaftConfig config = paper_config(1);
  config.heartbeat_ticks = 3;
  RaftCore core(config, bootstrapped({1, 2, 3}));
  drain(core);
  commit_noop(core, make_leader(core));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(core.propose("x" + std::to_string(i)).is_ok());
  drain(core);

  for (int i = 0; i < 2; ++i) {
    core.tick();
    for (const Message& m : drain(core).messages) EXPECT_FALSE(testing::is_heartbeat(m));
  }
  core.tick();
  std::vector<Message> beats;
  for (const Message& m : drain(core).messages) {
    if (testing::is_heartbeat(m)) beats.push_back(m);
  }
  ASSERT_EQ(beats.size(), 2u);
  std::set<ServerId> to;
  for (const Message& m : beats) {
    to.insert(m.to);
    EXPECT_EQ(m.term, core.current_term());
    EXPECT_EQ(m.leader_commit, 2u);  // the no-op, which both followers hold
  }
  EXPECT_EQ(to, (std::set<ServerId>{2, 3}));
}

// "If a follower receives no communication over a period of time called the
// election timeout, then it ... begins an election": increments its term,
// votes for itself and sends RequestVote to every other server. Roster
// holds the requests until the vote for itself is durable.
TEST(Paper_5_2, FollowerStartsAnElectionAfterTheElectionTimeout) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  int ticks = 0;
  while (core.role() == Role::follower && ticks < 100) {
    core.tick();
    ++ticks;
  }
  EXPECT_GE(ticks, 10);
  EXPECT_LT(ticks, 20);
  EXPECT_EQ(core.role(), Role::candidate);
  EXPECT_EQ(core.current_term(), 2u);
  EXPECT_EQ(core.voted_for(), 1u);

  Ready first = core.ready();
  EXPECT_TRUE(first.messages.empty()) << "vote requests went out before the vote was durable";
  ASSERT_TRUE(first.persist.has_value());
  ASSERT_TRUE(first.persist->hard_state.has_value());
  EXPECT_EQ(first.persist->hard_state->current_term, 2u);
  EXPECT_EQ(first.persist->hard_state->voted_for, 1u);
  core.persisted(first.persist->seq);

  std::vector<Message> requests = core.ready().messages;
  ASSERT_EQ(requests.size(), 2u);
  std::set<ServerId> to;
  for (const Message& m : requests) {
    to.insert(m.to);
    EXPECT_EQ(m.type, MessageType::request_vote);
    EXPECT_EQ(m.term, 2u);
    EXPECT_EQ(m.log_index, 1u);
    EXPECT_EQ(m.log_term, 1u);
  }
  EXPECT_EQ(to, (std::set<ServerId>{2, 3}));
}

// "If many followers become candidates at the same time, votes could be
// split ... each candidate will time out and start a new election by
// incrementing its term and initiating another round of RequestVote RPCs."
TEST(Paper_5_2, CandidateStartsANewElectionAfterTheElectionTimeout) {
  RaftCore core = core_in(Start::candidate);
  drain(core);
  ASSERT_EQ(core.current_term(), 2u);
  int ticks = 0;
  while (core.current_term() == 2 && ticks < 100) {
    core.tick();
    ++ticks;
  }
  EXPECT_GE(ticks, 10);
  EXPECT_LT(ticks, 20);
  EXPECT_EQ(core.role(), Role::candidate);
  EXPECT_EQ(core.current_term(), 3u);
  std::vector<Message> requests = drain(core).of_type(MessageType::request_vote);
  ASSERT_EQ(requests.size(), 2u);
  for (const Message& m : requests) EXPECT_EQ(m.term, 3u);
}

// "A candidate wins an election if it receives votes from a majority of the
// servers ... [it] returns to follower state [when a majority refuses] ...
// [and] neither wins nor loses [without a majority either way]."
TEST(Paper_5_2, ElectionInOneRoundOfVotes) {
  struct Case {
    size_t size;
    std::vector<std::pair<ServerId, bool>> votes;
    Role expected;
  };
  const std::vector<Case> cases = {
      {1, {}, Role::leader},
      {3, {{2, true}, {3, true}}, Role::leader},
      {3, {{2, true}}, Role::leader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, Role::leader},
      {5, {{2, true}, {3, true}, {4, true}}, Role::leader},
      {5, {{2, true}, {3, true}}, Role::leader},
      {3, {{2, false}, {3, false}}, Role::follower},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, Role::follower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, Role::follower},
      {3, {}, Role::candidate},
      {5, {{2, true}}, Role::candidate},
      {5, {{2, false}, {3, false}}, Role::candidate},
      {5, {}, Role::candidate},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped(ids_up_to(c.size)));
    drain(core);
    while (core.role() == Role::follower) core.tick();
    drain(core);
    for (const auto& [from, granted] : c.votes) core.step(vote_response(from, 1, core.current_term(), granted));
    EXPECT_EQ(core.role(), c.expected) << "case " << i;
    EXPECT_EQ(core.current_term(), 2u) << "case " << i;
  }
}

// "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
TEST(Paper_5_2, FollowerVotesForAtMostOneCandidatePerTerm) {
  struct Case {
    ServerId voted_for;
    ServerId candidate;
    bool granted;
  };
  const std::vector<Case> cases = {
      {kNoServer, 2, true}, {kNoServer, 3, true}, {2, 2, true}, {3, 3, true}, {2, 3, false}, {3, 2, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftBoot boot = bootstrapped({1, 2, 3});
    boot.hard_state.voted_for = c.voted_for;
    RaftCore core(paper_config(1), std::move(boot));
    drain(core);
    core.step(vote_request(c.candidate, 1, 1, 1, 1));
    std::vector<Message> out = drain(core).messages;
    ASSERT_EQ(out.size(), 1u) << "case " << i;
    EXPECT_EQ(out[0].type, MessageType::request_vote_response);
    EXPECT_EQ(out[0].to, c.candidate);
    EXPECT_EQ(out[0].term, 1u);
    EXPECT_EQ(out[0].success, c.granted) << "case " << i;
    EXPECT_EQ(core.voted_for(), c.voted_for == kNoServer ? c.candidate : c.voted_for) << "case " << i;
  }
}

// A vote request at a newer term is granted whatever the voter's role, once
// the voter has taken the term (etcd's TestVoteFromAnyState).
TEST(Paper_5_2, VoteFromAnyState) {
  for (Start start : {Start::follower, Start::candidate, Start::leader}) {
    RaftCore core = core_in(start);
    drain(core);
    const Term newer = core.current_term() + 1;
    core.step(vote_request(2, 1, newer, core.log().last_index(), core.log().last_term()));
    EXPECT_EQ(core.role(), Role::follower) << static_cast<int>(start);
    EXPECT_EQ(core.current_term(), newer);
    EXPECT_EQ(core.voted_for(), 2u);
    std::vector<Message> replies = drain(core).of_type(MessageType::request_vote_response);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_TRUE(replies[0].success);
    EXPECT_EQ(replies[0].term, newer);
  }
}

// "While waiting for votes, a candidate may receive an AppendEntries RPC from
// another server claiming to be leader. If the leader's term ... is at least
// as large as the candidate's current term, then the candidate recognizes
// the leader as legitimate and returns to follower state."
TEST(Paper_5_2, CandidateFallsBackToFollowerOnAppendFromALegitimateLeader) {
  for (Term delta : {0, 1}) {
    RaftCore core = core_in(Start::candidate);
    const Term term = core.current_term() + delta;
    core.step(heartbeat(2, 1, term));
    EXPECT_EQ(core.role(), Role::follower);
    EXPECT_EQ(core.current_term(), term);
    EXPECT_EQ(core.leader(), 2u);
  }
}

// "Election timeouts are chosen randomly from a fixed interval."
TEST(Paper_5_2, FollowerElectionTimeoutIsRandomizedOverItsInterval) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  std::set<int> timeouts;
  for (int round = 0; round < 500; ++round) {
    core.step(heartbeat(2, 1, core.current_term() + 1));
    int ticks = 0;
    while (core.role() == Role::follower && ticks < 100) {
      core.tick();
      ++ticks;
    }
    timeouts.insert(ticks);
  }
  std::set<int> expected;
  for (int t = 10; t < 20; ++t) expected.insert(t);
  EXPECT_EQ(timeouts, expected);
}

TEST(Paper_5_2, CandidateElectionTimeoutIsRandomizedOverItsInterval) {
  RaftCore core = core_in(Start::candidate);
  std::set<int> timeouts;
  for (int round = 0; round < 500; ++round) {
    const Term term = core.current_term();
    int ticks = 0;
    while (core.current_term() == term && ticks < 100) {
      core.tick();
      ++ticks;
    }
    timeouts.insert(ticks);
  }
  std::set<int> expected;
  for (int t = 10; t < 20; ++t) expected.insert(t);
  EXPECT_EQ(timeouts, expected);
}

// "... spreads out the servers so that in most cases only a single server
// will time out." At most 30% of rounds see two servers time out together.
TEST(Paper_5_2, ElectionTimeoutsOfFollowersRarelyCoincide) {
  std::vector<RaftCore> cores;
  for (ServerId id = 1; id <= 5; ++id) cores.emplace_back(paper_config(id), bootstrapped(ids_up_to(5)));
  int conflicts = 0;
  Term term = 1;
  for (int round = 0; round < 1000; ++round) {
    term += 2;
    for (RaftCore& core : cores) core.step(heartbeat(core.id() % 5 + 1, core.id(), term));
    int timed_out = 0;
    while (timed_out == 0) {
      for (RaftCore& core : cores) {
        core.tick();
        if (core.role() != Role::follower) ++timed_out;
      }
    }
    if (timed_out > 1) ++conflicts;
  }
  EXPECT_LE(conflicts, 300);
}

TEST(Paper_5_2, ElectionTimeoutsOfCandidatesRarelyCoincide) {
  std::vector<RaftCore> cores;
  for (ServerId id = 1; id <= 5; ++id) cores.emplace_back(paper_config(id), bootstrapped(ids_up_to(5)));
  int conflicts = 0;
  Term term = 1;
  for (int round = 0; round < 1000; ++round) {
    term += 10;
    std::vector<Term> stood_at;
    for (RaftCore& core : cores) {
      core.step(heartbeat(core.id() % 5 + 1, core.id(), term));
      while (core.role() != Role::candidate) core.tick();
      stood_at.push_back(core.current_term());
    }
    int timed_out = 0;
    while (timed_out == 0) {
      for (size_t i = 0; i < cores.size(); ++i) {
        cores[i].tick();
        if (cores[i].current_term() != stood_at[i]) ++timed_out;
      }
    }
    if (timed_out > 1) ++conflicts;
  }
  EXPECT_LE(conflicts, 300);
}

// ---------------------------------------------------------------- §5.3

// "The leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers ... [with] the
// index and term of the entry in its log that immediately precedes the new
// entries." The entry also goes to stable storage.
TEST(Paper_5_3, LeaderAppendsAProposalAndSendsItWithThePrecedingIndexAndTerm) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  commit_noop(core, make_leader(core));
  const Index last = core.log().last_index();
  const Term term = core.current_term();
  ASSERT_EQ(core.commit_index(), last);

  Result<Index> index = core.propose("some data");
  ASSERT_TRUE(index.is_ok());
  EXPECT_EQ(index.value(), last + 1);
  EXPECT_EQ(core.log().last_index(), last + 1);
  EXPECT_EQ(core.commit_index(), last);

  Drained out = drain(core, false);
  const Entry expected{term, last + 1, EntryType::command, "some data"};
  std::vector<Message> appends = out.of_type(MessageType::append_entries);
  ASSERT_EQ(appends.size(), 2u);
  std::set<ServerId> to;
  for (const Message& m : appends) {
    to.insert(m.to);
    EXPECT_EQ(m.term, term);
    EXPECT_EQ(m.log_index, last);
    EXPECT_EQ(m.log_term, term);
    EXPECT_EQ(m.leader_commit, last);
    EXPECT_EQ(m.entries, std::vector<Entry>{expected});
  }
  EXPECT_EQ(to, (std::set<ServerId>{2, 3}));
  ASSERT_EQ(out.batches.size(), 1u);
  EXPECT_EQ(out.batches[0].entries, std::vector<Entry>{expected});
}

// "When the entry has been safely replicated, the leader applies the entry
// to its state machine ... The leader keeps track of the highest index it
// knows to be committed, and it includes that index in future AppendEntries
// RPCs (including heartbeats) so that the other servers eventually find out."
TEST(Paper_5_3, LeaderCommitsAReplicatedEntryAndTellsFollowers) {
  RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
  drain(core);
  commit_noop(core, make_leader(core));
  const Index last = core.log().last_index();
  ASSERT_TRUE(core.propose("some data").is_ok());
  for (const Message& m : drain(core).of_type(MessageType::append_entries)) core.step(accept(m));

  EXPECT_EQ(core.commit_index(), last + 1);
  Drained out = drain(core);
  ASSERT_EQ(out.committed.size(), 1u);
  EXPECT_EQ(out.committed[0].data, "some data");
  EXPECT_EQ(out.committed[0].index, last + 1);

  core.tick();
  std::vector<Message> beats = drain(core).of_type(MessageType::append_entries);
  ASSERT_EQ(beats.size(), 2u);
  for (const Message& m : beats) EXPECT_EQ(m.leader_commit, last + 1);

  ASSERT_TRUE(core.propose("more").is_ok());
  for (const Message& m : drain(core).of_type(MessageType::append_entries)) {
    if (!m.entries.empty()) {
      EXPECT_EQ(m.leader_commit, last + 1);
    }
  }
}

// "A log entry is committed once the leader that created the entry has
// replicated it on a majority of the servers."
TEST(Paper_5_3, LeaderCommitsOnceAMajorityAcknowledges) {
  struct Case {
    size_t size;
    std::set<ServerId> acceptors;
    bool committed;
  };
  const std::vector<Case> cases = {
      {1, {}, true},         {3, {}, false},     {3, {2}, true},        {3, {2, 3}, true},
      {5, {}, false},        {5, {2}, false},    {5, {2, 3}, true},     {5, {2, 3, 4}, true},
      {5, {2, 3, 4, 5}, true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped(ids_up_to(c.size)));
    drain(core);
    commit_noop(core, make_leader(core));
    ASSERT_EQ(core.role(), Role::leader);
    const Index last = core.log().last_index();
    ASSERT_EQ(core.commit_index(), last) << "case " << i;
    ASSERT_TRUE(core.propose("some data").is_ok());
    for (const Message& m : drain(core).of_type(MessageType::append_entries)) {
      if (c.acceptors.contains(m.to)) core.step(accept(m));
    }
    EXPECT_EQ(core.commit_index() > last, c.committed) << "case " << i;
  }
}

// "When the leader commits an entry, it also commits all preceding entries
// in its log, including entries created by previous leaders", and they are
// applied in log order.
TEST(Paper_5_3, LeaderCommitsPrecedingEntriesOfEarlierLeaders) {
  const std::vector<std::vector<Term>> cases = {{}, {2}, {1, 2}, {1}};
  for (size_t i = 0; i < cases.size(); ++i) {
    std::vector<Entry> earlier = entries_with_terms(2, cases[i]);
    RaftCore core(paper_config(1), bootstrapped({1, 2, 3}, earlier, 2));
    drain(core);
    Drained out = make_leader(core);
    ASSERT_EQ(core.current_term(), 3u);
    ASSERT_TRUE(core.propose("some data").is_ok());
    std::vector<Entry> committed;
    // The followers accept whatever the leader sends until it has nothing more.
    for (int round = 0; round < 10 && !out.messages.empty(); ++round) {
      for (const Message& m : out.of_type(MessageType::append_entries)) core.step(accept(m));
      out = drain(core);
      committed.insert(committed.end(), out.committed.begin(), out.committed.end());
    }

    const Index after = 1 + cases[i].size();
    std::vector<Entry> expected = earlier;
    expected.push_back(Entry{3, after + 1, EntryType::no_op, ""});
    expected.push_back(Entry{3, after + 2, EntryType::command, "some data"});
    EXPECT_EQ(committed, expected) << "case " << i;
  }
}

// "Once a follower learns that a log entry is committed, it applies the
// entry to its local state machine (in log order)."
TEST(Paper_5_3, FollowerAppliesEntriesItLearnsAreCommitted) {
  struct Case {
    std::vector<Entry> entries;
    Index commit;
  };
  const std::vector<Case> cases = {
      {{Entry{1, 2, EntryType::command, "some data"}}, 2},
      {{Entry{1, 2, EntryType::command, "some data"}, Entry{1, 3, EntryType::command, "some data2"}}, 3},
      {{Entry{1, 2, EntryType::command, "some data2"}, Entry{1, 3, EntryType::command, "some data"}}, 3},
      {{Entry{1, 2, EntryType::command, "some data"}, Entry{1, 3, EntryType::command, "some data2"}}, 2},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
    drain(core);
    core.step(append(2, 1, 1, 1, 1, c.entries, c.commit));
    EXPECT_EQ(core.commit_index(), c.commit) << "case " << i;
    std::vector<Entry> expected(c.entries.begin(), c.entries.begin() + static_cast<std::ptrdiff_t>(c.commit - 1));
    EXPECT_EQ(drain(core).committed, expected) << "case " << i;
  }
}

// "If the follower does not find an entry in its log with the same index
// and term [as prevLogIndex/prevLogTerm], then it refuses the new entries."
// Roster's refusal carries the fast-backtracking hint.
TEST(Paper_5_3, FollowerRefusesAnAppendWhosePrecedingEntryDoesNotMatch) {
  struct Case {
    Term prev_term;
    Index prev_index;
    bool success;
    Index match_index;     // on success
    Index conflict_index;  // on refusal
    Term conflict_term;
  };
  // Log: 1@t1 (bootstrap), 2@t1, 3@t2; entries up to 2 are committed.
  const std::vector<Case> cases = {
      {1, 1, true, 2, 0, 0},  // below the commit index: all of it matches
      {1, 2, true, 2, 0, 0},  // matches a committed entry
      {2, 3, true, 3, 0, 0},  // matches an uncommitted entry
      {1, 3, false, 0, 3, 2},  // index 3 holds term 2: hint at the first index of term 2
      {3, 4, false, 0, 4, 0},  // past the end: hint at our last index + 1
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2, 3}, entries_with_terms(2, {1, 2}), 2, 2));
    drain(core);
    core.step(append(2, 1, 2, c.prev_index, c.prev_term, {}));
    std::vector<Message> out = drain(core).messages;
    ASSERT_EQ(out.size(), 1u) << "case " << i;
    EXPECT_EQ(out[0].type, MessageType::append_entries_response);
    EXPECT_EQ(out[0].term, 2u);
    EXPECT_EQ(out[0].success, c.success) << "case " << i;
    if (c.success) {
      EXPECT_EQ(out[0].match_index, c.match_index) << "case " << i;
    } else {
      EXPECT_EQ(out[0].conflict_index, c.conflict_index) << "case " << i;
      EXPECT_EQ(out[0].conflict_term, c.conflict_term) << "case " << i;
    }
  }
}

// "If an existing entry conflicts with a new one (same index but different
// terms), delete the existing entry and all that follow it. Append any new
// entries not already in the log", and write them to stable storage.
TEST(Paper_5_3, FollowerCutsConflictingEntriesAndAppendsNewOnes) {
  struct Case {
    Index prev_index;
    Term prev_term;
    std::vector<Entry> entries;
    std::vector<Term> log;
    std::vector<Entry> written;
  };
  // Log: 1@t1 (bootstrap), 2@t1, 3@t2.
  const std::vector<Case> cases = {
      {3, 2, entries_with_terms(4, {3}), {1, 1, 2, 3}, entries_with_terms(4, {3})},
      {2, 1, entries_with_terms(3, {3, 4}), {1, 1, 3, 4}, entries_with_terms(3, {3, 4})},
      {1, 1, {Entry{1, 2, EntryType::command, "e2"}}, {1, 1, 2}, {}},
      {1, 1, entries_with_terms(2, {3}), {1, 3}, entries_with_terms(2, {3})},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2, 3}, entries_with_terms(2, {1, 2}), 2));
    drain(core);
    core.step(append(2, 1, 2, c.prev_index, c.prev_term, c.entries));
    EXPECT_EQ(log_terms(core), c.log) << "case " << i;
    Drained out = drain(core);
    std::vector<Entry> written;
    for (const PersistBatch& batch : out.batches) written.insert(written.end(), batch.entries.begin(), batch.entries.end());
    EXPECT_EQ(written, c.written) << "case " << i;
  }
}

// Figure 7: whatever a follower's log looks like, the leader brings it into
// line with its own.
TEST(Paper_5_3, LeaderBringsEveryFollowerLogOfFigure7IntoLine) {
  // The leader's log from index 1: 1 1 1 4 4 5 5 6 6 6 (index 1 is the
  // bootstrap entry, term 1), at term 8.
  const std::vector<Term> leader_terms = {1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::vector<Term>> followers = {
      {1, 1, 4, 4, 5, 5, 6, 6},           // (a) missing one entry
      {1, 1, 4},                          // (b) missing many
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 6},     // (c) one extra uncommitted entry
      {1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},  // (d) extra entries of a later term
      {1, 1, 4, 4, 4, 4},                 // (e) missing and extra
      {1, 1, 2, 2, 2, 3, 3, 3, 3, 3},     // (f) a long divergent suffix
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    testing::Network net;
    net.add(1, paper_config(1), bootstrapped({1, 2, 3}, entries_with_terms(2, leader_terms), 8, 10));
    net.add(2, paper_config(2), bootstrapped({1, 2, 3}, entries_with_terms(2, followers[i]), 7, 0));
    net.settle();
    // Server 3 only votes for server 1; it hears nothing else.
    net.drop = [](const Message& m) { return m.to == 3; };
    while (net.core(1).role() == Role::follower) net.core(1).tick();
    net.settle();
    if (net.core(1).role() == Role::candidate) {
      net.core(1).step(vote_response(3, 1, net.core(1).current_term(), true));
    }
    ASSERT_EQ(net.core(1).role(), Role::leader) << "case " << i;
    ASSERT_TRUE(net.core(1).propose("x").is_ok());
    net.settle();

    const RaftLog& leader = net.core(1).log();
    const RaftLog& follower = net.core(2).log();
    ASSERT_EQ(follower.last_index(), leader.last_index()) << "case " << i;
    for (Index index = 1; index <= leader.last_index(); ++index) {
      EXPECT_EQ(follower.at(index), leader.at(index)) << "case " << i << " index " << index;
    }
  }
}

// ---------------------------------------------------------------- §5.4.1

// "The RequestVote RPC includes information about the candidate's log", its
// last index and term, and goes to every other server.
TEST(Paper_5_4_1, VoteRequestsCarryTheCandidatesLastIndexAndTerm) {
  struct Case {
    std::vector<Entry> entries;
    Term term;
  };
  const std::vector<Case> cases = {
      {entries_with_terms(2, {1}), 2},
      {entries_with_terms(2, {1, 2}), 3},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2, 3}));
    drain(core);
    core.step(append(2, 1, c.term - 1, 1, 1, c.entries));
    drain(core);
    while (core.role() == Role::follower) core.tick();
    std::vector<Message> requests = drain(core).of_type(MessageType::request_vote);
    ASSERT_EQ(requests.size(), 2u) << "case " << i;
    for (const Message& m : requests) {
      EXPECT_EQ(m.term, c.term);
      EXPECT_EQ(m.log_index, c.entries.back().index);
      EXPECT_EQ(m.log_term, c.entries.back().term);
    }
  }
}

// "The voter denies its vote if its own log is more up-to-date than that of
// the candidate": later last term wins, then the longer log.
TEST(Paper_5_4_1, VoterDeniesACandidateWhoseLogIsLessUpToDate) {
  struct Case {
    std::vector<Term> terms;  // the voter's log after the bootstrap entry
    Term last_term;
    Index last_index;
    bool granted;
  };
  const std::vector<Case> cases = {
      // same last term
      {{1}, 1, 2, true},
      {{1}, 1, 3, true},
      {{1, 1}, 1, 2, false},
      // the candidate's last term is later
      {{1}, 2, 2, true},
      {{1}, 2, 3, true},
      {{1, 1}, 2, 2, true},
      // the voter's last term is later
      {{2}, 1, 2, false},
      {{2}, 1, 3, false},
      {{2, 2}, 1, 2, false},
      {{1, 1}, 1, 2, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2}, entries_with_terms(2, c.terms), 2));
    drain(core);
    core.step(vote_request(2, 1, 3, c.last_index, c.last_term));
    std::vector<Message> out = drain(core).messages;
    ASSERT_EQ(out.size(), 1u) << "case " << i;
    EXPECT_EQ(out[0].type, MessageType::request_vote_response);
    EXPECT_EQ(out[0].success, c.granted) << "case " << i;
  }
}

// ---------------------------------------------------------------- §5.4.2

// "Raft never commits log entries from previous terms by counting replicas.
// Only log entries from the leader's current term are committed by counting
// replicas."
TEST(Paper_5_4_2, LeaderCommitsOnlyEntriesOfItsOwnTermByCounting) {
  struct Case {
    Index acknowledged;
    Index commit;
  };
  // Log: 1@t1 (bootstrap, committed), 2@t1, 3@t2; the leader of term 3 adds
  // its no-op at 4.
  const std::vector<Case> cases = {{2, 1}, {3, 1}, {4, 4}};
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    RaftCore core(paper_config(1), bootstrapped({1, 2}, entries_with_terms(2, {1, 2}), 2));
    drain(core);
    make_leader(core);
    ASSERT_EQ(core.current_term(), 3u);
    ASSERT_EQ(core.log().last_index(), 4u);
    Message ack;
    ack.type = MessageType::append_entries_response;
    ack.from = 2;
    ack.to = 1;
    ack.term = 3;
    ack.log_index = c.acknowledged - 1;
    ack.success = true;
    ack.match_index = c.acknowledged;
    core.step(ack);
    drain(core);
    EXPECT_EQ(core.commit_index(), c.commit) << "case " << i;
  }
}

}  // namespace
}  // namespace roster::raft
