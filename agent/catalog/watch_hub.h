#pragma once

// WatchHub: blocking queries wait here for the data they read to change.
//
// Waiters on the same key share one entry, so a write to a hot key is one map
// lookup followed by a walk over its waiters; a write that touches no watched
// key costs one failed lookup per key. Prefix keys (watch_key::kv_prefix) are
// woken by any change to a KV key under them; the watched prefixes form a
// radix tree, so matching a changed key costs the depth of the watched
// prefixes it runs along, not its length (a recursive delete of thousands of
// 2 KB keys stays cheap).
//
// Thread affinity: all calls on the owner's strand (the agent core). Callbacks
// run synchronously inside notify(), on that strand.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace roster::catalog {

class WatchHub {
 public:
  using WaiterId = uint64_t;
  using Callback = std::function<void()>;

  // Calls `callback` once, at the first change to any of `keys`; afterwards the
  // waiter is gone. Returns an id for cancel().
  WaiterId wait(const std::vector<std::string>& keys, Callback callback);
  // Removes a waiter that has not fired (a timed-out or closed request).
  // Cancelling a fired or unknown waiter does nothing.
  void cancel(WaiterId id);
  // Wakes the waiters of the changed keys. Each waiter fires at most once.
  void notify(const std::vector<std::string>& changed_keys);

  // A standing listener, for the agent's own bookkeeping rather than a
  // client's query: called with every notify()'s keys, until unsubscribed.
  // Not counted as a waiter. Keep it cheap: it runs on every change.
  using Listener = std::function<void(const std::vector<std::string>& changed_keys)>;
  uint64_t subscribe(Listener listener);
  void unsubscribe(uint64_t id);

  size_t waiter_count() const { return waiters_.size(); }
  size_t key_count() const { return by_key_.size(); }
  // Work notify() has spent matching changed KV keys against prefix waiters,
  // one step per candidate prefix looked at; tests bound it.
  uint64_t prefix_match_steps() const { return prefix_match_steps_; }

 private:
  struct Waiter {
    std::vector<std::string> keys;
    Callback callback;
  };
  // A node of the radix tree of watched KV prefixes. Its prefix is the
  // concatenation of the labels from the root; `waiters` points at by_key_'s
  // entry for that prefix (stable: unordered_map never moves its values) or
  // is null for a node that only joins branches.
  struct PrefixNode {
    std::string label;
    std::map<char, std::unique_ptr<PrefixNode>> children;  // by the first byte of their label
    std::vector<WaiterId>* waiters = nullptr;
  };
  void collect(const std::string& key, std::vector<WaiterId>& fired);
  void collect_prefixes_of(std::string_view kv_key, std::vector<WaiterId>& fired);
  void add_prefix(std::string_view prefix, std::vector<WaiterId>* waiters);
  void remove_prefix(std::string_view prefix);
  // Drops by_key_'s entry for `key`, and its prefix node when it is one.
  void erase_key(std::unordered_map<std::string, std::vector<WaiterId>>::iterator entry);

  WaiterId next_id_ = 1;
  uint64_t next_listener_ = 1;
  std::map<uint64_t, Listener> listeners_;
  std::unordered_map<WaiterId, Waiter> waiters_;
  std::unordered_map<std::string, std::vector<WaiterId>> by_key_;
  PrefixNode prefix_root_;  // the empty prefix
  uint64_t prefix_match_steps_ = 0;
};

}  // namespace roster::catalog
