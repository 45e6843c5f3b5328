#pragma once

// A one-shot timer whose cancel() and re-arm are final.
//
// boost::asio's steady_timer::cancel() cannot recall a completion whose
// expiry is already queued: that handler still runs, with success, after the
// cancel returned. Code that cancels a deadline because the event it guarded
// happened (a parked request answered, a session renewed) would then act on a
// stale expiry. Here every arm() starts a new generation, and a callback runs
// only while its generation is still the current one: once cancel() or arm()
// returns, no earlier callback runs, whatever asio has already queued.
//
// Thread affinity: one strand (the agent's io_context thread). The callback
// runs on the timer's executor; it may destroy or re-arm this timer.
// Ownership: the callback is held until it runs or is superseded; a queued
// completion holds no reference to this object, so it may be destroyed at
// any time (destruction cancels).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace roster {

class OneShotTimer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit OneShotTimer(boost::asio::io_context& io);
  ~OneShotTimer();
  OneShotTimer(const OneShotTimer&) = delete;
  OneShotTimer& operator=(const OneShotTimer&) = delete;

  // Runs `callback` at `deadline` (at once if it has passed), unless cancel()
  // or another arm() comes first. Replaces any callback armed before.
  void arm_at(TimePoint deadline, std::function<void()> callback);
  void arm_after(std::chrono::nanoseconds delay, std::function<void()> callback);
  void cancel();
  bool armed() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace roster
