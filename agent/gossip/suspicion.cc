#include "agent/gossip/suspicion.h"

#include <algorithm>
#include <cmath>

namespace roster::gossip {
namespace {

// memberlist's remainingSuspicionTime, as a total from the start and rounded
// down to the millisecond like memberlist does.
Duration timeout_after(int confirmations, int expected, Duration min, Duration max) {
  double fraction = std::log(confirmations + 1.0) / std::log(expected + 1.0);
  double raw_seconds = std::chrono::duration<double>(max).count() -
                       fraction * std::chrono::duration<double>(max - min).count();
  Duration timeout = std::chrono::milliseconds(static_cast<int64_t>(std::floor(1000.0 * raw_seconds)));
  return std::max(timeout, min);
}

}  // namespace

Duration suspicion_min_timeout(int suspicion_mult, size_t node_count, Duration probe_interval) {
  double node_scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(node_count))));
  // Scaled by 1000 first to keep the precision memberlist keeps.
  return suspicion_mult * Duration(static_cast<int64_t>(node_scale * 1000)) * probe_interval.count() / 1000;
}

Suspicion::Suspicion(const std::string& from, int expected_confirmations, Duration min, Duration max, TimePoint now)
    : expected_(expected_confirmations), min_(min), max_(max), start_(now) {
  from_.insert(from);
  deadline_ = now + (expected_ < 1 ? min_ : max_);
}

bool Suspicion::confirm(const std::string& from) {
  if (confirmations_ >= expected_) return false;
  if (!from_.insert(from).second) return false;
  ++confirmations_;
  deadline_ = std::min(start_ + timeout_after(confirmations_, expected_, min_, max_), cap_);
  return true;
}

void Suspicion::process_gone(TimePoint latest) {
  cap_ = std::min(cap_, latest);
  deadline_ = std::min(deadline_, cap_);
}

}  // namespace roster::gossip
