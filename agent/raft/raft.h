#pragma once

// Raft as a pure state machine (etcd's raft package and LogCabin's
// RaftConsensus are the models): no socket, file, clock, thread or random
// source of its own. The same object runs under Asio in the agent and under
// tests/sim's seeded network, disk and clock.
//
// Inputs: tick() (the caller's timer, every tick interval), step(message),
// propose(), change_membership(), read_index(), transfer_leadership(),
// persisted(seq) (a storage write finished), snapshot_taken().
// Output: ready() hands out, and forgets, everything the caller must do:
//
//   Ready r = core.ready();
//   send(r.messages);                        // at once, even before persisting
//   if (r.persist) storage.write(*r.persist, then: core.persisted(r.persist->seq));
//   if (r.snapshot) state_machine.restore(*r.snapshot);  // before applying
//   apply(r.committed);  serve(r.read_states);  fail(r.failed_reads);
//
// The contract that keeps the caller simple and Raft safe:
// - Persist batches are written in seq order, and persisted(seq) is called
//   once a batch is durable (fsynced). Batches may be coalesced by the
//   writer (group commit): persisted(n) covers every batch <= n.
// - Messages that depend on durable state (vote grants, append
//   acknowledgements, snapshot acknowledgements, and a candidate's vote
//   requests, which count its own vote) are held inside the core until the
//   state they depend on is durable; ready() releases them. A leader's
//   appends go out before its own copy is durable (thesis §10.2.1): a
//   leader counts its own copy toward a commit only once it is stable.
// - committed entries are handed out once, in order, and count as applied
//   when handed out; read_states are released only after the entries they
//   wait for were handed out (in this Ready or an earlier one).
//
// Timing: tick() every tick interval; election timeouts are randomized in
// [election_ticks, 2 * election_ticks) by a generator seeded from
// RaftConfig::seed, so a run is a function of its inputs.
//
// Strand affinity: not thread-safe; one owner (one strand) calls everything.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/raft/election.h"
#include "agent/raft/membership.h"
#include "agent/raft/progress.h"
#include "agent/raft/raft_log.h"
#include "agent/raft/read_index.h"
#include "agent/raft/types.h"
#include "common/status.h"

namespace roster::raft {

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

const char* role_name(Role role);

// Known bugs that tests/sim plants to show that its checkers catch them.
// Never set outside tests.
struct PlantedBugs {
  bool commit_earlier_term_by_counting = false;  // break §5.4.2
  bool vote_before_durable = false;              // grant votes before they are fsynced
  bool read_without_heartbeat = false;           // ReadIndex without confirming leadership
  bool apply_before_commit = false;              // hand out entries that are not committed
};

struct RaftConfig {
  ServerId id = kNoServer;
  uint32_t election_ticks = 10;  // followers wait this long (randomized up to 2x) for a leader
  uint32_t heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Replication batching and pipelining, per follower.
  size_t max_entries_per_append = 512;
  uint64_t max_bytes_per_append = 1 << 20;
  size_t max_inflight_appends = 64;
  uint64_t max_inflight_bytes = 16 << 20;
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // ready().should_snapshot turns true once this many entries were applied
  // since the last snapshot (0: never).
  uint64_t snapshot_threshold = 0;
  // A non-voter is promoted only when its match index is within this many
  // entries of the leader's last index.
  uint64_t catch_up_entries = 1024;
  uint64_t seed = 0;
  PlantedBugs bugs;
};

// What the server starts from: its storage's contents.
struct RaftBoot {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // after the snapshot (or a trailing window overlapping it)
};

// The entry every server of a new cluster writes before starting, so they all
// start from the same configuration (hashicorp/raft's BootstrapCluster).
Entry bootstrap_entry(const Configuration& configuration);

// One durable write the caller must make, in seq order.
struct PersistBatch {
  uint64_t seq = 0;
  std::optional<Snapshot> snapshot;   // write first; the log restarts after it
  // The snapshot replaced the whole log (it did not continue it): storage
  // must forget every entry it holds, durably, before this batch counts.
  bool snapshot_replaces_log = false;
  std::vector<Entry> entries;         // the first may replace the log's suffix from its index
  std::optional<HardState> hard_state;
};

struct Ready {
  std::vector<Message> messages;
  std::optional<PersistBatch> persist;
  std::optional<Snapshot> snapshot;   // restore the state machine from it before applying `committed`
  std::vector<Entry> committed;
  std::vector<ReadState> read_states;
  std::vector<uint64_t> failed_reads;  // lost leadership before the read was confirmed
  bool should_snapshot = false;        // take one at the last applied index, then snapshot_taken()
  // Changed since the last ready(): for logs and status.
  std::optional<Role> role_changed;
  std::optional<ServerId> leader_changed;

