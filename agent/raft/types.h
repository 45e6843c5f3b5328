#pragma once

// The plain data that the Raft core, its storage and its transport share:
// log entries, the durable hard state, cluster configurations, snapshots and
// the messages servers exchange. Nothing here does I/O; the transport turns
// Message into frames (proto/raft.proto) and storage turns Entry and
// HardState into WAL records.
//
// Names follow the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", and Ongaro's thesis).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roster::raft {

using ServerId = uint64_t;  // 0 means "none" (no vote, no known leader)
using Term = uint64_t;
using Index = uint64_t;

inline constexpr ServerId kNoServer = 0;

enum class EntryType : uint8_t {
  command = 0,        // a state-machine command, opaque to Raft
  no_op = 1,          // appended by every new leader (Raft §8)
  configuration = 2,  // `data` is an encoded Configuration (membership.h)
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::command;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// The state a server must have on stable storage before it answers an RPC that
// depends on it (Raft Figure 2): currentTerm and votedFor. `commit` is kept
// too, so a restart can apply what it knows is committed without waiting for
// a leader; losing it is harmless.
struct HardState {
  Term current_term = 0;
  ServerId voted_for = kNoServer;
  Index commit_index = 0;

  bool operator==(const HardState&) const = default;
};

struct Server {
  ServerId id = kNoServer;
  std::string address;  // "127.0.0.2:8300"; opaque to the core
  bool voter = true;    // false: a non-voter that receives the log but does not count

  bool operator==(const Server&) const = default;
};

// The servers of the cluster. Changed one server at a time (thesis §4.1), so
// any two consecutive configurations share a majority.
struct Configuration {
  std::vector<Server> servers;

  bool operator==(const Configuration&) const = default;
};

// What a snapshot covers: the state machine after applying every entry up to
// and including last_index, and the configuration in force at that point.
struct SnapshotMeta {
  Index last_index = 0;
  Term last_term = 0;
  Configuration configuration;

  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  // The state machine's own encoding; shared because the leader holds on to
  // it while it streams chunks to followers.
  std::shared_ptr<const std::string> data;
};

enum class MessageType : uint8_t {
  pre_vote = 0,             // thesis §9.6: "would you vote for me?"; changes no state
  pre_vote_response = 1,
  request_vote = 2,
  request_vote_response = 3,
  append_entries = 4,       // also the heartbeat (entries empty)
  append_entries_response = 5,
  install_snapshot = 6,     // one chunk
  install_snapshot_response = 7,
  timeout_now = 8,          // leadership transfer (thesis §3.10)
};

// One message between servers. Which fields mean something depends on type;
// unused ones stay zero. Field names follow the paper's RPC arguments.
struct Message {
  MessageType type = MessageType::append_entries;
  ServerId from = kNoServer;
  ServerId to = kNoServer;
  Term term = 0;

  // request_vote / pre_vote: the candidate's last log entry.
  // append_entries: the entry just before `entries` (prevLogIndex/Term).
  Index log_index = 0;
  Term log_term = 0;
  std::vector<Entry> entries;
  Index leader_commit = 0;
  // request_vote: set when the election was started by timeout_now, so voters
  // skip the "I heard from a leader recently" check (thesis §4.2.3).
  bool leadership_transfer = false;

  // Responses: whether the request was granted (votes) or matched (appends).
  bool success = false;
  // append_entries_response: on success, the last index the follower now
  // holds durably from this request; on a conflict, the hint for fast
  // backtracking: the follower's last index, or the first index of the
  // conflicting term (`conflict_term`).
  Index match_index = 0;
  Index conflict_index = 0;
  Term conflict_term = 0;

  // Heartbeats carry the ReadIndex round they confirm (0: none); the
  // response echoes it.
  uint64_t read_round = 0;

  // install_snapshot: one chunk of the leader's latest snapshot.
  SnapshotMeta snapshot_meta;
  uint64_t snapshot_offset = 0;
  std::string snapshot_chunk;
  bool snapshot_done = false;

  bool operator==(const Message&) const = default;
};

const char* message_type_name(MessageType type);

}  // namespace roster::raft
