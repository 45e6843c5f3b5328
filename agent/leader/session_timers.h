#pragma once

// SessionTimers: the leader's duty of invalidating sessions whose TTL ran out.
//
// Only the leader runs session TTLs, as in Consul: a renewal is a write to
// the leader (followers forward it), and the leader destroys a session that
// was not renewed within twice its TTL (Consul's grace for clock skew). The
// destroy is a catalog write, so every server sees it at the same index and
// the session's behavior (release or delete its locks) is applied there.
//
// When it starts (the server just became leader) every session with a TTL
// gets a timer for its full TTL, whatever time the previous leader had left
// on it: a leader change never expires a session early. It follows the
// sessions table afterwards, arming new sessions and dropping destroyed ones.
//
// Thread affinity: the agent's io_context thread.
// REQUIRES: `io` and `catalog` outlive it; catalog.replica() != null.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "agent/catalog/types.h"
#include "agent/catalog/watch_hub.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster {
class OneShotTimer;
}

namespace roster::agent {

class CatalogBackend;

// Consul invalidates a session only after twice its TTL.
inline constexpr int kSessionTtlMultiplier = 2;

class SessionTimers {
 public:
  SessionTimers(boost::asio::io_context& io, CatalogBackend& catalog);
  ~SessionTimers();
  SessionTimers(const SessionTimers&) = delete;
  SessionTimers& operator=(const SessionTimers&) = delete;

  // Arms every TTL session at its full TTL and follows the sessions table.
  void start();
  // Cancels every timer (leadership lost, or shutdown).
  void stop();
  bool running() const { return running_; }

  // Restarts the session's TTL. Errors: not_found (no such session).
  Result<catalog::Session> renew(const std::string& id);
  // Sessions with a timer armed.
  size_t armed() const { return timers_.size(); }

 private:
  void sync_with_table();
  void arm(const std::string& id, std::chrono::nanoseconds ttl);
  void watch_table();

  boost::asio::io_context& io_;
  CatalogBackend& catalog_;
  std::map<std::string, std::unique_ptr<OneShotTimer>> timers_;
  uint64_t listener_ = 0;
  bool running_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace roster::agent
