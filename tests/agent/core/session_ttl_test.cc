// Session TTLs against their renewals, with the race driven by hand: a renewal
// that runs after the old expiry was queued must still keep the session.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>

#include "agent/core/agent_core.h"
#include "agent/leader/session_timers.h"
#include "common/clock.h"
#include "common/one_shot_timer.h"

namespace roster::agent {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

class SessionTtl : public ::testing::Test {
 protected:
  SessionTtl() : core(io, clock, options()), timers(io, core.catalog()) {}

  static CoreOptions options() {
    CoreOptions options;
    options.identity = {"5d7c0a8e-24a1-4a34-9c3e-0f1e2d3c4b5a", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    options.session_ttl_min = 1ms;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core.start().is_ok());
    timers.start();
  }
  void TearDown() override {
    timers.stop();
    core.stop();
  }

  std::string create(std::chrono::nanoseconds ttl) {
    catalog::Session session;
    session.ttl_ns = ttl.count();
    std::optional<Result<std::string>> id;
    core.create_session(session, [&id](Result<std::string> created) { id = std::move(created); });
    EXPECT_TRUE(id.has_value() && id->is_ok());
    return id && id->is_ok() ? **id : std::string();
  }

  bool exists(const std::string& id) { return core.store().session(id).value.has_value(); }

  boost::asio::io_context io;
  SystemClock clock;
  AgentCore core;
  SessionTimers timers;
};

// The session's expiry (twice its TTL) and a renewal fall in the same loop
// turn, the renewal first: the expiry is already queued when the renewal
// re-arms the timer. The client got a 200 for the renewal, so the session
// and its locks must stay.
TEST_F(SessionTtl, ARenewalBeatsAnExpiryAlreadyQueued) {
  const auto ttl = 50ms;
  OneShotTimer renewal(io);
  const auto before = steady_clock::now();
  std::string id = create(ttl);
  ASSERT_FALSE(id.empty());
  bool renewed = false;
  // Due before the session's expiry, so it runs first once both are queued.
  renewal.arm_at(before, [&] { renewed = timers.renew(id).is_ok(); });
  // Let both deadlines pass before the loop looks at its timers, so it
  // queues the two completions together.
  while (steady_clock::now() < before + 2 * ttl + 5ms) {
  }
  io.poll();
  ASSERT_TRUE(renewed);
  EXPECT_TRUE(exists(id)) << "the expiry that the renewal replaced destroyed the session";
}

TEST_F(SessionTtl, ASessionThatIsNotRenewedExpiresAfterTwiceItsTtl) {
  const auto started = steady_clock::now();
  std::string id = create(20ms);
  ASSERT_TRUE(exists(id));
  while (exists(id) && steady_clock::now() < started + 10s) io.run_one_for(100ms);
  EXPECT_FALSE(exists(id));
  EXPECT_GE(steady_clock::now() - started, 40ms);
}

// A new leader runs every TTL from its full length: a session renewed just
// before the old leader went away must not expire early under the new one.
TEST_F(SessionTtl, ANewLeaderRestartsEveryTimerFromItsFullTtl) {
  const auto ttl = 40ms;
  std::string id = create(ttl);
  ASSERT_EQ(timers.armed(), 1u);
  // Most of the grace period passes under the old leader, then leadership moves.
  const auto handover = steady_clock::now() + 3 * ttl / 2;
  while (steady_clock::now() < handover) io.run_one_for(5ms);
  ASSERT_TRUE(exists(id));
  timers.stop();
  EXPECT_EQ(timers.armed(), 0u);
  const auto took_over = steady_clock::now();
  timers.start();
  EXPECT_EQ(timers.armed(), 1u);
  while (exists(id) && steady_clock::now() < took_over + 10s) io.run_one_for(5ms);
  EXPECT_FALSE(exists(id));
  EXPECT_GE(steady_clock::now() - took_over, 2 * ttl) << "the new leader expired the session before its full TTL";
}

TEST_F(SessionTtl, AFollowerRunsNoTimers) {
  timers.stop();
  std::string id = create(20ms);
  EXPECT_EQ(timers.armed(), 0u);
  EXPECT_TRUE(timers.renew(id).is_ok());  // the session exists; only the leader's timer would move
  EXPECT_EQ(timers.armed(), 0u);
}

}  // namespace
}  // namespace roster::agent
