#pragma once

// roster-deploy's standby lock, as `consul lock` does it: a session (TTL,
// Behavior delete, a short LockDelay, no health checks, so only the TTL ties
// it to this process) and `PUT /v1/kv/roster/deploy/lock?acquire=<session>`.
// The instance that holds the key is the active one; another blocks on the
// key and takes over when it is released or deleted:
//   - at once (after LockDelay) when the holder stops cleanly: it destroys
//     its session;
//   - when the holder's session expires (the agent allows up to twice the
//     TTL) after it died without a word.
//
// The holder renews its session every TTL/3 and watches the key. It has lost
// the lock when the session is gone, when the key names another session or
// none, or when it could not renew for a whole TTL (the agent was
// unreachable: the session may have expired meanwhile).
//
// Thread safety: acquire(), keep() and release() are for one thread at a
// time (the daemon's); keep() may run on another thread than acquire().
// The CatalogApi, Clock and logger are borrowed.

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "server/deploy/catalog_api.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace roster::deploy {

struct SessionLockOptions {
  std::string key = "roster/deploy/lock";
  std::string name = "roster-deploy";  // the session's name; also the value written to the key
  std::chrono::seconds ttl{10};  // the agent's minimum, so a dead holder is replaced soonest
  std::chrono::seconds lock_delay{1};
  // How long one blocking read of the key waits, and the pause after an error.
  std::chrono::milliseconds watch_wait{std::chrono::seconds(10)};
  std::chrono::milliseconds retry_pause{std::chrono::seconds(1)};
};

class SessionLock {
 public:
  SessionLock(CatalogApi& api, SessionLockOptions options, const Clock& clock, std::shared_ptr<spdlog::logger> logger);
  ~SessionLock();  // releases the lock if held

  // Blocks until this instance holds the lock (true) or `stop` is requested
  // (false). Creates a session when it has none.
  bool acquire(std::stop_token stop);

  // While held: renews the session and watches the key. Returns when the lock
  // is lost (with the reason) or `stop` is requested (empty string).
  std::string keep(std::stop_token stop);

  // Destroys the session, which deletes the key (Behavior delete), so a
  // standby takes over without waiting for a TTL. Safe to call when not held.
  void release();

  const std::string& session() const { return session_; }

 private:
  void pause(std::stop_token stop, std::chrono::milliseconds duration);

  CatalogApi& api_;
  SessionLockOptions options_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string session_;
};

}  // namespace roster::deploy
