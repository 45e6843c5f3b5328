#pragma once

// TombstoneReaper: forgets deleted KV keys once they are tombstone_ttl old, as
// Consul's tombstone GC does.
//
// The store keeps a tombstone per deleted key so that a blocking query sees
// the delete's index. Kept forever, tombstones cost memory and snapshot size,
// and every ?recurse or ?keys read walks them. Every `granularity` the reaper
// notes the store's last index with the time; once a note is `ttl` old, every
// tombstone at or below its index is at least that old, and the reaper submits
// ReapKvTombstones for it. A tombstone so lives between ttl and
// ttl + granularity. The store keeps a floor per directory of what it reaped,
// so no query's index goes backwards.
//
// Time comes from the injected Clock; the timer only paces tick(), which
// tests call by hand under a manual clock.
//
// Thread affinity: the agent core's thread (the io_context's), as AgentCore.
// REQUIRES: `io`, `clock` and `core` outlive the reaper.

#include <chrono>
#include <deque>
#include <memory>
#include <utility>

#include "agent/catalog/types.h"
#include "common/clock.h"

namespace boost::asio {
class io_context;
}

namespace roster::agent {

class AgentCore;

struct TombstoneReaperOptions {
  std::chrono::nanoseconds ttl{std::chrono::minutes(15)};          // Consul's tombstone TTL
  std::chrono::nanoseconds granularity{std::chrono::seconds(30)};  // at most ttl
};

class TombstoneReaper {
 public:
  // REQUIRES: options.ttl > 0 and options.granularity > 0.
  TombstoneReaper(boost::asio::io_context& io, const Clock& clock, AgentCore& core, TombstoneReaperOptions options);
  ~TombstoneReaper();
  TombstoneReaper(const TombstoneReaper&) = delete;
  TombstoneReaper& operator=(const TombstoneReaper&) = delete;

  // Ticks every granularity until stop().
  void start();
  void stop();

  // One round: notes the store's last index at the clock's time and reaps
  // the tombstones that are old enough. Returns the index it reaped up to, or
  // 0 when there was nothing to reap.
  catalog::Index tick();

 private:
  void arm();

  const Clock& clock_;
  AgentCore& core_;
  TombstoneReaperOptions options_;
  // (time, store's last index then), oldest first; at most ttl/granularity + 1.
  std::deque<std::pair<std::chrono::steady_clock::time_point, catalog::Index>> notes_;
  struct Timer;
  std::unique_ptr<Timer> timer_;
  bool running_ = false;
};

}  // namespace roster::agent
