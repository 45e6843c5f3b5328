#include "server/deploy/daemon.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

namespace roster::deploy {

namespace {

// What the watcher and lock threads hand to the planning loop.
struct Mailbox {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::deque<Result<NodeList>> nodes;
  std::deque<Result<KvTree>> kv;
  std::optional<std::string> lost;
};

void pause(std::stop_token stop, std::chrono::milliseconds duration) {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::unique_lock lock(mutex);
  wake.wait_for(lock, stop, duration, [] { return false; });
}

// Blocking-query loop: `read(index)` returns a result with an index; a
// failure or an index that went backwards (a restarted agent) starts over.
template <typename Read, typename Post>
void watch(std::stop_token stop, Read read, Post post, std::chrono::milliseconds retry_pause) {
  uint64_t index = 0;
  while (!stop.stop_requested()) {
    auto result = read(index);
    if (stop.stop_requested()) return;
    if (!result.is_ok()) {
      post(std::move(result));
      pause(stop, retry_pause);
      index = 0;
      continue;
    }
    const uint64_t next = result->index;
    if (index == 0 || next != index) post(std::move(result));
    // Consul's rules: an index that went backwards starts over; one that is
    // 0 is read as 1, so the next query blocks instead of spinning.
    index = next < index ? 0 : std::max<uint64_t>(next, 1);
  }
}

}  // namespace

Daemon::Daemon(DaemonOptions options, std::vector<Playbook> playbooks, TemplateSource templates, const SigningKey& key,
               CatalogApi& api, const Clock& clock, std::shared_ptr<spdlog::logger> logger)
    : options_(std::move(options)),
      playbooks_(std::move(playbooks)),
      templates_(std::move(templates)),
      key_(key),
      api_(api),
      clock_(clock),
      logger_(std::move(logger)) {}

void Daemon::run(std::stop_token stop) {
  SessionLock lock(api_, options_.lock, clock_, logger_);
  while (!stop.stop_requested()) {
    if (!lock.acquire(stop)) break;
    logger_->info("holding {}: this roster-deploy is the active one", options_.lock.key);
    if (!run_active(stop, lock)) break;
  }
  lock.release();
}

bool Daemon::run_active(std::stop_token stop, SessionLock& lock) {
  Mailbox mailbox;
  Engine engine(options_.engine, playbooks_, templates_, key_, api_, clock_, logger_);
  std::stop_source active_stop;
  std::stop_callback forward(stop, [&] { active_stop.request_stop(); });

  auto post_nodes = [&](Result<NodeList> read) {
    std::lock_guard guard(mailbox.mutex);
    mailbox.nodes.push_back(std::move(read));
    mailbox.wake.notify_all();
  };
  auto post_kv = [&](Result<KvTree> read) {
    std::lock_guard guard(mailbox.mutex);
    mailbox.kv.push_back(std::move(read));
    mailbox.wake.notify_all();
  };
  const auto wait = options_.watch_wait;
  std::vector<std::jthread> threads;
  threads.emplace_back([&, token = active_stop.get_token()] {
    watch(token, [&](uint64_t index) { return api_.nodes(index, wait); }, post_nodes, options_.retry_pause);
  });
  threads.emplace_back([&, token = active_stop.get_token()] {
    const std::string prefix(deploy_records::kPrefix);
    watch(token, [&](uint64_t index) { return api_.kv_tree(prefix, index, wait); }, post_kv, options_.retry_pause);
  });
  threads.emplace_back([&, token = active_stop.get_token()] {
    std::string reason = lock.keep(token);
    if (reason.empty()) return;
    std::lock_guard guard(mailbox.mutex);
    mailbox.lost = reason;
    mailbox.wake.notify_all();
  });

  active_ = true;
  bool lost = false;
  while (true) {
    std::unique_lock guard(mailbox.mutex);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    if (auto next = engine.next_wakeup()) {
      // At least a few milliseconds: a deadline that passed is handled by the
      // step this wait ends in, never by spinning.
      const auto in = std::max<std::chrono::steady_clock::duration>(*next - clock_.now(), std::chrono::milliseconds(0));
      until = std::min(until, std::chrono::steady_clock::now() + in + std::chrono::milliseconds(5));
    }
    mailbox.wake.wait_until(guard, stop, until,
                            [&] { return mailbox.lost || !mailbox.nodes.empty() || !mailbox.kv.empty(); });
    if (stop.stop_requested()) break;
    if (mailbox.lost) {
      logger_->error("lost {}: {}; stopped dispatching, standing by", options_.lock.key, *mailbox.lost);
      lost = true;
      break;
    }
    auto nodes = std::move(mailbox.nodes);
    auto kv = std::move(mailbox.kv);
    mailbox.nodes.clear();
    mailbox.kv.clear();
    guard.unlock();
    for (auto& read : nodes) engine.on_nodes(read);
    for (auto& read : kv) engine.on_kv(read);
    engine.step();
    ++steps_;
  }
  active_ = false;
  active_stop.request_stop();
  if (!lost) lock.release();  // before joining: a standby can take over while the watchers finish
  threads.clear();
  return lost;
}

}  // namespace roster::deploy
