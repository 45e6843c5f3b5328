#pragma once

// Remembers the nonces of recently opened encrypted envelopes, so a captured
// datagram sent again is dropped. Memory is bounded: the last `capacity`
// distinct keys are remembered, oldest forgotten first. A replay older than
// the window gets through the filter; SWIM then ignores it as stale, since
// every state claim carries an incarnation.
//
// Only authenticated nonces should be fed in (after decryption succeeds),
// so forged traffic cannot flush the window. Plain packets carry no proof
// of origin, so filtering them would protect nothing.
//
// Not thread-safe; owned by the transport's strand.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace roster::gossip::wire {

class ReplayFilter {
 public:
  static constexpr size_t kDefaultCapacity = 8192;

  // REQUIRES: capacity > 0.
  explicit ReplayFilter(size_t capacity = kDefaultCapacity);
  // The index holds views into the ring, so a copy would point into the
  // original; moves keep the ring's buffer and are safe.
  ReplayFilter(const ReplayFilter&) = delete;
  ReplayFilter& operator=(const ReplayFilter&) = delete;
  ReplayFilter(ReplayFilter&&) = default;
  ReplayFilter& operator=(ReplayFilter&&) = default;

  // True when `key` is among the remembered keys; otherwise remembers it
  // (forgetting the oldest when full) and returns false.
  bool seen_before(std::string_view key);

  size_t size() const { return seen_.size(); }
  size_t capacity() const { return ring_.size(); }

 private:
  std::vector<std::string> ring_;  // insertion order; ring_[next_] is the oldest once full
  size_t next_ = 0;
  std::unordered_set<std::string_view> seen_;  // views into ring_
};

}  // namespace roster::gossip::wire
