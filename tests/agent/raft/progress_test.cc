#include "agent/raft/progress.h"

#include <gtest/gtest.h>

namespace roster::raft {
namespace {

TEST(Progress, ProbeSendsOneAppendAtATime) {
  Progress progress(5, 4, 1 << 20);
  EXPECT_EQ(progress.state(), ProgressState::probe);
  EXPECT_TRUE(progress.can_send());
  progress.sent(7, 100);
  EXPECT_FALSE(progress.can_send());
  EXPECT_EQ(progress.next_index(), 5u);  // probing does not move ahead optimistically
  EXPECT_TRUE(progress.acknowledge(7));
  EXPECT_EQ(progress.match_index(), 7u);
  EXPECT_EQ(progress.next_index(), 8u);
  EXPECT_TRUE(progress.can_send());
}

TEST(Progress, ProbeRetriesFromTheRejectionHint) {
  Progress progress(10, 4, 1 << 20);
  progress.sent(9, 0);
  progress.reject(4);
  EXPECT_EQ(progress.next_index(), 4u);
  EXPECT_TRUE(progress.can_send());
  // A hint below what is known to match is clamped.
  progress.acknowledge(3);
  progress.reject(1);
  EXPECT_EQ(progress.next_index(), 4u);
}

TEST(Progress, ReplicatePipelinesUpToTheInflightCount) {
  Progress progress(1, 3, 1 << 20);
  progress.acknowledge(0);
  progress.become_replicate();
  for (Index last = 1; last <= 3; ++last) {
    ASSERT_TRUE(progress.can_send());
    progress.sent(last, 10);
    EXPECT_EQ(progress.next_index(), last + 1);  // optimistic
  }
  EXPECT_FALSE(progress.can_send());
  EXPECT_FALSE(progress.acknowledge(0));
  EXPECT_FALSE(progress.can_send());
  EXPECT_TRUE(progress.acknowledge(2));  // frees the first two
  EXPECT_TRUE(progress.can_send());
  EXPECT_EQ(progress.next_index(), 4u);
}

TEST(Progress, ReplicateStopsAtTheInflightBytes) {
  Progress progress(1, 100, 250);
  progress.become_replicate();
  progress.sent(1, 100);
  progress.sent(2, 100);
  EXPECT_TRUE(progress.can_send());
  progress.sent(3, 100);
  EXPECT_FALSE(progress.can_send());
  progress.acknowledge(1);
  EXPECT_TRUE(progress.can_send());
}

TEST(Progress, RejectionInReplicateFallsBackToProbe) {
  Progress progress(1, 8, 1 << 20);
  progress.acknowledge(4);
  progress.become_replicate();
  progress.sent(8, 10);
  progress.sent(12, 10);
  progress.reject(6);
  EXPECT_EQ(progress.state(), ProgressState::probe);
  EXPECT_EQ(progress.next_index(), 5u);  // back to just after what matches
  EXPECT_TRUE(progress.can_send());
}

TEST(Progress, SnapshotStateSendsNoAppendsAndResumesAfterTheSnapshot) {
  Progress progress(3, 8, 1 << 20);
  progress.acknowledge(2);
  progress.become_snapshot(50);
  EXPECT_EQ(progress.state(), ProgressState::snapshot);
  EXPECT_EQ(progress.pending_snapshot(), 50u);
  EXPECT_FALSE(progress.can_send());
  progress.acknowledge(50);
  progress.become_probe();
  EXPECT_EQ(progress.state(), ProgressState::probe);
  EXPECT_EQ(progress.next_index(), 51u);
  EXPECT_EQ(progress.pending_snapshot(), 0u);
  EXPECT_TRUE(progress.can_send());
}

TEST(Progress, AcknowledgementsNeverMoveMatchBackwards) {
  Progress progress(1, 8, 1 << 20);
  EXPECT_TRUE(progress.acknowledge(9));
  EXPECT_FALSE(progress.acknowledge(5));
  EXPECT_EQ(progress.match_index(), 9u);
  EXPECT_EQ(progress.next_index(), 10u);
}

TEST(Progress, StatesHaveNames) {
  EXPECT_STREQ(progress_state_name(ProgressState::probe), "probe");
  EXPECT_STREQ(progress_state_name(ProgressState::replicate), "replicate");
  EXPECT_STREQ(progress_state_name(ProgressState::snapshot), "snapshot");
}

}  // namespace
}  // namespace roster::raft
