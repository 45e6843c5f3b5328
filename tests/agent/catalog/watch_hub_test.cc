#include "agent/catalog/watch_hub.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/catalog/state_store.h"

namespace roster::catalog {
namespace {

TEST(WatchHubTest, WaitersOnOneKeyShareAnEntryAndAllFire) {
  WatchHub hub;
  int fired = 0;
  hub.wait({watch_key::service("web")}, [&] { ++fired; });
  hub.wait({watch_key::service("web")}, [&] { ++fired; });
  EXPECT_EQ(hub.key_count(), 1u);
  EXPECT_EQ(hub.waiter_count(), 2u);
  hub.notify({watch_key::service("web")});
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(hub.waiter_count(), 0u);
  EXPECT_EQ(hub.key_count(), 0u);
}

TEST(WatchHubTest, UnrelatedKeyWakesNobody) {
  WatchHub hub;
  int fired = 0;
  hub.wait({watch_key::kv("a"), watch_key::kv_prefix("app/")}, [&] { ++fired; });
  hub.notify({watch_key::kv("b"), watch_key::kv("ap"), watch_key::service("a"), watch_key::node("a")});
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(hub.waiter_count(), 1u);
}

TEST(WatchHubTest, KvChangeWakesEveryEnclosingPrefix) {
  WatchHub hub;
  int root = 0, app = 0, app_slash = 0, exact = 0, other = 0;
  hub.wait({watch_key::kv_prefix("")}, [&] { ++root; });
  hub.wait({watch_key::kv_prefix("app")}, [&] { ++app; });
  hub.wait({watch_key::kv_prefix("app/")}, [&] { ++app_slash; });
  hub.wait({watch_key::kv_prefix("app/x")}, [&] { ++exact; });
  hub.wait({watch_key::kv_prefix("db/")}, [&] { ++other; });
  hub.notify({watch_key::kv("app/x")});
  EXPECT_EQ(root, 1);
  EXPECT_EQ(app, 1);
  EXPECT_EQ(app_slash, 1);
  EXPECT_EQ(exact, 1);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(hub.waiter_count(), 1u);
}

// A recursive delete of many long keys under a watched prefix: matching a
// changed key against the prefix waiters costs O(depth of the watched
// prefixes), not O(key length) lookups each hashing O(key length) bytes.
TEST(WatchHubTest, WakingPrefixWaitersCostsTheDepthOfThePrefixNotTheKeyLength) {
  WatchHub hub;
  int big = 0, parked = 0;
  hub.wait({watch_key::kv_prefix("big/")}, [&] { ++big; });
  hub.wait({watch_key::kv_prefix("big/zz")}, [&] { ++parked; });
  constexpr size_t kKeys = 5000;
  std::vector<std::string> changed;
  changed.reserve(kKeys);
  const std::string tail(2048, 'x');
  for (size_t i = 0; i < kKeys; ++i) changed.push_back(watch_key::kv("big/" + std::to_string(i) + tail));
  hub.notify(changed);
  EXPECT_EQ(big, 1);
  EXPECT_EQ(parked, 0);
  // Each key walks "big/" and one more byte at most: the deepest watched
  // prefix it could share ("big/zz") stops at its first differing byte.
  EXPECT_LE(hub.prefix_match_steps(), kKeys * (std::string("big/").size() + 2));
  hub.notify({watch_key::kv("big/zz/top")});
  EXPECT_EQ(parked, 1);
}

TEST(WatchHubTest, PrefixWaitersStayRightAsPrefixesComeAndGo) {
  WatchHub hub;
  int ab = 0, abc = 0, abd = 0, a = 0;
  auto id_abc = hub.wait({watch_key::kv_prefix("abc")}, [&] { ++abc; });
  hub.wait({watch_key::kv_prefix("abd")}, [&] { ++abd; });
  auto id_ab = hub.wait({watch_key::kv_prefix("ab")}, [&] { ++ab; });
  hub.cancel(id_abc);
  hub.cancel(id_ab);
  hub.notify({watch_key::kv("abc"), watch_key::kv("ab"), watch_key::kv("abx")});
  EXPECT_EQ(abc + ab + abd, 0);
  hub.wait({watch_key::kv_prefix("a")}, [&] { ++a; });
  hub.notify({watch_key::kv("abdz")});
  EXPECT_EQ(abd, 1);
  EXPECT_EQ(a, 1);
  EXPECT_EQ(hub.key_count(), 0u);
  hub.wait({watch_key::kv_prefix("abd")}, [&] { ++abd; });
  hub.notify({watch_key::kv("ab")});
  EXPECT_EQ(abd, 1);
  hub.notify({watch_key::kv("abd")});
  EXPECT_EQ(abd, 2);
}

TEST(WatchHubTest, WaiterOnManyKeysFiresOnceAndLeavesEveryKey) {
  WatchHub hub;
  int fired = 0;
  hub.wait({watch_key::kv("a"), watch_key::kv("b"), watch_key::kv_prefix("")}, [&] { ++fired; });
  EXPECT_EQ(hub.key_count(), 3u);
  hub.notify({watch_key::kv("a"), watch_key::kv("b")});
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(hub.key_count(), 0u);
  hub.notify({watch_key::kv("a")});
  EXPECT_EQ(fired, 1);
}

// A write to a key with thousands of waiters, each also watching a key of
// its own, unregisters exactly the fired waiters and leaves the rest intact.
TEST(WatchHubTest, HotKeyWakeUnregistersOnlyItsWaiters) {
  WatchHub hub;
  constexpr int kCount = 3000;
  int hot_fired = 0;
  std::vector<int> own_fired(kCount, 0);
  for (int i = 0; i < kCount; ++i) {
    hub.wait({watch_key::kv("hot"), watch_key::kv("own/" + std::to_string(i))}, [&] { ++hot_fired; });
    hub.wait({watch_key::kv("own/" + std::to_string(i))}, [&own_fired, i] { ++own_fired[i]; });
  }
  EXPECT_EQ(hub.waiter_count(), 2u * kCount);
  EXPECT_EQ(hub.key_count(), kCount + 1u);
  hub.notify({watch_key::kv("hot")});
  EXPECT_EQ(hot_fired, kCount);
  EXPECT_EQ(hub.waiter_count(), size_t{kCount});
  EXPECT_EQ(hub.key_count(), size_t{kCount});
  for (int count : own_fired) EXPECT_EQ(count, 0);
  hub.notify({watch_key::kv("own/7")});
  EXPECT_EQ(own_fired[7], 1);
  EXPECT_EQ(hot_fired, kCount);
  EXPECT_EQ(hub.waiter_count(), kCount - 1u);
  EXPECT_EQ(hub.key_count(), kCount - 1u);
}

TEST(WatchHubTest, CancelRemovesAWaiter) {
  WatchHub hub;
  int fired = 0;
  auto id = hub.wait({watch_key::kv("a")}, [&] { ++fired; });
  auto other = hub.wait({watch_key::kv("a")}, [&] { fired += 10; });
  hub.cancel(id);
  hub.cancel(id);      // twice is harmless
  hub.cancel(999999);  // unknown is harmless
  EXPECT_EQ(hub.waiter_count(), 1u);
  hub.notify({watch_key::kv("a")});
  EXPECT_EQ(fired, 10);
  hub.cancel(other);  // already fired
  EXPECT_EQ(hub.waiter_count(), 0u);
  EXPECT_EQ(hub.key_count(), 0u);
}

TEST(WatchHubTest, CallbacksMayWaitAndCancelReentrantly) {
  WatchHub hub;
  int rewaited = 0;
  int cancelled_fired = 0;
  WatchHub::WaiterId victim = 0;
  hub.wait({watch_key::kv("a")}, [&] {
    // A blocking query that re-arms on the same key must not fire in this round.
    hub.wait({watch_key::kv("a")}, [&] { ++rewaited; });
    hub.cancel(victim);
  });
  victim = hub.wait({watch_key::kv("zzz")}, [&] { ++cancelled_fired; });
  hub.notify({watch_key::kv("a"), watch_key::kv("b")});
  EXPECT_EQ(rewaited, 0);
  EXPECT_EQ(hub.waiter_count(), 1u);
  hub.notify({watch_key::kv("zzz")});
  EXPECT_EQ(cancelled_fired, 0);
  hub.notify({watch_key::kv("a")});
  EXPECT_EQ(rewaited, 1);
  EXPECT_EQ(hub.waiter_count(), 0u);
}

TEST(WatchHubTest, StoreChangesWakeOnlyReadersOfThatData) {
  StateStore store;
  WatchHub hub;
  Index index = 0;
  auto apply = [&](CommandBody body) {
    ASSERT_TRUE(store.apply(++index, Command{0, std::move(body)}).is_ok());
    hub.notify(store.take_changed_watch_keys());
  };
  auto watch = [&](auto query, int& counter) {
    WatchKeys keys;
    query(&keys);
    hub.wait({keys.begin(), keys.end()}, [&counter] { ++counter; });
  };
  int a = 0, b = 0, tree = 0, missing = 0;
  watch([&](WatchKeys* keys) { (void)store.kv_get("a", keys); }, a);
  watch([&](WatchKeys* keys) { (void)store.kv_get("b", keys); }, b);
  watch([&](WatchKeys* keys) { (void)store.kv_list("dir/", keys); }, tree);
  watch([&](WatchKeys* keys) { (void)store.kv_get("dir/missing", keys); }, missing);

  KvCommand set_b;
  set_b.key = "b";
  set_b.value = "1";
  apply(set_b);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(tree, 0);

  KvCommand set_dir;
  set_dir.key = "dir/x";
  apply(set_dir);
  EXPECT_EQ(tree, 1);
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(a, 0);
}

}  // namespace
}  // namespace roster::catalog
