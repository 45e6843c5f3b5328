#pragma once

// How a listener waits after a failed accept(). Out of descriptors or kernel
// memory, the pending connection stays in the backlog and accept() fails
// again at once, so retrying straight away spins thousands of times a
// second. As Go's net/http does: wait `first`, doubling up to `max` while it
// keeps failing, and report at most once per `report_interval`, counting the
// failures that were not reported.
//
// Pure: the caller passes `now` and runs its own timer. Used by the HTTP
// server, the gossip TCP listener and the Raft transport.

#include <chrono>
#include <cstdint>

#include <boost/system/error_code.hpp>

namespace roster {

// Failures that only waiting cures: EMFILE, ENFILE, ENOBUFS, ENOMEM.
bool is_resource_exhaustion(const boost::system::error_code& error);

class AcceptBackoff {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Decision {
    Duration retry_after{};
    bool report = false;      // log this failure now
    uint64_t unreported = 0;  // failures since the last report, before this one
  };

  AcceptBackoff(Duration first, Duration max, Duration report_interval = std::chrono::seconds(10))
      : first_(first), max_(max), report_interval_(report_interval) {}

  // An accept failed at `now`: how long to wait, and whether to say so.
  Decision failed(TimePoint now);
  // An accept succeeded: the next failure waits `first` again.
  void succeeded() { delay_ = Duration::zero(); }
  Duration delay() const { return delay_; }

 private:
  Duration first_;
  Duration max_;
  Duration report_interval_;
  Duration delay_ = Duration::zero();
  bool reported_ = false;
  TimePoint last_report_{};
  uint64_t unreported_ = 0;
};

}  // namespace roster