  bool empty() const {
    return messages.empty() && !persist && !snapshot && committed.empty() && read_states.empty() &&
           failed_reads.empty() && !should_snapshot && !role_changed && !leader_changed;
  }
};

struct RaftStats {
  uint64_t elections_started = 0;
  uint64_t pre_votes_started = 0;
  uint64_t leader_elected = 0;
  uint64_t appends_sent = 0;
  uint64_t entries_sent = 0;
  uint64_t snapshots_sent = 0;
  uint64_t snapshots_installed = 0;
  uint64_t step_downs_check_quorum = 0;
  uint64_t transfers = 0;
  uint64_t reads_confirmed = 0;
};

class RaftCore {
 public:
  RaftCore(RaftConfig config, RaftBoot boot);

  // --- inputs ---
  void tick();
  // A message from a peer; stale, foreign or malformed ones are dropped.
  void step(const Message& message);
  // Appends a command as leader; returns its index (the entry commits at that
  // index with the current term, or is lost if leadership changes first).
  // unavailable when not the leader or during a leadership transfer.
  Result<Index> propose(std::string command);
  // One membership change at a time, after the leader committed an entry of
  // its term. promote requires the non-voter to have caught up.
  Result<Index> change_membership(const MembershipChange& change);
  // A linearizable read: released in ready().read_states (or failed_reads).
  // unavailable when not the leader.
  Status read_index(uint64_t request_id);
  // Hands leadership to `target` (a voter); proposals are refused until it
  // completes or an election timeout passes.
  Status transfer_leadership(ServerId target);
  // A leader asked to step down or leaving: hands leadership to the voter
  // whose log is most caught up (thesis §3.10). unavailable when not the
  // leader or when no other voter exists.
  Status step_down();
  // Every persist batch up to and including `seq` is durable.
  void persisted(uint64_t seq);
  // The caller snapshotted the state machine at `meta.last_index`
  // (REQUIRES: <= applied). The log before it is dropped, keeping
  // `trailing_entries` so slow followers catch up from the log.
  void snapshot_taken(Snapshot snapshot, uint64_t trailing_entries);

  // --- output ---
  bool has_ready() const;
  Ready ready();

  // --- state, for status pages, tests and the simulator's checkers ---
  ServerId id() const { return config_.id; }
  Role role() const { return role_; }
  Term current_term() const { return hard_state_.current_term; }
  ServerId voted_for() const { return hard_state_.voted_for; }
  ServerId leader() const { return leader_; }
  const RaftLog& log() const { return log_; }
  Index commit_index() const { return log_.commit_index(); }
  Index applied_index() const { return log_.applied(); }
  const Configuration& configuration() const { return configurations_.latest(); }
  Index configuration_index() const { return configurations_.latest_index(); }
  const RaftStats& stats() const { return stats_; }
  // Leader only: the follower's progress, or nullptr.
  const Progress* progress(ServerId id) const;
  // What a snapshot of the state machine at `index` (<= applied) covers.
  SnapshotMeta snapshot_meta_at(Index index) const;
  ServerId transfer_target() const { return transfer_target_; }
  // Ticks since a follower last heard from its leader (or, for a candidate,
  // since its election began). What Consul reports as LastContact.
  uint32_t election_elapsed() const { return election_elapsed_; }

