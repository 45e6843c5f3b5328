#pragma once

// What a leader knows about one follower's log (Raft Figure 2's nextIndex and
// matchIndex), and how it sends to it (etcd's Progress):
// - probe: one append in flight at a time, until a response shows where the
//   logs match (after an election or a rejection);
// - replicate: appends are pipelined, next_index moving ahead optimistically,
//   with at most max_inflight appends and max_inflight_bytes in flight;
// - snapshot: the follower is behind the leader's log; chunks of the
//   snapshot are streamed one at a time.
//
// Strand affinity: owned by one RaftCore.

#include <cstdint>
#include <deque>

#include "agent/raft/types.h"

namespace roster::raft {

enum class ProgressState : uint8_t { probe, replicate, snapshot };

const char* progress_state_name(ProgressState state);

class Progress {
 public:
  Progress() = default;
  Progress(Index next_index, size_t max_inflight, uint64_t max_inflight_bytes)
      : next_index_(next_index), max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {}

  Index match_index() const { return match_index_; }
  Index next_index() const { return next_index_; }
  ProgressState state() const { return state_; }

  // Whether another append may go now.
  bool can_send() const;
  // An append of entries up to `last_index`, `bytes` long, went out.
  void sent(Index last_index, uint64_t bytes);
  // The follower holds [1, index] durably and matching. Returns whether this
  // was news.
  bool acknowledge(Index index);
  // The follower rejected an append; `next` is where to retry from.
  void reject(Index next);
  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  Index pending_snapshot() const { return pending_snapshot_; }
  // Streaming state of the snapshot being sent.
  uint64_t snapshot_offset = 0;
  bool snapshot_chunk_in_flight = false;

  // Probe state: an append is out; cleared by any response or a heartbeat
  // round so a lost message only costs one heartbeat interval.
  bool probe_sent = false;
  // Heard from since the last CheckQuorum round.
  bool recently_active = false;

 private:
  Index match_index_ = 0;
  Index next_index_ = 1;
  ProgressState state_ = ProgressState::probe;
  Index pending_snapshot_ = 0;
  struct Inflight {
    Index last_index;
    uint64_t bytes;
  };
  std::deque<Inflight> inflight_;
  uint64_t inflight_bytes_ = 0;
  size_t max_inflight_ = 64;
  uint64_t max_inflight_bytes_ = 8 << 20;
};

}  // namespace roster::raft
