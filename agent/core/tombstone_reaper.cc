#include "agent/core/tombstone_reaper.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include "agent/core/agent_core.h"

namespace roster::agent {

struct TombstoneReaper::Timer {
  explicit Timer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
};

TombstoneReaper::TombstoneReaper(boost::asio::io_context& io, const Clock& clock, AgentCore& core,
                                 TombstoneReaperOptions options)
    : clock_(clock), core_(core), options_(options), timer_(std::make_unique<Timer>(io)) {
  options_.granularity = std::min(options_.granularity, options_.ttl);
}

TombstoneReaper::~TombstoneReaper() { stop(); }

void TombstoneReaper::start() {
  if (running_) return;
  running_ = true;
  arm();
}

void TombstoneReaper::stop() {
  running_ = false;
  timer_->timer.cancel();
}

void TombstoneReaper::arm() {
  timer_->timer.expires_after(options_.granularity);
  timer_->timer.async_wait([this](const boost::system::error_code& error) {
    if (error || !running_) return;
    tick();
    arm();
  });
}

catalog::Index TombstoneReaper::tick() {
  const auto now = clock_.now();
  // The leader's duty: followers would only forward the same reap.
  if (core_.catalog().replica() == nullptr || !core_.catalog().is_leader()) return 0;
  const catalog::Index last = core_.store().last_index();
  // An idle store keeps its oldest note: that one ages out first.
  if (notes_.empty() || notes_.back().second != last) notes_.emplace_back(now, last);
  catalog::Index up_to = 0;
  while (!notes_.empty() && now - notes_.front().first >= options_.ttl) {
    up_to = notes_.front().second;
    notes_.pop_front();
  }
  if (up_to == 0 || !core_.store().has_kv_tombstones_through(up_to)) return 0;
  // A lost write is harmless: the tombstones are still old next round.
  core_.catalog().write(catalog::ReapKvTombstones{up_to}, [up_to](Result<catalog::Index> reaped) {
    if (!reaped.is_ok()) {
      spdlog::warn("reaping KV tombstones up to index {}: {}", up_to, reaped.status().to_string());
    } else {
      spdlog::debug("reaped the KV tombstones of deletes up to index {}", up_to);
    }
  });
  return up_to;
}

}  // namespace roster::agent
