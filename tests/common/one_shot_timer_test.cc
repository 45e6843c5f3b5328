// OneShotTimer against the race asio leaves open: a cancel or re-arm that
// comes after the expiry was queued but before its handler ran.

#include "common/one_shot_timer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>

namespace roster {
namespace {

using std::chrono::steady_clock;

// Two timers that expired before the loop runs are queued together, in
// deadline order: when the first one's callback runs, the second one's expiry
// is already queued. This is the order in which a wake-up and a deadline that
// fall in the same loop turn arrive.
class QueuedExpiry : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  OneShotTimer first{io};
  OneShotTimer second{io};
  steady_clock::time_point past = steady_clock::now() - std::chrono::seconds(1);
};

TEST_F(QueuedExpiry, CancelBeatsAnExpiryAlreadyQueued) {
  int second_runs = 0;
  second.arm_at(past + std::chrono::milliseconds(1), [&] { ++second_runs; });
  first.arm_at(past, [&] { second.cancel(); });
  io.run();
  EXPECT_EQ(second_runs, 0);
  EXPECT_FALSE(second.armed());
}

TEST_F(QueuedExpiry, RearmBeatsAnExpiryAlreadyQueued) {
  int stale_runs = 0;
  int fresh_runs = 0;
  second.arm_at(past + std::chrono::milliseconds(1), [&] { ++stale_runs; });
  first.arm_at(past, [&] { second.arm_at(past, [&] { ++fresh_runs; }); });
  io.run();
  EXPECT_EQ(stale_runs, 0);
  EXPECT_EQ(fresh_runs, 1);
}

TEST_F(QueuedExpiry, DestroyingTheTimerBeatsAnExpiryAlreadyQueued) {
  int runs = 0;
  auto doomed = std::make_unique<OneShotTimer>(io);
  doomed->arm_at(past + std::chrono::milliseconds(1), [&] { ++runs; });
  first.arm_at(past, [&] { doomed.reset(); });
  io.run();
  EXPECT_EQ(runs, 0);
}

TEST(OneShotTimer, RunsOnceAtItsDeadline) {
  boost::asio::io_context io;
  OneShotTimer timer(io);
  int runs = 0;
  timer.arm_after(std::chrono::milliseconds(1), [&] { ++runs; });
  EXPECT_TRUE(timer.armed());
  io.run();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(timer.armed());
}

TEST(OneShotTimer, ACallbackMayRearmItsOwnTimer) {
  boost::asio::io_context io;
  OneShotTimer timer(io);
  int runs = 0;
  std::function<void()> tick = [&] {
    if (++runs < 3) timer.arm_after(std::chrono::milliseconds(0), tick);
  };
  timer.arm_after(std::chrono::milliseconds(0), tick);
  io.run();
  EXPECT_EQ(runs, 3);
}

}  // namespace
}  // namespace roster
