#include "agent/gossip/wire/replay_filter.h"

#include <gtest/gtest.h>

namespace roster::gossip::wire {
namespace {

std::string nonce(int i) {
  std::string out(12, '\0');
  for (int byte = 0; byte < 4; ++byte) out[static_cast<size_t>(byte)] = static_cast<char>(i >> (8 * byte));
  return out;
}

TEST(ReplayFilterTest, SecondSightingIsAReplay) {
  ReplayFilter filter(16);
  EXPECT_FALSE(filter.seen_before(nonce(1)));
  EXPECT_TRUE(filter.seen_before(nonce(1)));
  EXPECT_FALSE(filter.seen_before(nonce(2)));
  EXPECT_TRUE(filter.seen_before(nonce(1)));
  EXPECT_EQ(filter.size(), 2u);
}

TEST(ReplayFilterTest, MemoryIsBoundedAndTheOldestIsForgottenFirst) {
  ReplayFilter filter(100);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(filter.seen_before(nonce(i)));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(filter.seen_before(nonce(i))) << i;
  EXPECT_FALSE(filter.seen_before(nonce(100)));  // pushes out nonce 0
  EXPECT_EQ(filter.size(), 100u);
  EXPECT_TRUE(filter.seen_before(nonce(1)));
  EXPECT_FALSE(filter.seen_before(nonce(0)));  // forgotten, remembered again (pushes out 1)
  EXPECT_FALSE(filter.seen_before(nonce(1)));
  for (int i = 0; i < 100000; ++i) (void)filter.seen_before(nonce(1000 + i));
  EXPECT_EQ(filter.size(), 100u);
  EXPECT_TRUE(filter.seen_before(nonce(1000 + 99999)));
}

TEST(ReplayFilterTest, SurvivesAMove) {
  ReplayFilter filter(8);
  EXPECT_FALSE(filter.seen_before(nonce(1)));
  ReplayFilter moved = std::move(filter);
  EXPECT_TRUE(moved.seen_before(nonce(1)));
  for (int i = 2; i < 20; ++i) EXPECT_FALSE(moved.seen_before(nonce(i)));
}

}  // namespace
}  // namespace roster::gossip::wire
