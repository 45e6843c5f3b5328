#include "agent/gossip/wire/replay_filter.h"

#include <cassert>

namespace roster::gossip::wire {

ReplayFilter::ReplayFilter(size_t capacity) : ring_(capacity) {
  assert(capacity > 0);
  seen_.reserve(capacity);
}

bool ReplayFilter::seen_before(std::string_view key) {
  if (seen_.count(key) > 0) return true;
  std::string& slot = ring_[next_];
  if (seen_.size() == ring_.size()) seen_.erase(std::string_view(slot));
  slot.assign(key);
  seen_.insert(std::string_view(slot));
  next_ = (next_ + 1) % ring_.size();
  return false;
}

}  // namespace roster::gossip::wire
