#include "agent/catalog/watch_hub.h"

#include <algorithm>
#include <string_view>

#include "agent/catalog/state_store.h"

namespace roster::catalog {

namespace {
constexpr std::string_view kKvPrefix = "kv:";
constexpr std::string_view kKvTreePrefix = "kvp:";

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

namespace watch_key {
std::string kv(const std::string& key) { return std::string(kKvPrefix) + key; }
std::string kv_prefix(const std::string& prefix) { return std::string(kKvTreePrefix) + prefix; }
std::string node(const std::string& name) { return "node:" + name; }
std::string service(const std::string& name) { return "svc:" + name; }
std::string service_health(const std::string& name) { return "svch:" + name; }
std::string session(const std::string& id) { return "sess:" + id; }
}  // namespace watch_key

WatchHub::WaiterId WatchHub::wait(const std::vector<std::string>& keys, Callback callback) {
  WaiterId id = next_id_++;
  Waiter waiter;
  waiter.keys = keys;
  std::sort(waiter.keys.begin(), waiter.keys.end());
  waiter.keys.erase(std::unique(waiter.keys.begin(), waiter.keys.end()), waiter.keys.end());
  waiter.callback = std::move(callback);
  for (const auto& key : waiter.keys) {
    auto [it, inserted] = by_key_.try_emplace(key);
    if (inserted && starts_with(key, kKvTreePrefix)) ++prefix_waiter_keys_;
    it->second.push_back(id);
  }
  waiters_.emplace(id, std::move(waiter));
  return id;
}

void WatchHub::cancel(WaiterId id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  for (const auto& key : it->second.keys) {
    auto entry = by_key_.find(key);
    if (entry == by_key_.end()) continue;
    auto& ids = entry->second;
    ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
    if (ids.empty()) {
      if (starts_with(key, kKvTreePrefix)) --prefix_waiter_keys_;
      by_key_.erase(entry);
    }
  }
  waiters_.erase(it);
}

void WatchHub::collect(const std::string& key, std::vector<WaiterId>& fired) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  fired.insert(fired.end(), it->second.begin(), it->second.end());
}

void WatchHub::notify(const std::vector<std::string>& changed_keys) {
  std::vector<WaiterId> fired;
  for (const auto& key : changed_keys) {
    collect(key, fired);
    if (prefix_waiter_keys_ > 0 && starts_with(key, kKvPrefix)) {
      // A change to kv:a/b/c wakes recurse waiters on "", "a", "a/", ... "a/b/c".
      const std::string_view kv_key = std::string_view(key).substr(kKvPrefix.size());
      std::string probe(kKvTreePrefix);
      probe.reserve(kKvTreePrefix.size() + kv_key.size());
      collect(probe, fired);
      for (char c : kv_key) {
        probe.push_back(c);
        collect(probe, fired);
      }
    }
  }
  if (fired.empty()) return;
  std::sort(fired.begin(), fired.end());
  fired.erase(std::unique(fired.begin(), fired.end()), fired.end());

  // Unregister every fired waiter before running any callback, so callbacks
  // may wait() or cancel() freely and no waiter runs twice. Each key's list is
  // filtered once against the sorted fired ids: cancelling waiters one by one
  // would cost O(waiters on the key) each, which is quadratic for a hot key.
  std::vector<Callback> callbacks;
  callbacks.reserve(fired.size());
  std::vector<std::string> touched;
  for (WaiterId id : fired) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    callbacks.push_back(std::move(it->second.callback));
    for (auto& key : it->second.keys) touched.push_back(std::move(key));
    waiters_.erase(it);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const auto& key : touched) {
    auto entry = by_key_.find(key);
    if (entry == by_key_.end()) continue;
    auto& ids = entry->second;
    ids.erase(std::remove_if(ids.begin(), ids.end(),
                             [&fired](WaiterId id) { return std::binary_search(fired.begin(), fired.end(), id); }),
              ids.end());
    if (ids.empty()) {
      if (starts_with(key, kKvTreePrefix)) --prefix_waiter_keys_;
      by_key_.erase(entry);
    }
  }
  for (auto& callback : callbacks) {
    if (callback) callback();
  }
}

}  // namespace roster::catalog
