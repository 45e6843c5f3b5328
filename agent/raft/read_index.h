#pragma once

// Linearizable reads without log entries (thesis §6.4, ReadIndex):
// 1. the leader notes its commit index as the read's index (it has
//    committed an entry of its own term, so that index covers every write
//    acknowledged before the read arrived);
// 2. it confirms it is still the leader: a heartbeat round tagged with a
//    round number is acknowledged by a majority;
// 3. the read is released once the state machine has applied up to its
//    index.
// Reads that arrive together share one round.
//
// Strand affinity: owned by one RaftCore.

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <vector>

#include "agent/raft/types.h"

namespace roster::raft {

// A read the caller may serve once the state machine has applied `index`.
struct ReadState {
  uint64_t request_id = 0;
  Index index = 0;
};

class ReadIndexTracker {
 public:
  // Queues a read at `index` for the round `round` (the next heartbeat round).
  void add(uint64_t request_id, Index index, uint64_t round);
  // `from` acknowledged heartbeat round `round` (and so every earlier one).
  void acknowledge(ServerId from, uint64_t round);
  // Moves reads whose round a quorum (counted by `has_quorum`) confirmed
  // into `confirmed`.
  template <typename HasQuorum>
  void confirm(HasQuorum&& has_quorum, std::vector<ReadState>& confirmed);
  // Every pending read, for failing them when leadership is lost.
  std::vector<uint64_t> take_all();
  bool empty() const { return pending_.empty(); }
  // Servers whose acknowledged round is at least `round`.
  std::set<ServerId> acknowledged_at_least(uint64_t round) const;
  size_t size() const { return pending_.size(); }

 private:
  struct Pending {
    ReadState read;
    uint64_t round;
  };
  std::deque<Pending> pending_;
  // The highest round each server has acknowledged.
  std::map<ServerId, uint64_t> acknowledged_;
};

template <typename HasQuorum>
void ReadIndexTracker::confirm(HasQuorum&& has_quorum, std::vector<ReadState>& confirmed) {
  while (!pending_.empty() && has_quorum(acknowledged_at_least(pending_.front().round))) {
    confirmed.push_back(pending_.front().read);
    pending_.pop_front();
  }
}

}  // namespace roster::raft
