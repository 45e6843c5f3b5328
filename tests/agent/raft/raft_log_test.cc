#include "agent/raft/raft_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/agent/raft/raft_test_network.h"

namespace roster::raft {
namespace {

using testing::entries_with_terms;

std::vector<Term> terms_of(const RaftLog& log) {
  std::vector<Term> terms;
  for (Index index = log.first_index(); index <= log.last_index(); ++index) terms.push_back(log.at(index).term);
  return terms;
}

TEST(RaftLog, EmptyLogEndsAtZero) {
  RaftLog log;
  EXPECT_EQ(log.first_index(), 1u);
  EXPECT_EQ(log.last_index(), 0u);
  EXPECT_EQ(log.last_term(), 0u);
  EXPECT_EQ(log.term_at(0), Term{0});
  EXPECT_EQ(log.term_at(1), std::nullopt);
}

TEST(RaftLog, ALogThatDoesNotContinueItsSnapshotIsDropped) {
  // The entry at the snapshot's index has another term: a received snapshot
  // replaced this log, and none of it (before or after) can be trusted.
  RaftLog log(SnapshotMeta{5, 3, {}}, entries_with_terms(3, {2, 2, 2, 2, 2}));
  EXPECT_EQ(log.first_index(), 6u);
  EXPECT_EQ(log.last_index(), 5u);
  EXPECT_EQ(log.last_term(), 3u);
  // One that does continue it keeps its trailing window and its tail.
  RaftLog kept(SnapshotMeta{5, 2, {}}, entries_with_terms(3, {2, 2, 2, 2, 4}));
  EXPECT_EQ(kept.first_index(), 3u);
  EXPECT_EQ(kept.last_index(), 7u);
}

TEST(RaftLog, RecoversEntriesAfterASnapshotAsCommittedAppliedAndStable) {
  RaftLog log(SnapshotMeta{5, 2, {}}, entries_with_terms(6, {2, 3}));
  EXPECT_EQ(log.snapshot_index(), 5u);
  EXPECT_EQ(log.first_index(), 6u);
  EXPECT_EQ(log.last_index(), 7u);
  EXPECT_EQ(log.last_term(), 3u);
  EXPECT_EQ(log.commit_index(), 5u);
  EXPECT_EQ(log.applied(), 5u);
  EXPECT_EQ(log.stable(), 7u);
}

TEST(RaftLog, TermAtCoversHeldEntriesAndTheSnapshotButNotWhatWasCompacted) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2, 2, 3}));
  log.compact(3, 2, 4);  // snapshot at 3, keep 4 and 5
  EXPECT_EQ(log.term_at(2), std::nullopt);
  EXPECT_EQ(log.term_at(3), Term{2});  // the snapshot's last entry
  EXPECT_EQ(log.term_at(4), Term{2});
  EXPECT_EQ(log.term_at(5), Term{3});
  EXPECT_EQ(log.term_at(6), std::nullopt);
  EXPECT_TRUE(log.matches(3, 2));
  EXPECT_FALSE(log.matches(3, 1));
}

TEST(RaftLog, MergeSkipsEntriesAlreadyHeld) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2}));
  std::vector<Entry> same = entries_with_terms(2, {1, 2});
  EXPECT_EQ(log.merge(same), 0u);
  EXPECT_EQ(terms_of(log), (std::vector<Term>{1, 1, 2}));
  EXPECT_EQ(log.stable(), 3u);
}

TEST(RaftLog, MergeAppendsNewEntriesAfterTheHeldOnes) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1}));
  std::vector<Entry> more = entries_with_terms(2, {1, 2, 2});
  EXPECT_EQ(log.merge(more), 3u);
  EXPECT_EQ(terms_of(log), (std::vector<Term>{1, 1, 2, 2}));
  EXPECT_EQ(log.stable(), 2u);  // the new ones are not durable yet
}

TEST(RaftLog, MergeCutsTheFirstConflictAndEverythingAfterIt) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2, 2, 2}));
  std::vector<Entry> leader = entries_with_terms(2, {1, 3});
  EXPECT_EQ(log.merge(leader), 3u);
  EXPECT_EQ(terms_of(log), (std::vector<Term>{1, 1, 3}));
  EXPECT_EQ(log.stable(), 2u);  // the cut entries were durable; what replaces them is not
}

TEST(RaftLog, MergeIgnoresEntriesCoveredByTheSnapshot) {
  RaftLog log(SnapshotMeta{3, 1, {}}, entries_with_terms(4, {2}));
  std::vector<Entry> leader = entries_with_terms(2, {1, 1, 2, 2});
  EXPECT_EQ(log.merge(leader), 5u);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(terms_of(log), (std::vector<Term>{2, 2}));
}

