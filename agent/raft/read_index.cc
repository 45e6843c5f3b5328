#include "agent/raft/read_index.h"

namespace roster::raft {

void ReadIndexTracker::add(uint64_t request_id, Index index, uint64_t round) {
  pending_.push_back({ReadState{request_id, index}, round});
}

void ReadIndexTracker::acknowledge(ServerId from, uint64_t round) {
  uint64_t& held = acknowledged_[from];
  if (round > held) held = round;
}

std::set<ServerId> ReadIndexTracker::acknowledged_at_least(uint64_t round) const {
  std::set<ServerId> out;
  for (const auto& [server, acknowledged] : acknowledged_) {
    if (acknowledged >= round) out.insert(server);
  }
  return out;
}

std::vector<uint64_t> ReadIndexTracker::take_all() {
  std::vector<uint64_t> ids;
  for (const Pending& pending : pending_) ids.push_back(pending.read.request_id);
  pending_.clear();
  acknowledged_.clear();
  return ids;
}

}  // namespace roster::raft
