#pragma once

// An in-memory catalog behind roster-deploy's CatalogApi: a node list and a
// KV store with modify indexes, blocking reads, and sessions with acquire,
// release and Behavior delete. With fault injection: the whole catalog can
// be unreachable, and the next puts can fail.
//
// Blocking reads wait on a condition variable for at most `wait` of real
// time; tests that drive an Engine by hand pass a zero wait.
// Thread-safe.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "server/deploy/catalog_api.h"

namespace roster::fakes {

class FakeCatalogApi final : public deploy::CatalogApi {
 public:
  // --- test controls ---
  void set_node(const std::string& name, const std::string& id, std::map<std::string, std::string> tags,
                const std::string& address = "10.0.0.1") {
    std::lock_guard lock(mutex_);
    nodes_[name] = deploy::CatalogNode{name, id, address, std::move(tags)};
    nodes_index_ = ++index_;
    changed_.notify_all();
  }
  void remove_node(const std::string& name) {
    std::lock_guard lock(mutex_);
    nodes_.erase(name);
    nodes_index_ = ++index_;
    changed_.notify_all();
  }
  void set_unreachable(bool unreachable) {
    std::lock_guard lock(mutex_);
    unreachable_ = unreachable;
    changed_.notify_all();
  }
  void fail_next_puts(int count) {
    std::lock_guard lock(mutex_);
    failing_puts_ = count;
  }
  // As the session's TTL running out: keys it holds are deleted (Behavior delete).
  void expire_session(const std::string& session) {
    std::lock_guard lock(mutex_);
    drop_session(session);
  }
  std::optional<std::string> value(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::nullopt;
    return it->second.value;
  }
  std::vector<std::string> keys(const std::string& prefix) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [key, entry] : kv_) {
      if (key.starts_with(prefix)) out.push_back(key);
    }
    return out;
  }
  void put_now(const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex_);
    store(key, value);
  }
  int puts(const std::string& prefix) const {
    std::lock_guard lock(mutex_);
    int count = 0;
    for (const auto& key : put_log_) count += key.starts_with(prefix) ? 1 : 0;
    return count;
  }
  std::vector<std::string> sessions() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [id, alive] : sessions_) out.push_back(id);
    return out;
  }

  // --- CatalogApi ---
  Result<deploy::NodeList> nodes(uint64_t index, std::chrono::milliseconds wait) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return unreachable_ || nodes_index_ > index; });
    if (unreachable_) return unreachable();
    deploy::NodeList list;
    list.index = nodes_index_;
    for (const auto& [name, node] : nodes_) list.nodes.push_back(node);
    return list;
  }
  Result<deploy::KvTree> kv_tree(const std::string& prefix, uint64_t index, std::chrono::milliseconds wait) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return unreachable_ || prefix_index(prefix) > index; });
    if (unreachable_) return unreachable();
    deploy::KvTree tree;
    tree.index = prefix_index(prefix);
    for (const auto& [key, entry] : kv_) {
      if (key.starts_with(prefix)) tree.entries.push_back(entry);
    }
    return tree;
  }
  Result<deploy::KvTree> kv_get(const std::string& key, uint64_t index, std::chrono::milliseconds wait) override {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return unreachable_ || key_index(key) > index; });
    if (unreachable_) return unreachable();
    deploy::KvTree tree;
    tree.index = key_index(key);
    if (auto it = kv_.find(key); it != kv_.end()) tree.entries.push_back(it->second);
    return tree;
  }
  Status kv_put(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    if (failing_puts_ > 0) {
      --failing_puts_;
      return Status::unavailable("injected put failure");
    }
    store(key, value);
    return Status::ok();
  }
  Status kv_delete(const std::string& key) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    erase(key);
    return Status::ok();
  }
  Result<std::string> session_create(const std::string&, std::chrono::seconds, std::chrono::seconds) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    std::string id = "session-" + std::to_string(++session_counter_);
    sessions_[id] = true;
    return id;
  }
  Status session_renew(const std::string& session) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    if (!sessions_.contains(session)) return Status::not_found("Session id '" + session + "' not found");
    return Status::ok();
  }
  Status session_destroy(const std::string& session) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    drop_session(session);
    return Status::ok();
  }
  Result<bool> kv_acquire(const std::string& key, const std::string& value, const std::string& session) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    if (!sessions_.contains(session)) return Status::invalid_argument("invalid session \"" + session + "\"");
    auto it = kv_.find(key);
    if (it != kv_.end() && !it->second.session.empty() && it->second.session != session) return false;
    store(key, value);
    kv_[key].session = session;
    return true;
  }
  Result<bool> kv_release(const std::string& key, const std::string& session) override {
    std::lock_guard lock(mutex_);
    if (unreachable_) return unreachable();
    auto it = kv_.find(key);
    if (it == kv_.end() || it->second.session != session) return false;
    it->second.session.clear();
    it->second.modify_index = ++index_;
    changed_.notify_all();
    return true;
  }

 private:
  static Status unreachable() { return Status::unavailable("cannot reach the agent (fake catalog unreachable)"); }

  uint64_t prefix_index(const std::string& prefix) const {
    uint64_t index = 1;
    for (const auto& [key, entry] : kv_) {
      if (key.starts_with(prefix)) index = std::max(index, entry.modify_index);
    }
    if (auto it = deleted_.find(prefix); it != deleted_.end()) index = std::max(index, it->second);
    for (const auto& [key, at] : deleted_) {
      if (key.starts_with(prefix)) index = std::max(index, at);
    }
    return index;
  }
  uint64_t key_index(const std::string& key) const { return prefix_index(key); }

  void store(const std::string& key, const std::string& value) {
    deploy::KvEntry& entry = kv_[key];
    entry.key = key;
    entry.value = value;
    entry.modify_index = ++index_;
    put_log_.push_back(key);
    changed_.notify_all();
  }
  void erase(const std::string& key) {
    if (kv_.erase(key) > 0) {
      deleted_[key] = ++index_;
      changed_.notify_all();
    }
  }
  void drop_session(const std::string& session) {
    sessions_.erase(session);
    std::vector<std::string> held;
    for (const auto& [key, entry] : kv_) {
      if (entry.session == session) held.push_back(key);
    }
    for (const auto& key : held) erase(key);
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t index_ = 1;
  uint64_t nodes_index_ = 1;
  std::map<std::string, deploy::CatalogNode> nodes_;
  std::map<std::string, deploy::KvEntry> kv_;
  std::map<std::string, uint64_t> deleted_;
  std::map<std::string, bool> sessions_;
  std::vector<std::string> put_log_;
  uint64_t session_counter_ = 0;
  int failing_puts_ = 0;
  bool unreachable_ = false;
};

}  // namespace roster::fakes
