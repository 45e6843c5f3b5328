#pragma once

// Lifeguard's dynamic suspicion timeout (memberlist suspicion.go). A suspect
// is declared failed after a timeout that starts at `max` and shrinks
// logarithmically toward `min` as independent peers confirm the suspicion:
//
//   timeout(n) = max(min, max - (log(n + 1) / log(k + 1)) * (max - min))
//
// where n is the number of confirmations so far (the first suspecter does not
// count) and k the number expected. With k < 1 the timeout is `min` at once.
// The object holds no timer: the owner compares deadline() with its clock.

#include <set>
#include <string>

#include "agent/gossip/swim_config.h"

namespace roster::gossip {

// memberlist's suspicionTimeout: suspicion_mult * max(1, log10(max(1, n))) * probe_interval.
Duration suspicion_min_timeout(int suspicion_mult, size_t node_count, Duration probe_interval);

class Suspicion {
 public:
  // `from` is the first suspecter.
  Suspicion(const std::string& from, int expected_confirmations, Duration min, Duration max, TimePoint now);

  // Adds an independent confirmation. Returns true when `from` is new and the
  // timeout moved (the caller re-gossips the suspicion); false for a repeat or
  // once k confirmations have arrived.
  bool confirm(const std::string& from);

  // Moves the deadline (Swim's final check before declaring failure).
  void set_deadline(TimePoint deadline) { deadline_ = deadline; }
  // The suspect's process is gone (a probe was refused outright): the
  // suspicion ends by `latest`, whatever confirmations come later.
  void process_gone(TimePoint latest);
  bool is_process_gone() const { return cap_ != TimePoint::max(); }
  TimePoint deadline() const { return deadline_; }
  int confirmations() const { return confirmations_; }
  TimePoint start() const { return start_; }

 private:
  int expected_;
  Duration min_;
  Duration max_;
  TimePoint start_;
  TimePoint deadline_;
  int confirmations_ = 0;
  TimePoint cap_ = TimePoint::max();
  std::set<std::string> from_;
};

}  // namespace roster::gossip
