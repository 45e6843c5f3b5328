#pragma once

// Counting votes in an election or a pre-vote (Raft §5.2, thesis §9.6).
// Only voters of the configuration count; a candidate counts its own vote.
//
// Strand affinity: owned by one RaftCore.

#include <map>

#include "agent/raft/types.h"

namespace roster::raft {

enum class VoteResult : uint8_t { pending, won, lost };

class VoteTally {
 public:
  void reset() { votes_.clear(); }
  // Records `from`'s answer; a second answer from the same server is ignored.
  void record(ServerId from, bool granted) { votes_.emplace(from, granted); }
  // The outcome once a majority of `configuration`'s voters granted, or
  // enough refused that a majority cannot be reached.
  VoteResult result(const Configuration& configuration) const;
  size_t granted() const;

 private:
  std::map<ServerId, bool> votes_;
};

}  // namespace roster::raft