 private:
  void become_follower(Term term, ServerId leader);
  void become_pre_candidate();
  void become_candidate(bool leadership_transfer);
  void become_leader();
  void reset_election_timer();
  bool promotable() const;
  bool in_lease() const;

  void tick_election();
  void tick_heartbeat();

  // An append or a snapshot chunk of the current term: its sender leads.
  void heard_from_leader(ServerId leader);
  void handle_vote_request(const Message& m);
  void handle_vote_response(const Message& m);
  void handle_append_entries(const Message& m);
  void handle_append_response(const Message& m);
  void handle_install_snapshot(const Message& m);
  void handle_snapshot_response(const Message& m);
  void handle_timeout_now(const Message& m);

  void append_as_leader(EntryType type, std::string data);
  void send_append(ServerId to, Progress& progress);
  void send_snapshot_chunk(ServerId to, Progress& progress);
  void send_heartbeats(uint64_t read_round);
  void broadcast_appends();
  bool maybe_commit();
  void note_configuration_entries(Index from);
  void sync_progress_with_configuration();
  void release_confirmed_reads();
  bool quorum_of(const std::set<ServerId>& servers) const;

  void send(Message m);                // goes out at once
  void send_after_persist(Message m);  // held until what it depends on is durable
  bool persistence_pending() const;
  bool has_appends_to_send() const;

  RaftConfig config_;
  HardState hard_state_;
  HardState issued_hard_state_;  // the last one handed out in a batch
  RaftLog log_;
  ConfigurationHistory configurations_;
  Role role_ = Role::follower;
  ServerId leader_ = kNoServer;

  std::mt19937_64 random_;
  uint32_t election_elapsed_ = 0;
  uint32_t randomized_election_ticks_ = 0;
  uint32_t heartbeat_elapsed_ = 0;

  VoteTally votes_;
  std::map<ServerId, Progress> progress_;  // leader only
  ServerId transfer_target_ = kNoServer;
  uint32_t transfer_elapsed_ = 0;

  ReadIndexTracker reads_;
  uint64_t read_round_ = 0;
  bool read_round_open_ = false;  // reads joined read_round_; its heartbeats are not out yet
  std::vector<uint64_t> reads_waiting_for_commit_;  // until an entry of this term commits
  std::vector<ReadState> confirmed_reads_;  // waiting for applied >= index
  std::vector<uint64_t> failed_reads_;

  // Snapshots: the latest one this server has (to stream to followers),
  // one being received, and one received that the caller must restore.
  std::optional<Snapshot> snapshot_;
  SnapshotMeta receiving_meta_;
  std::string receiving_;
  std::optional<Snapshot> to_restore_;
  Index last_snapshot_index_ = 0;

  // Persistence bookkeeping.
  Index unpersisted_from_ = 0;  // first log index not yet handed out in a batch (0: none)
  std::optional<Snapshot> snapshot_to_persist_;
  bool snapshot_replaces_log_ = false;
  uint64_t issued_seq_ = 0;
  uint64_t persisted_seq_ = 0;
  struct IssuedBatch {
    uint64_t seq;
    Index first_written;  // 0: no entries
    Index last_written;
    bool snapshot_reset;  // a snapshot that replaced the whole log
    Index snapshot_index;
  };
  std::vector<IssuedBatch> issued_;
  struct HeldMessage {
    uint64_t needs_seq;
    Message message;
  };
  std::vector<HeldMessage> held_;
  std::vector<Message> outbox_;

  std::optional<Role> role_changed_;
  std::optional<ServerId> leader_changed_;
  RaftStats stats_;
};

}  // namespace roster::raft
