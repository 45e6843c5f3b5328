#pragma once

// The parts of a member that change only together and rarely (name, ID,
// address, tags), held once and shared.
//
// A Swim's member table holds, per member, a pointer to its record plus the
// fields that change often (incarnation, state, suspicion). In one agent the
// sharing saves little; in the simulator, N Swims each hold all N members,
// and a MemberRecordPool shared by them keeps one copy of each record instead
// of N, which is what lets 10,000 simulated nodes fit in memory.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/gossip/messages.h"

namespace roster::gossip {

struct MemberRecord {
  std::string name;
  std::string id;
  std::string address;
  TagMap tags;
};

// Hands out one shared record per distinct (name, ID, address, tags).
// Records are kept for the pool's lifetime: meant for a run of the
// simulator, where members change their records a handful of times.
// Not thread-safe: one thread (the simulator's) uses it.
class MemberRecordPool {
 public:
  std::shared_ptr<const MemberRecord> intern(const std::string& name, const std::string& id,
                                             const std::string& address, const TagMap& tags);
  size_t size() const { return count_; }

 private:
  std::unordered_map<std::string, std::vector<std::shared_ptr<const MemberRecord>>> by_name_;
  size_t count_ = 0;
};

}  // namespace roster::gossip
