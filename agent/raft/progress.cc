#include "agent/raft/progress.h"

#include <algorithm>

namespace roster::raft {

const char* progress_state_name(ProgressState state) {
  switch (state) {
    case ProgressState::probe: return "probe";
    case ProgressState::replicate: return "replicate";
    case ProgressState::snapshot: return "snapshot";
  }
  return "unknown";
}

bool Progress::can_send() const {
  switch (state_) {
    case ProgressState::probe: return !probe_sent;
    case ProgressState::replicate:
      return inflight_.size() < max_inflight_ && inflight_bytes_ < max_inflight_bytes_;
    case ProgressState::snapshot: return false;
  }
  return false;
}

void Progress::sent(Index last_index, uint64_t bytes) {
  if (state_ == ProgressState::probe) {
    probe_sent = true;
    return;
  }
  if (state_ == ProgressState::replicate && last_index >= next_index_) {
    inflight_.push_back({last_index, bytes});
    inflight_bytes_ += bytes;
    next_index_ = last_index + 1;
  }
}

bool Progress::acknowledge(Index index) {
  while (!inflight_.empty() && inflight_.front().last_index <= index) {
    inflight_bytes_ -= inflight_.front().bytes;
    inflight_.pop_front();
  }
  probe_sent = false;
  if (index <= match_index_) return false;
  match_index_ = index;
  next_index_ = std::max(next_index_, index + 1);
  return true;
}

void Progress::reject(Index next) {
  next_index_ = std::max(match_index_ + 1, std::min(next, next_index_));
  probe_sent = false;
  if (state_ == ProgressState::replicate) become_probe();
}

void Progress::become_probe() {
  // From snapshot state, resume after the snapshot the follower installed.
  if (state_ == ProgressState::snapshot) next_index_ = std::max(match_index_ + 1, pending_snapshot_ + 1);
  else next_index_ = match_index_ + 1;
  state_ = ProgressState::probe;
  inflight_.clear();
  inflight_bytes_ = 0;
  probe_sent = false;
  pending_snapshot_ = 0;
}

void Progress::become_replicate() {
  state_ = ProgressState::replicate;
  next_index_ = match_index_ + 1;
  inflight_.clear();
  inflight_bytes_ = 0;
  probe_sent = false;
}

void Progress::become_snapshot(Index snapshot_index) {
  state_ = ProgressState::snapshot;
  pending_snapshot_ = snapshot_index;
  snapshot_offset = 0;
  snapshot_chunk_in_flight = false;
  inflight_.clear();
  inflight_bytes_ = 0;
  probe_sent = false;
}

}  // namespace roster::raft
