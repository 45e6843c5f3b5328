#pragma once

// The roster-deploy daemon: the threads around an Engine.
//
//   - It stands by on the session lock (SessionLock) until it holds it.
//   - While active, two watcher threads hold blocking queries (the node list,
//     the roster/deploy/ tree) and post what they read to the planning loop,
//     which feeds a fresh Engine (resumed from the records) and steps it on
//     every read and whenever the dispatcher's next deadline passes.
//   - A third thread keeps the lock. When it is lost, the planning loop stops
//     at once (nothing more is written), and the daemon stands by again.
//   - When `stop` is requested it stops planning, releases the lock (a
//     standby takes over at once), and joins its threads; a watcher in a
//     blocking query returns within `watch_wait`.
//
// Thread safety: run() on one thread; active() from any. The CatalogApi,
// SigningKey, Clock and logger are borrowed and must outlive run().

#include <atomic>
#include <chrono>
#include <memory>
#include <stop_token>
#include <vector>

#include "server/deploy/engine.h"
#include "server/deploy/session_lock.h"

namespace roster::deploy {

struct DaemonOptions {
  EngineOptions engine;
  SessionLockOptions lock;
  // How long each blocking query waits before it is renewed. It also bounds
  // how long stopping takes.
  std::chrono::milliseconds watch_wait{std::chrono::seconds(10)};
  // Pause after a failed read before the watcher tries again.
  std::chrono::milliseconds retry_pause{std::chrono::seconds(1)};
};

class Daemon {
 public:
  Daemon(DaemonOptions options, std::vector<Playbook> playbooks, TemplateSource templates, const SigningKey& key,
         CatalogApi& api, const Clock& clock, std::shared_ptr<spdlog::logger> logger);

  void run(std::stop_token stop);

  bool active() const { return active_.load(); }
  // Planning rounds run while active; for tests to wait on.
  uint64_t steps() const { return steps_.load(); }

 private:
  // Returns when the lock is lost (true) or stop is requested (false).
  bool run_active(std::stop_token stop, SessionLock& lock);

  DaemonOptions options_;
  std::vector<Playbook> playbooks_;
  TemplateSource templates_;
  const SigningKey& key_;
  CatalogApi& api_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<bool> active_{false};
  std::atomic<uint64_t> steps_{0};
};

}  // namespace roster::deploy
