#include "common/one_shot_timer.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace roster {

struct OneShotTimer::State {
  explicit State(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  uint64_t generation = 0;
  bool armed = false;
};

OneShotTimer::OneShotTimer(boost::asio::io_context& io) : state_(std::make_shared<State>(io)) {}

OneShotTimer::~OneShotTimer() { cancel(); }

void OneShotTimer::arm_at(TimePoint deadline, std::function<void()> callback) {
  State& state = *state_;
  const uint64_t generation = ++state.generation;
  state.armed = true;
  state.timer.expires_at(deadline);
  state.timer.async_wait([weak = std::weak_ptr<State>(state_), generation,
                          callback = std::move(callback)](const boost::system::error_code& error) {
    auto alive = weak.lock();
    // Cancelled, superseded or destroyed, even if asio had already queued the expiry.
    if (error || !alive || alive->generation != generation) return;
    alive->armed = false;
    callback();
  });
}

void OneShotTimer::arm_after(std::chrono::nanoseconds delay, std::function<void()> callback) {
  arm_at(std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay),
         std::move(callback));
}

void OneShotTimer::cancel() {
  ++state_->generation;
  state_->armed = false;
  state_->timer.cancel();
}

bool OneShotTimer::armed() const { return state_->armed; }

}  // namespace roster
