// Small, fast deterministic simulations of the SWIM state machine for CI.
// A failure prints the seed; rerun one with
//   build/tests/sim/gossip_sim --scenario=... --seed=S
// or this test with --gtest_filter.

#include "tests/sim/gossip_sim.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace roster::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double seconds_between(TimePoint a, TimePoint b) { return std::chrono::duration<double>(b - a).count(); }

std::string describe(const GossipSim& sim, uint64_t seed) {
  std::string out = "seed=" + std::to_string(seed) + " mismatches=" + std::to_string(sim.mismatches()) +
                    " false_positives=" + std::to_string(sim.false_positives());
  for (const auto& v : sim.violations()) out += "\n  " + v;
  for (const auto& fp : sim.false_positive_list()) {
    out += "\n  false positive: " + sim.name(fp.observer) + " declared " + sim.name(fp.subject) + " failed at t=" +
           std::to_string(seconds_between(sim.start_time(), fp.at)) + "s";
  }
  return out;
}

// Starts node 0 and joins the others to it, `pace` apart; runs until all see all.
std::optional<TimePoint> join_all(GossipSim& sim, Duration pace, Duration limit) {
  sim.start(0, {});
  for (size_t i = 1; i < sim.size(); ++i) {
    if (pace > Duration::zero()) sim.run_for(pace);
    sim.start(i, {0});
  }
  return sim.run_until_true([&] { return sim.converged(); }, limit);
}

GossipSimOptions options(size_t nodes, uint64_t seed, double loss) {
  GossipSimOptions out;
  out.nodes = nodes;
  out.seed = seed;
  out.loss = loss;
  return out;
}

class GossipSimTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GossipSimTest, JoinTagChangeAndFailureDetection) {
  uint64_t seed = GetParam();
  GossipSim sim(options(20, seed, 0.01));
  TimePoint joined_at = sim.now();
  auto converged = join_all(sim, milliseconds(50), seconds(20));
  ASSERT_TRUE(converged) << describe(sim, seed);
  EXPECT_LT(seconds_between(joined_at, *converged), 6.0) << describe(sim, seed);

  sim.set_tags(5, {{"role", "web"}});
  TimePoint tagged = sim.now();
  auto spread = sim.run_until_true([&] { return sim.observers_with_tag(5, "role", "web") == sim.size(); }, seconds(10));
  ASSERT_TRUE(spread) << describe(sim, seed);
  EXPECT_LT(seconds_between(tagged, *spread), 2.0) << describe(sim, seed);

  sim.crash(7);
  TimePoint crashed = sim.now();
  auto detected = sim.run_until_true([&] { return sim.observers_holding_failed(7) == sim.size() - 1; }, seconds(60));
  ASSERT_TRUE(detected) << describe(sim, seed);
  // N = 20: the suspicion timeout is 5.2 s with all confirmations and 31 s with none.
  EXPECT_LT(seconds_between(crashed, *detected), 20.0) << describe(sim, seed);
  EXPECT_TRUE(sim.converged());

