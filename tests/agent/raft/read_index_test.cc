#include "agent/raft/read_index.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace roster::raft {
namespace {

// Three voters: two acknowledgements make a quorum.
bool majority_of_three(const std::set<ServerId>& servers) { return servers.size() >= 2; }

std::vector<uint64_t> ids(const std::vector<ReadState>& reads) {
  std::vector<uint64_t> out;
  for (const ReadState& read : reads) out.push_back(read.request_id);
  return out;
}

TEST(ReadIndexTracker, AReadIsConfirmedOnlyByAQuorumOfItsRound) {
  ReadIndexTracker tracker;
  std::vector<ReadState> confirmed;
  tracker.add(100, 7, 1);
  tracker.acknowledge(1, 1);  // the leader itself
  tracker.confirm(majority_of_three, confirmed);
  EXPECT_TRUE(confirmed.empty());
  tracker.acknowledge(2, 0);  // an older round says nothing about this read
  tracker.confirm(majority_of_three, confirmed);
  EXPECT_TRUE(confirmed.empty());
  tracker.acknowledge(2, 1);
  tracker.confirm(majority_of_three, confirmed);
  ASSERT_EQ(confirmed.size(), 1u);
  EXPECT_EQ(confirmed[0].request_id, 100u);
  EXPECT_EQ(confirmed[0].index, 7u);
  EXPECT_TRUE(tracker.empty());
}

TEST(ReadIndexTracker, ALaterRoundConfirmsEarlierOnesInOrder) {
  ReadIndexTracker tracker;
  std::vector<ReadState> confirmed;
  tracker.add(1, 5, 1);
  tracker.add(2, 5, 1);
  tracker.add(3, 6, 2);
  tracker.acknowledge(1, 2);
  tracker.acknowledge(3, 1);
  tracker.confirm(majority_of_three, confirmed);
  EXPECT_EQ(ids(confirmed), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(tracker.size(), 1u);
  tracker.acknowledge(3, 2);
  tracker.confirm(majority_of_three, confirmed);
  EXPECT_EQ(ids(confirmed), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(ReadIndexTracker, AcknowledgementsNeverGoBack) {
  ReadIndexTracker tracker;
  tracker.acknowledge(2, 5);
  tracker.acknowledge(2, 3);
  EXPECT_EQ(tracker.acknowledged_at_least(5), (std::set<ServerId>{2}));
  EXPECT_TRUE(tracker.acknowledged_at_least(6).empty());
}

TEST(ReadIndexTracker, TakeAllHandsBackPendingReadsAndForgetsAcknowledgements) {
  ReadIndexTracker tracker;
  tracker.add(1, 5, 1);
  tracker.add(2, 5, 1);
  tracker.acknowledge(1, 1);
  EXPECT_EQ(tracker.take_all(), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(tracker.empty());
  EXPECT_TRUE(tracker.acknowledged_at_least(1).empty());
}

}  // namespace
}  // namespace roster::raft
