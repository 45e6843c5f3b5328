#include "common/accept_backoff.h"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

namespace roster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(AcceptBackoff, DoublesFromTheFirstDelayUpToTheCapAndStartsOverAfterASuccess) {
  AcceptBackoff backoff(milliseconds(5), seconds(1));
  const auto now = std::chrono::steady_clock::time_point{} + seconds(100);
  std::vector<long> delays;
  for (int i = 0; i < 10; ++i) {
    delays.push_back(std::chrono::duration_cast<milliseconds>(backoff.failed(now).retry_after).count());
  }
  EXPECT_EQ(delays, (std::vector<long>{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}));
  backoff.succeeded();
  EXPECT_EQ(backoff.failed(now).retry_after, milliseconds(5));
}

TEST(AcceptBackoff, ReportsAtMostOncePerIntervalAndCountsWhatItDidNotReport) {
  AcceptBackoff backoff(milliseconds(50), seconds(1), seconds(10));
  auto now = std::chrono::steady_clock::time_point{} + seconds(100);
  AcceptBackoff::Decision first = backoff.failed(now);
  EXPECT_TRUE(first.report);
  EXPECT_EQ(first.unreported, 0u);
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(backoff.failed(now + seconds(1)).report);
  AcceptBackoff::Decision later = backoff.failed(now + seconds(10));
  EXPECT_TRUE(later.report);
  EXPECT_EQ(later.unreported, 7u);
}

TEST(AcceptBackoff, OnlyExhaustionIsCuredByWaiting) {
  EXPECT_TRUE(is_resource_exhaustion(boost::asio::error::no_descriptors));
  EXPECT_TRUE(is_resource_exhaustion(boost::asio::error::no_memory));
  EXPECT_TRUE(is_resource_exhaustion(boost::asio::error::no_buffer_space));
  EXPECT_TRUE(is_resource_exhaustion(boost::system::error_code(ENFILE, boost::system::system_category())));
  EXPECT_FALSE(is_resource_exhaustion(boost::asio::error::connection_aborted));
  EXPECT_FALSE(is_resource_exhaustion(boost::asio::error::operation_aborted));
}

}  // namespace
}  // namespace roster