  sim.run_for(seconds(30));
  EXPECT_EQ(sim.failures_of_live_nodes(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, NoFalseFailuresAtTenPercentLoss) {
  uint64_t seed = GetParam();
  GossipSimOptions opts = options(30, seed, 0.10);
  opts.max_latency = milliseconds(40);
  GossipSim sim(opts);
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(30))) << describe(sim, seed);
  sim.run_for(seconds(180));
  EXPECT_EQ(sim.failures_of_live_nodes(), 0u) << describe(sim, seed);
  EXPECT_EQ(sim.false_positives(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, PartitionHealsByItself) {
  uint64_t seed = GetParam();
  const size_t n = 20;
  GossipSim sim(options(n, seed, 0.01));
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(20))) << describe(sim, seed);
  std::vector<int> halves(n);
  for (size_t i = 0; i < n; ++i) halves[i] = i < n / 2 ? 0 : 1;
  sim.partition(halves);
  // Each side declares the other failed.
  auto split = sim.run_until_true([&] { return sim.observers_holding_failed(0) == n / 2; }, seconds(90));
  ASSERT_TRUE(split) << describe(sim, seed);
  sim.run_for(seconds(30));
  sim.heal();
  TimePoint healed = sim.now();
  // Serf's reconnect and the sync with unknown pingers merge the sides.
  auto merged = sim.run_until_true([&] { return sim.converged(); }, seconds(120));
  ASSERT_TRUE(merged) << describe(sim, seed);
  EXPECT_LT(seconds_between(healed, *merged), 75.0) << describe(sim, seed);
  sim.run_for(seconds(120));
  EXPECT_EQ(sim.false_positives(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, CrashedNodesRestartAndRejoinFromKnownPeers) {
  uint64_t seed = GetParam();
  GossipSim sim(options(15, seed, 0.02));
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(20))) << describe(sim, seed);
  // A quick restart, before anyone declares it failed.
  sim.crash(3);
  sim.run_for(seconds(2));
  sim.restart(3);
  // A late one, after it was declared failed.
  sim.crash(4);
  ASSERT_TRUE(sim.run_until_true([&] { return sim.observers_holding_failed(4) == 14; }, seconds(60)))
      << describe(sim, seed);
  sim.restart(4);
  TimePoint restarted = sim.now();
  auto rejoined = sim.run_until_true([&] { return sim.converged(); }, seconds(30));
  ASSERT_TRUE(rejoined) << describe(sim, seed);
  EXPECT_LT(seconds_between(restarted, *rejoined), 5.0) << describe(sim, seed);
  EXPECT_GT(sim.swim(4)->local_member().incarnation, 0u);
  sim.run_for(seconds(60));
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);
  EXPECT_EQ(sim.false_positives(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, JoinStormOnSlowNodesConvergesWithoutFalseFailures) {
  uint64_t seed = GetParam();
  GossipSimOptions opts = options(50, seed, 0.02);
  opts.max_latency = milliseconds(50);
  opts.processing_time = milliseconds(3);
  GossipSim sim(opts);
  auto converged = join_all(sim, Duration::zero(), seconds(60));
  ASSERT_TRUE(converged) << describe(sim, seed);
  EXPECT_LT(seconds_between(sim.start_time(), *converged), 15.0) << describe(sim, seed);
  sim.run_for(seconds(60));
  EXPECT_EQ(sim.failures_of_live_nodes(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, TheJoinTailClosesInSeconds) {
  uint64_t seed = GetParam();
  const size_t n = 30;
  GossipSim sim(options(n, seed, 0.01));
  sim.start(0, {});
  for (size_t i = 1; i < n - 5; ++i) sim.start(i, {0});
  ASSERT_TRUE(sim.run_until_true([&] { return sim.converged(); }, seconds(20))) << describe(sim, seed);
  // Five nodes join at once through different members while a quarter of the
  // datagrams are lost, so some alive broadcasts miss some nodes.
  sim.set_loss(0.25);
  for (size_t i = n - 5; i < n; ++i) sim.start(i, {i - 5});
  TimePoint joined = sim.now();
  auto converged = sim.run_until_true([&] { return sim.converged(); }, seconds(60));
  ASSERT_TRUE(converged) << describe(sim, seed);
  // Far below the 30 s push-pull interval.
  EXPECT_LT(seconds_between(joined, *converged), 10.0) << describe(sim, seed);
}

TEST_P(GossipSimTest, LargeTagsAndLeave) {
  uint64_t seed = GetParam();
  GossipSim sim(options(20, seed, 0.02));
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(20))) << describe(sim, seed);
  gossip::TagMap big;
  for (int i = 0; i < 50; ++i) big["k" + std::to_string(i)] = std::string(100, 'v');
  big["role"] = "db";
  sim.set_tags(2, big);
  TimePoint tagged = sim.now();
  auto spread = sim.run_until_true([&] { return sim.observers_with_tag(2, "role", "db") == sim.size(); }, seconds(60));
  ASSERT_TRUE(spread) << describe(sim, seed);
  EXPECT_LT(seconds_between(tagged, *spread), 8.0) << describe(sim, seed);

  sim.leave(9);
  auto left = sim.run_until_true([&] { return sim.converged(); }, seconds(10));
  ASSERT_TRUE(left) << describe(sim, seed);
  EXPECT_EQ(sim.observers_holding_failed(9), sim.size() - 1);
  sim.run_for(seconds(30));
  EXPECT_EQ(sim.failures_of_live_nodes(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

// Lifeguard's claim, in small: members that freeze for a while (6 s of every
// 30 s, longer than a probe but shorter than a suspicion's floor of 6.8 s at
// N=50) are declared failed less often with Lifeguard than with plain SWIM,
// and no healthy member is ever declared failed by a healthy one.
size_t false_positives_with_frozen_members(uint64_t seed, bool lifeguard, size_t* healthy_by_healthy) {
  GossipSimOptions opts = options(50, seed, 0.0);
  opts.configure = [lifeguard](gossip::SwimConfig& config) { config.lifeguard = lifeguard; };
  GossipSim sim(opts);
  if (!join_all(sim, milliseconds(10), seconds(30))) return SIZE_MAX;
  const size_t frozen_from = sim.size() - 5;
  for (size_t i = frozen_from; i < sim.size(); ++i) sim.set_stalls(i, seconds(30), seconds(6));
  const size_t before = sim.false_positive_list().size();
  sim.run_for(seconds(200));
  *healthy_by_healthy = 0;
  for (size_t k = before; k < sim.false_positive_list().size(); ++k) {
    const FalsePositive& fp = sim.false_positive_list()[k];
    if (fp.observer < frozen_from && fp.subject < frozen_from) ++*healthy_by_healthy;
  }
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
  return sim.false_positive_list().size() - before;
}

TEST_P(GossipSimTest, LifeguardCutsFalsePositivesAboutFrozenMembers) {
  const uint64_t seed = GetParam();
  size_t healthy_with = 0;
  size_t healthy_without = 0;
  const size_t with = false_positives_with_frozen_members(seed, true, &healthy_with);
  const size_t without = false_positives_with_frozen_members(seed, false, &healthy_without);
  ASSERT_NE(with, SIZE_MAX) << "seed=" << seed << ": the pool did not converge";
  ASSERT_NE(without, SIZE_MAX) << "seed=" << seed << ": the pool did not converge";
  EXPECT_LT(with, without) << "seed=" << seed;
  EXPECT_GT(without, 0u) << "seed=" << seed << ": the scenario no longer stresses plain SWIM";
  EXPECT_EQ(healthy_with, 0u) << "seed=" << seed;
  EXPECT_EQ(healthy_without, 0u) << "seed=" << seed;
}

TEST_P(GossipSimTest, NewcomersJoinAFormedPool) {
  // The 10,000-node bench starts a formed pool and measures newcomers; the
  // formed pool must be a real one: converged, quiet, and failure-detecting.
  uint64_t seed = GetParam();
  GossipSim sim(options(60, seed, 0.01));
  sim.start_formed(55);
  EXPECT_EQ(sim.up_count(), 55u);
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);  // at once: every one of the 55 holds the others
  for (size_t i = 55; i < 60; ++i) {
    sim.run_for(milliseconds(10));
    sim.start(i, {0});
  }
  TimePoint last_join = sim.now();
  auto converged = sim.run_until_true([&] { return sim.converged(); }, seconds(20));
  ASSERT_TRUE(converged) << describe(sim, seed);
  EXPECT_LT(seconds_between(last_join, *converged), 5.0) << describe(sim, seed);
  sim.crash(7);
  auto detected = sim.run_until_true([&] { return sim.observers_holding_failed(7) == sim.up_count(); }, seconds(60));
  ASSERT_TRUE(detected) << describe(sim, seed);
  sim.run_for(seconds(30));
  EXPECT_EQ(sim.false_positives(), 0u) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GossipSimTest, ::testing::Values(1, 2, 3));

TEST_P(GossipSimTest, AUserEventReachesEveryNodeOnce) {
  uint64_t seed = GetParam();
  const size_t n = 30;
  GossipSim sim(options(n, seed, 0.05));
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(30))) << describe(sim, seed);
  const std::string id = sim.fire_user_event(3, "deploy", "v2");
  ASSERT_FALSE(id.empty()) << describe(sim, seed);
  TimePoint fired = sim.now();
  auto everywhere = sim.run_until_true([&] { return sim.nodes_with_user_event(id) == n; }, seconds(30));
  ASSERT_TRUE(everywhere) << describe(sim, seed) << " reached " << sim.nodes_with_user_event(id);
  EXPECT_LT(seconds_between(fired, *everywhere), 3.0) << describe(sim, seed);

  // A partitioned side misses the next event and catches up by push-pull
  // once healed (Serf's events in push-pull).
  std::vector<int> halves(n);
  for (size_t i = 0; i < n; ++i) halves[i] = i < n / 2 ? 0 : 1;
  sim.partition(halves);
  const std::string missed = sim.fire_user_event(0, "restart", "web");
  // The firing side gets it all (a node that missed every gossip copy,
  // half of which went to the unreachable side, gets it by push-pull);
  // nothing crosses the partition.
  ASSERT_TRUE(sim.run_until_true([&] { return sim.nodes_with_user_event(missed) >= n / 2; }, seconds(120)))
      << describe(sim, seed) << " reached " << sim.nodes_with_user_event(missed);
  sim.run_for(seconds(5));
  EXPECT_EQ(sim.nodes_with_user_event(missed), n / 2) << describe(sim, seed);
  sim.heal();
  ASSERT_TRUE(sim.run_until_true([&] { return sim.nodes_with_user_event(missed) == n; }, seconds(180)))
      << describe(sim, seed) << " reached " << sim.nodes_with_user_event(missed);
  sim.run_for(seconds(30));
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST_P(GossipSimTest, AForceLeftLiveNodeRefutesAndStays) {
  uint64_t seed = GetParam();
  const size_t n = 12;
  GossipSim sim(options(n, seed, 0.02));
  ASSERT_TRUE(join_all(sim, milliseconds(20), seconds(20))) << describe(sim, seed);
  sim.force_leave(0, 5);
  sim.run_for(seconds(10));
  for (size_t i = 0; i < n; ++i) {
    auto view = sim.swim(i)->member(sim.name(5));
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->state, gossip::MemberState::alive) << sim.name(i) << " " << describe(sim, seed);
  }
  EXPECT_TRUE(sim.converged()) << describe(sim, seed);
  EXPECT_TRUE(sim.violations().empty()) << describe(sim, seed);
}

TEST(GossipSimDeterminism, TheSameSeedGivesTheSameRun) {
  auto run = [](uint64_t seed) {
    GossipSim sim(options(12, seed, 0.05));
    join_all(sim, milliseconds(10), seconds(10));
    sim.crash(3);
    sim.run_for(seconds(30));
    return std::vector<uint64_t>{sim.events_processed(), sim.datagrams_sent(), sim.datagram_bytes(),
                                 sim.push_pulls(), sim.false_suspicions()};
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

}  // namespace
}  // namespace roster::sim
