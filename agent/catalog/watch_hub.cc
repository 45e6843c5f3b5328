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
    if (inserted && starts_with(key, kKvTreePrefix)) {
      add_prefix(std::string_view(key).substr(kKvTreePrefix.size()), &it->second);
    }
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
    if (ids.empty()) erase_key(entry);
  }
  waiters_.erase(it);
}

void WatchHub::collect(const std::string& key, std::vector<WaiterId>& fired) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  fired.insert(fired.end(), it->second.begin(), it->second.end());
}

// A change to kv:a/b/c wakes recurse waiters on "", "a", "a/", ... "a/b/c":
// every watched prefix on the tree's path along the key.
void WatchHub::collect_prefixes_of(std::string_view kv_key, std::vector<WaiterId>& fired) {
  const PrefixNode* node = &prefix_root_;
  ++prefix_match_steps_;
  if (node->waiters) fired.insert(fired.end(), node->waiters->begin(), node->waiters->end());
  size_t position = 0;
  while (position < kv_key.size()) {
    auto child = node->children.find(kv_key[position]);
    if (child == node->children.end()) return;
    node = child->second.get();
    ++prefix_match_steps_;
    if (kv_key.compare(position, node->label.size(), node->label) != 0) return;
    position += node->label.size();
    if (node->waiters) fired.insert(fired.end(), node->waiters->begin(), node->waiters->end());
  }
}

void WatchHub::add_prefix(std::string_view prefix, std::vector<WaiterId>* waiters) {
  PrefixNode* node = &prefix_root_;
  size_t position = 0;
  while (position < prefix.size()) {
    auto child = node->children.find(prefix[position]);
    if (child == node->children.end()) {
      auto leaf = std::make_unique<PrefixNode>();
      leaf->label = std::string(prefix.substr(position));
      leaf->waiters = waiters;
      node->children.emplace(prefix[position], std::move(leaf));
      return;
    }
    const std::string& label = child->second->label;
    const std::string_view rest = prefix.substr(position);
    size_t common = 0;
    while (common < label.size() && common < rest.size() && label[common] == rest[common]) ++common;
    if (common < label.size()) {
      // The new prefix ends or branches inside this label: split it.
      auto middle = std::make_unique<PrefixNode>();
      middle->label = label.substr(0, common);
      std::unique_ptr<PrefixNode> lower = std::move(child->second);
      lower->label.erase(0, common);
      const char lower_first = lower->label.front();
      middle->children.emplace(lower_first, std::move(lower));
      child->second = std::move(middle);
    }
    node = child->second.get();
    position += common;
  }
  node->waiters = waiters;
}

void WatchHub::remove_prefix(std::string_view prefix) {
  // The path from the root, as (parent, first byte of the child's label).
  std::vector<std::pair<PrefixNode*, char>> path;
  PrefixNode* node = &prefix_root_;
  size_t position = 0;
  while (position < prefix.size()) {
    auto child = node->children.find(prefix[position]);
    if (child == node->children.end()) return;
    const std::string& label = child->second->label;
    if (prefix.compare(position, label.size(), label) != 0) return;
    path.emplace_back(node, prefix[position]);
    node = child->second.get();
    position += label.size();
  }
  node->waiters = nullptr;
  // Prune nodes that neither hold waiters nor join branches, so the tree
  // only ever holds what is watched now.
  while (!path.empty()) {
    auto [parent, first] = path.back();
    std::unique_ptr<PrefixNode>& slot = parent->children[first];
    if (slot->waiters != nullptr || slot->children.size() > 1) return;
    if (slot->children.empty()) {
      parent->children.erase(first);
      path.pop_back();
      continue;
    }
    std::unique_ptr<PrefixNode> only = std::move(slot->children.begin()->second);
    only->label.insert(0, slot->label);
    slot = std::move(only);
    return;
  }
}

void WatchHub::erase_key(std::unordered_map<std::string, std::vector<WaiterId>>::iterator entry) {
  if (starts_with(entry->first, kKvTreePrefix)) {
    remove_prefix(std::string_view(entry->first).substr(kKvTreePrefix.size()));
  }
  by_key_.erase(entry);
}

uint64_t WatchHub::subscribe(Listener listener) {
  const uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void WatchHub::unsubscribe(uint64_t id) { listeners_.erase(id); }

void WatchHub::notify(const std::vector<std::string>& changed_keys) {
  // Listeners may unsubscribe (themselves or others) while called.
  if (!listeners_.empty()) {
    std::vector<uint64_t> ids;
    for (const auto& [id, listener] : listeners_) ids.push_back(id);
    for (uint64_t id : ids) {
      auto found = listeners_.find(id);
      if (found == listeners_.end()) continue;
      Listener listener = found->second;
      listener(changed_keys);
    }
  }
  std::vector<WaiterId> fired;
  for (const auto& key : changed_keys) {
    collect(key, fired);
    if (starts_with(key, kKvPrefix)) collect_prefixes_of(std::string_view(key).substr(kKvPrefix.size()), fired);
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
    if (ids.empty()) erase_key(entry);
  }
  for (auto& callback : callbacks) {
    if (callback) callback();
  }
}

}  // namespace roster::catalog
