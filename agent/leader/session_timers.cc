#include "agent/leader/session_timers.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "agent/catalog/state_store.h"
#include "agent/core/catalog_backend.h"
#include "common/one_shot_timer.h"

namespace roster::agent {

SessionTimers::SessionTimers(boost::asio::io_context& io, CatalogBackend& catalog) : io_(io), catalog_(catalog) {}

SessionTimers::~SessionTimers() {
  *alive_ = false;
  stop();
}

void SessionTimers::start() {
  if (running_) return;
  running_ = true;
  sync_with_table();
  watch_table();
}

void SessionTimers::stop() {
  running_ = false;
  if (listener_ != 0) catalog_.watch_hub().unsubscribe(listener_);
  listener_ = 0;
  for (auto& [id, timer] : timers_) timer->cancel();
  timers_.clear();
}

void SessionTimers::watch_table() {
  listener_ = catalog_.watch_hub().subscribe([this](const std::vector<std::string>& changed) {
    if (!running_) return;
    if (std::find(changed.begin(), changed.end(), catalog::watch_key::kSessions) != changed.end()) sync_with_table();
  });
}

// New TTL sessions get a timer, destroyed ones lose theirs; a session that
// already has one keeps it (only a renewal restarts it).
void SessionTimers::sync_with_table() {
  const catalog::StateStore* store = catalog_.replica();
  if (store == nullptr) return;
  std::set<std::string> present;
  for (const catalog::Session& session : store->sessions().value) {
    if (session.ttl_ns <= 0) continue;
    present.insert(session.id);
    if (!timers_.contains(session.id)) arm(session.id, std::chrono::nanoseconds(session.ttl_ns));
  }
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (!present.contains(it->first)) {
      it->second->cancel();
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
}

Result<catalog::Session> SessionTimers::renew(const std::string& id) {
  const catalog::StateStore* store = catalog_.replica();
  auto session = store != nullptr ? store->session(id).value : std::nullopt;
  if (!session) return Status::not_found("Session id '" + id + "' not found");
  if (session->ttl_ns > 0 && running_) arm(id, std::chrono::nanoseconds(session->ttl_ns));
  return *session;
}

void SessionTimers::arm(const std::string& id, std::chrono::nanoseconds ttl) {
  auto& timer = timers_[id];
  if (!timer) timer = std::make_unique<OneShotTimer>(io_);
  timer->arm_after(ttl * kSessionTtlMultiplier, [this, id, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || !running_) return;
    spdlog::info("session {} expired without renewal; invalidating it", id);
    timers_.erase(id);
    catalog_.write(catalog::DestroySession{id}, [id](Result<catalog::Index> result) {
      // A lost write leaves the session; the next leader re-arms it.
      if (!result.is_ok()) spdlog::warn("invalidating session {}: {}", id, result.status().to_string());
    });
  });
}

}  // namespace roster::agent
