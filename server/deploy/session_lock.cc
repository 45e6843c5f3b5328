#include "server/deploy/session_lock.h"

#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>

namespace roster::deploy {

SessionLock::SessionLock(CatalogApi& api, SessionLockOptions options, const Clock& clock,
                         std::shared_ptr<spdlog::logger> logger)
    : api_(api), options_(std::move(options)), clock_(clock), logger_(std::move(logger)) {}

SessionLock::~SessionLock() { release(); }

void SessionLock::pause(std::stop_token stop, std::chrono::milliseconds duration) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  wake.wait_for(lock, stop, duration, [] { return false; });
}

bool SessionLock::acquire(std::stop_token stop) {
  bool said_waiting = false;
  bool said_unreachable = false;
  uint64_t index = 0;
  while (!stop.stop_requested()) {
    if (session_.empty()) {
      auto created = api_.session_create(options_.name, options_.ttl, options_.lock_delay);
      if (!created.is_ok()) {
        if (!said_unreachable) logger_->warn("cannot create a session for {}: {}", options_.key, created.status().message());
        said_unreachable = true;
        pause(stop, options_.retry_pause);
        continue;
      }
      session_ = created.value();
    }
    auto acquired = api_.kv_acquire(options_.key, options_.name, session_);
    if (acquired.is_ok() && *acquired) return true;
    if (!acquired.is_ok()) {
      if (!said_unreachable) logger_->warn("cannot take {}: {}", options_.key, acquired.status().message());
      said_unreachable = true;
      // An invalid session (expired while we could not renew it) is replaced.
      if (acquired.status().code() == StatusCode::invalid_argument) session_.clear();
      pause(stop, options_.retry_pause);
      continue;
    }
    said_unreachable = false;
    if (!said_waiting) logger_->info("another roster-deploy holds {}; standing by", options_.key);
    said_waiting = true;
    // Our session must not expire while we stand by.
    if (api_.session_renew(session_).code() == StatusCode::not_found) session_.clear();
    auto held = api_.kv_get(options_.key, index, options_.watch_wait);
    if (!held.is_ok()) {
      pause(stop, options_.retry_pause);
      continue;
    }
    const bool free = held->entries.empty() || held->entries.front().session.empty();
    // Free, yet acquire said no: the lock delay of a session that just ended.
    if (free) pause(stop, options_.retry_pause);
    index = free ? 0 : held->index;
  }
  return false;
}

std::string SessionLock::keep(std::stop_token stop) {
  auto last_renewed = clock_.now();
  const auto renew_every = std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl) / 3;
  uint64_t index = 0;
  while (!stop.stop_requested()) {
    Status renewed = api_.session_renew(session_);
    if (renewed.is_ok()) {
      last_renewed = clock_.now();
    } else if (renewed.code() == StatusCode::not_found) {
      session_.clear();
      return "our session " + std::string("expired or was invalidated");
    } else if (clock_.now() - last_renewed > options_.ttl) {
      return "could not renew the session for " + std::to_string(options_.ttl.count()) + "s: " + renewed.message();
    }
    auto held = api_.kv_get(options_.key, index, std::min(renew_every, options_.watch_wait));
    if (held.is_ok()) {
      if (held->entries.empty() || held->entries.front().session != session_) {
        return held->entries.empty() ? "the lock key was deleted"
                                     : "the lock is held by session " + held->entries.front().session;
      }
      index = held->index;
    } else {
      pause(stop, options_.retry_pause);
    }
  }
  return "";
}

void SessionLock::release() {
  if (session_.empty()) return;
  Status destroyed = api_.session_destroy(session_);
  if (!destroyed.is_ok()) {
    logger_->warn("cannot destroy session {} ({}); the lock frees itself when its TTL runs out", session_,
                  destroyed.message());
  }
  session_.clear();
}

}  // namespace roster::deploy
