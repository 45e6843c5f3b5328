#pragma once

// WatchHub: blocking queries wait here for the data they read to change.
//
// Waiters on the same key share one entry, so a write to a hot key is one map
// lookup followed by a walk over its waiters; a write that touches no watched
// key costs one failed lookup per key. Prefix keys (watch_key::kv_prefix) are
// woken by any change to a KV key under them.
//
// Thread affinity: all calls on the owner's strand (the agent core). Callbacks
// run synchronously inside notify(), on that strand.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
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

  size_t waiter_count() const { return waiters_.size(); }
  size_t key_count() const { return by_key_.size(); }

 private:
  struct Waiter {
    std::vector<std::string> keys;
    Callback callback;
  };
  void collect(const std::string& key, std::vector<WaiterId>& fired);

  WaiterId next_id_ = 1;
  std::unordered_map<WaiterId, Waiter> waiters_;
  std::unordered_map<std::string, std::vector<WaiterId>> by_key_;
  size_t prefix_waiter_keys_ = 0;  // how many keys in by_key_ are KV prefixes
};

}  // namespace roster::catalog
