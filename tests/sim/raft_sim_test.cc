// The Raft simulator in CI: 300 fault schedules that must hold every
// invariant, and the planted bugs that the checkers must catch.

#include <gtest/gtest.h>

#include <string>

#include "tests/sim/linearizability.h"
#include "tests/sim/raft_sim.h"

namespace roster::sim {
namespace {

void run_schedules(uint64_t first_seed, uint64_t count, int servers) {
  for (uint64_t seed = first_seed; seed < first_seed + count; ++seed) {
    RaftSimOptions options;
    options.seed = seed;
    options.servers = servers;
    options.duration_ms = 5000;  // shorter than the bench's 8 s, to fit CI
    RaftSimResult result = run_raft_schedule(options);
    ASSERT_TRUE(result.violations.empty())
        << result.violations.front() << "\n  reproduce: " << reproduce_command(options);
    // Not timed out or invalid: every history was fully checked.
    EXPECT_EQ(result.linearizability, to_string(LinearizabilityVerdict::linearizable)) << reproduce_command(options);
    EXPECT_GT(result.acknowledged_writes, 0u) << reproduce_command(options);
  }
}

// 300 schedules in CI (bench/raft_sim.sh runs thousands).
TEST(RaftSimSchedules, OneHundredAndFiftyThreeServerSchedulesHoldEveryInvariant) { run_schedules(1, 150, 3); }
TEST(RaftSimSchedules, OneHundredAndFiftyFiveServerSchedulesHoldEveryInvariant) { run_schedules(1001, 150, 5); }

TEST(RaftSimSchedules, ASeedIsAOneLineReproduction) {
  RaftSimOptions options;
  options.seed = 42;
  options.servers = 5;
  RaftSimResult first = run_raft_schedule(options);
  RaftSimResult second = run_raft_schedule(options);
  EXPECT_EQ(first.steps, second.steps);
  EXPECT_EQ(first.operations, second.operations);
  EXPECT_EQ(first.committed_entries, second.committed_entries);
  EXPECT_EQ(reproduce_command(options), "raft_sim --seed 42 --servers 5");
}

TEST(RaftSimSchedules, FaultsAreReallyInjected) {
  uint64_t crashes = 0, partitions = 0, membership = 0, transfers = 0, snapshots = 0, elections = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    RaftSimOptions options;
    options.seed = seed;
    options.servers = 3;
    RaftSimResult result = run_raft_schedule(options);
    crashes += result.crashes;
    partitions += result.partitions;
    membership += result.membership_changes;
    transfers += result.transfers;
    snapshots += result.snapshots_installed;
    elections += result.leaders_elected;
  }
  EXPECT_GT(crashes, 10u);
  EXPECT_GT(partitions, 10u);
  EXPECT_GT(membership, 5u);
  EXPECT_GT(transfers, 2u);
  EXPECT_GT(snapshots, 5u);
  EXPECT_GT(elections, 20u);
}

// The checkers prove themselves: each known bug, planted through a test-only
// switch, is caught within a bounded number of seeds.
class PlantedBugs : public ::testing::TestWithParam<std::string> {};

TEST_P(PlantedBugs, AreFoundWithinThreeHundredSeeds) {
  constexpr uint64_t kBound = 300;
  for (uint64_t seed = 1; seed <= kBound; ++seed) {
    RaftSimOptions options;
    options.seed = seed;
    options.servers = 3;
    options.always_hostile = true;
    ASSERT_TRUE(plant_bug(GetParam(), options.bugs));
    RaftSimResult result = run_raft_schedule(options);
    if (!result.violations.empty()) {
      std::printf("%s found at seed %llu: %s\n", GetParam().c_str(), static_cast<unsigned long long>(seed),
                  result.violations.front().substr(0, 160).c_str());
      return;
    }
  }
  FAIL() << "planted bug " << GetParam() << " survived " << kBound << " schedules";
}

INSTANTIATE_TEST_SUITE_P(Raft, PlantedBugs, ::testing::ValuesIn(planted_bug_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace roster::sim
