#pragma once

// Lifeguard's local health awareness (memberlist awareness.go). The score
// rises when this node itself seems to be the slow one (missed nacks, having
// to refute a suspicion) and falls with each successful probe; timeouts are
// stretched by score + 1 so an overloaded node is slower to accuse others.

#include <algorithm>

#include "agent/gossip/swim_config.h"

namespace roster::gossip {

class Awareness {
 public:
  // REQUIRES: max_multiplier >= 1.
  explicit Awareness(int max_multiplier) : max_(max_multiplier) {}

  void apply_delta(int delta) { score_ = std::clamp(score_ + delta, 0, max_ - 1); }
  int score() const { return score_; }
  Duration scale(Duration timeout) const { return timeout * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace roster::gossip
