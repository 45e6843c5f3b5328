#pragma once

// The Raft simulator: real RaftCore instances on a seeded fake network, disk
// and clock. A schedule (one seed) mixes message loss, duplication, delay and
// reordering; symmetric, one-way and bridge partitions; crashes in which
// writes not yet fsynced are lost or kept in part (the simulated disk models
// the page cache: a crash keeps a prefix of what was written since the last
// fsync); restarts from what was durable; membership changes, leadership
// transfers and snapshot installs. Clients run put, get (ReadIndex) and cas
// against whichever server claims to lead.
//
// After every step it checks election safety (one leader per term), log
// matching, leader completeness (every entry any server applied is in every
// new leader's log), state-machine safety (no two servers apply different
// entries at one index), monotonic commit and applied indexes within a
// server's life, and that no acknowledged write is lost. At the end the
// client history goes through the linearizability checker.
//
// Everything is a function of SimOptions: the same options give the same
// run, and a failing run prints the one command that repeats it.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/raft/raft.h"

namespace roster::sim {

struct RaftSimOptions {
  uint64_t seed = 1;
  int servers = 3;                 // 3 or 5 voters at the start
  int spare_servers = 1;           // started empty; membership changes add them
  int clients = 4;
  int keys = 4;
  uint64_t duration_ms = 8000;     // with faults, then a quiet period to heal
  uint64_t quiet_ms = 3000;
  bool faults = true;
  // Every schedule hostile (failpoints on), instead of half of them.
  bool always_hostile = false;
  raft::PlantedBugs bugs;
  // Check log matching across all servers every this many steps (and at
  // every election and at the end).
  uint64_t log_matching_every = 64;
};

struct RaftSimResult {
  std::vector<std::string> violations;  // empty: the run held every invariant
  uint64_t steps = 0;
  uint64_t operations = 0;          // client operations in the history
  uint64_t acknowledged_writes = 0;
  uint64_t unknown_outcomes = 0;
  uint64_t leaders_elected = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t membership_changes = 0;
  uint64_t transfers = 0;
  uint64_t snapshots_installed = 0;
  uint64_t committed_entries = 0;
  std::string linearizability;      // the checker's verdict
};

RaftSimResult run_raft_schedule(const RaftSimOptions& options);

// "raft_sim --seed 7 --servers 5 --bug vote_before_durable"
std::string reproduce_command(const RaftSimOptions& options);

// Planted bugs by name, for the command line and tests: "commit_earlier_term",
// "vote_before_durable", "read_without_heartbeat", "apply_before_commit".
bool plant_bug(const std::string& name, raft::PlantedBugs& bugs);
std::vector<std::string> planted_bug_names();

}  // namespace roster::sim