TEST(RaftLog, SliceStopsAtTheCountOrTheBytesButAlwaysReturnsOne) {
  std::vector<Entry> entries;
  for (Index index = 1; index <= 5; ++index) {
    entries.push_back(Entry{1, index, EntryType::command, std::string(100, 'x')});
  }
  RaftLog log(SnapshotMeta{}, entries);
  EXPECT_EQ(log.slice(1, 3, 1 << 20).size(), 3u);
  EXPECT_EQ(log.slice(1, 100, 1 << 20).size(), 5u);
  EXPECT_EQ(log.slice(2, 100, 1).size(), 1u);  // one entry even when it alone is too big
  EXPECT_EQ(log.slice(1, 100, 250).size(), 2u);
  EXPECT_TRUE(log.slice(6, 100, 1 << 20).empty());
  EXPECT_EQ(log.slice(2, 4).size(), 3u);
}

TEST(RaftLog, UpToDateComparesLastTermThenLength) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 2, 2}));
  EXPECT_TRUE(log.is_up_to_date(3, 2));
  EXPECT_TRUE(log.is_up_to_date(4, 2));
  EXPECT_FALSE(log.is_up_to_date(2, 2));
  EXPECT_TRUE(log.is_up_to_date(1, 3));
  EXPECT_FALSE(log.is_up_to_date(10, 1));
}

TEST(RaftLog, FindsTheBoundsOfATerm) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2, 2, 2, 4}));
  EXPECT_EQ(log.first_index_of_term(5), 3u);
  EXPECT_EQ(log.first_index_of_term(2), 1u);
  EXPECT_EQ(log.first_index_of_term(6), 6u);
  EXPECT_EQ(log.last_index_of_term(2), 5u);
  EXPECT_EQ(log.last_index_of_term(1), 2u);
  EXPECT_EQ(log.last_index_of_term(3), 0u);  // no entry of term 3
  EXPECT_EQ(log.last_index_of_term(5), 0u);
}

TEST(RaftLog, LastIndexOfTermFallsBackToTheSnapshot) {
  RaftLog log(SnapshotMeta{4, 2, {}}, entries_with_terms(5, {3, 3}));
  EXPECT_EQ(log.last_index_of_term(2), 4u);
  EXPECT_EQ(log.last_index_of_term(3), 6u);
}

TEST(RaftLog, CompactKeepsATrailingWindowBeforeTheSnapshot) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 1, 2, 2, 2, 3}));
  log.compact(5, 2, 3);  // snapshot at 5, keep from 3
  EXPECT_EQ(log.snapshot_index(), 5u);
  EXPECT_EQ(log.snapshot_term(), 2u);
  EXPECT_EQ(log.first_index(), 3u);
  EXPECT_EQ(log.last_index(), 7u);
  EXPECT_EQ(log.at(3).term, 1u);
  EXPECT_EQ(log.term_at(2), std::nullopt);
  // Compacting again never brings back what was dropped.
  log.compact(6, 2, 1);
  EXPECT_EQ(log.first_index(), 3u);
  EXPECT_EQ(log.snapshot_index(), 6u);
}

TEST(RaftLog, CompactWithoutAWindowDropsEverythingUpToTheSnapshot) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2}));
  log.compact(3, 2, 4);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(log.last_index(), 3u);
  EXPECT_EQ(log.last_term(), 2u);
  EXPECT_EQ(log.term_at(3), Term{2});
}

TEST(RaftLog, RecoversATrailingWindowThatOverlapsTheSnapshot) {
  RaftLog log(SnapshotMeta{5, 2, {}}, entries_with_terms(3, {1, 2, 2, 3}));
  EXPECT_EQ(log.first_index(), 3u);
  EXPECT_EQ(log.snapshot_index(), 5u);
  EXPECT_EQ(log.last_index(), 6u);
  EXPECT_EQ(log.term_at(4), Term{2});
}

TEST(RaftLog, RestoreKeepsTheSuffixWhenTheSnapshotsLastEntryMatches) {
  RaftLog log(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2, 2, 3}));
  EXPECT_TRUE(log.restore(SnapshotMeta{3, 2, {}}));
  EXPECT_EQ(log.snapshot_index(), 3u);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(log.last_index(), 5u);
  EXPECT_EQ(log.commit_index(), 3u);
  EXPECT_EQ(log.applied(), 3u);
}

TEST(RaftLog, RestoreDropsTheLogWhenTheSnapshotConflictsOrIsAhead) {
  RaftLog conflicting(SnapshotMeta{}, entries_with_terms(1, {1, 1, 2, 2}));
  EXPECT_FALSE(conflicting.restore(SnapshotMeta{3, 3, {}}));
  EXPECT_EQ(conflicting.last_index(), 3u);
  EXPECT_EQ(conflicting.last_term(), 3u);
  EXPECT_EQ(conflicting.first_index(), 4u);
  EXPECT_LE(conflicting.stable(), 3u);

  RaftLog behind(SnapshotMeta{}, entries_with_terms(1, {1, 1}));
  EXPECT_FALSE(behind.restore(SnapshotMeta{10, 4, {}}));
  EXPECT_EQ(behind.last_index(), 10u);
  EXPECT_EQ(behind.term_at(10), Term{4});
  EXPECT_EQ(behind.commit_index(), 10u);
  EXPECT_EQ(behind.applied(), 10u);
  EXPECT_LE(behind.stable(), 10u);
}

}  // namespace
}  // namespace roster::raft
