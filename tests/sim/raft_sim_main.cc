// raft_sim: runs Raft schedules through the simulator (bench/raft_sim.sh).
//
//   raft_sim --count 10000                 seeds 1..10000, 3 and 5 servers alternating
//   raft_sim --seed 7 --servers 5          one schedule, verbose
//   raft_sim --count 200 --bug vote_before_durable   a planted bug: expect violations
//
// Ends with "schedules: N, violations: V" and exits 1 when V > 0.

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "tests/sim/linearizability.h"
#include "tests/sim/raft_sim.h"

int main(int argc, char** argv) {
  CLI::App app{"Runs seeded Raft schedules under faults and checks safety and linearizability."};
  uint64_t first_seed = 1;
  uint64_t count = 1;
  int servers = 0;
  uint64_t duration_ms = 8000;
  std::vector<std::string> bugs;
  bool seed_given = false;
  app.add_option("--seed", first_seed, "First seed (with --count 1: the one schedule to run)")
      ->each([&](const std::string&) { seed_given = true; });
  app.add_option("--count", count, "Number of schedules, seeds first..first+count-1");
  app.add_option("--servers", servers, "3 or 5 voters (default: alternate 3 and 5 by seed)");
  bool hostile = false;
  app.add_flag("--hostile", hostile, "Every schedule hostile (failpoints on), not half of them");
  app.add_option("--duration-ms", duration_ms, "Simulated time with faults, per schedule");
  app.add_option("--bug", bugs, "Plant a known bug: " + [] {
    std::string names;
    for (const std::string& name : roster::sim::planted_bug_names()) names += (names.empty() ? "" : ", ") + name;
    return names;
  }());
  CLI11_PARSE(app, argc, argv);

  roster::sim::RaftSimOptions base;
  base.duration_ms = duration_ms;
  base.always_hostile = hostile;
  for (const std::string& bug : bugs) {
    if (!roster::sim::plant_bug(bug, base.bugs)) {
      std::fprintf(stderr, "raft_sim: unknown bug '%s'\n", bug.c_str());
      return 2;
    }
  }
  const auto started = std::chrono::steady_clock::now();
  uint64_t violations = 0;
  uint64_t operations = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t membership = 0;
  uint64_t transfers = 0;
  uint64_t snapshots = 0;
  uint64_t elections = 0;
  uint64_t unchecked = 0;  // histories not fully checked (the checker timed out); violations are counted apart
  for (uint64_t i = 0; i < count; ++i) {
    roster::sim::RaftSimOptions options = base;
    options.seed = first_seed + i;
    options.servers = servers != 0 ? servers : (options.seed % 2 == 0 ? 5 : 3);
    roster::sim::RaftSimResult result = roster::sim::run_raft_schedule(options);
    operations += result.operations;
    crashes += result.crashes;
    partitions += result.partitions;
    membership += result.membership_changes;
    transfers += result.transfers;
    snapshots += result.snapshots_installed;
    elections += result.leaders_elected;
    if (result.linearizability == roster::sim::to_string(roster::sim::LinearizabilityVerdict::timed_out)) ++unchecked;
    if (!result.violations.empty()) {
      ++violations;
      std::printf("seed %llu: %s\n  reproduce: %s\n", static_cast<unsigned long long>(options.seed),
                  result.violations.front().c_str(), roster::sim::reproduce_command(options).c_str());
    } else if (count == 1 || seed_given) {
      std::printf("seed %llu: ok; %llu ops, %llu writes acknowledged, %llu unknown, %llu leaders, %llu crashes, "
                  "%llu partitions, %llu membership changes, %llu transfers, %llu snapshots installed, "
                  "%llu entries committed; history %s\n",
                  static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(result.operations),
                  static_cast<unsigned long long>(result.acknowledged_writes),
                  static_cast<unsigned long long>(result.unknown_outcomes),
                  static_cast<unsigned long long>(result.leaders_elected),
                  static_cast<unsigned long long>(result.crashes), static_cast<unsigned long long>(result.partitions),
                  static_cast<unsigned long long>(result.membership_changes),
                  static_cast<unsigned long long>(result.transfers),
                  static_cast<unsigned long long>(result.snapshots_installed),
                  static_cast<unsigned long long>(result.committed_entries), result.linearizability.c_str());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("totals: %llu client ops, %llu leaders elected, %llu crashes, %llu partitions, %llu membership changes, "
              "%llu transfers, %llu snapshots installed, %llu histories timed_out, %.1f s\n",
              static_cast<unsigned long long>(operations), static_cast<unsigned long long>(elections),
              static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(partitions),
              static_cast<unsigned long long>(membership), static_cast<unsigned long long>(transfers),
              static_cast<unsigned long long>(snapshots), static_cast<unsigned long long>(unchecked), seconds);
  std::printf("schedules: %llu, violations: %llu\n", static_cast<unsigned long long>(count),
              static_cast<unsigned long long>(violations));
  return violations > 0 ? 1 : 0;
}
