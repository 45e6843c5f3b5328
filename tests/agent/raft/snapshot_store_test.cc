#include "agent/raft/snapshot_store.h"

#include <gtest/gtest.h>

#include "tests/agent/raft/storage_test_helpers.h"
#include "tests/fakes/fault_env.h"
#include "tests/fakes/mem_env.h"

namespace roster::raft {
namespace {

using fakes::CrashMode;
using fakes::FaultEnv;
using fakes::MemEnv;
using testing::null_logger;

constexpr const char* kDir = "/data/snapshots";

Snapshot make_snapshot(Index last_index, std::string data) {
  Snapshot snapshot;
  snapshot.meta.last_index = last_index;
  snapshot.meta.last_term = last_index / 10 + 1;
  snapshot.meta.configuration.servers = {{1, "127.0.0.2:8300", true}, {2, "127.0.0.3:8300", false}};
  snapshot.data = std::make_shared<const std::string>(std::move(data));
  return snapshot;
}

void expect_same(const Snapshot& actual, const Snapshot& expected) {
  EXPECT_EQ(actual.meta, expected.meta);
  ASSERT_TRUE(actual.data);
  EXPECT_EQ(*actual.data, *expected.data);
}

std::unique_ptr<SnapshotStore> open_store(Env& env) {
  auto store = SnapshotStore::open(env, kDir, null_logger());
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  return store.is_ok() ? std::move(*store) : nullptr;
}

TEST(SnapshotStoreTest, SavesLoadsAndKeepsTheLastTwo) {
  MemEnv env;
  {
    auto store = open_store(env);
    EXPECT_FALSE(store->latest());
    for (Index index : {10, 20, 30}) ASSERT_TRUE(store->save(make_snapshot(index, "state " + std::to_string(index))).is_ok());
    EXPECT_EQ(store->file_names().size(), 2u);
    EXPECT_EQ(store->save(make_snapshot(30, "again")).code(), StatusCode::invalid_argument);
  }
  env.crash(CrashMode::random);
  auto store = open_store(env);
  ASSERT_TRUE(store->latest());
  expect_same(*store->latest(), make_snapshot(30, "state 30"));
}

TEST(SnapshotStoreTest, CrashBetweenWriteAndRenameKeepsTheOldSnapshot) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    MemEnv mem(seed);
    FaultEnv env(mem);
    {
      auto store = open_store(env);
      ASSERT_TRUE(store->save(make_snapshot(10, "old")).is_ok());
      env.fail_rename(1);  // the temp file is written and synced, then "power fails"
      EXPECT_FALSE(store->save(make_snapshot(20, "new")).is_ok());
    }
    mem.crash(CrashMode::random);
    auto store = open_store(env);
    ASSERT_TRUE(store->latest());
    expect_same(*store->latest(), make_snapshot(10, "old"));
    std::vector<std::string> names = *env.list_directory(kDir);
    for (const std::string& name : names) EXPECT_FALSE(name.ends_with(".tmp")) << name;
  }
}

TEST(SnapshotStoreTest, CorruptNewestFallsBackToThePreviousOne) {
  MemEnv env;
  std::vector<std::string> names;
  {
    auto store = open_store(env);
    ASSERT_TRUE(store->save(make_snapshot(10, "older")).is_ok());
    ASSERT_TRUE(store->save(make_snapshot(20, "newer")).is_ok());
    names = store->file_names();
  }
  ASSERT_EQ(names.size(), 2u);
  ASSERT_TRUE(env.corrupt_byte(join_path(kDir, names[1]), 30).is_ok());
  {
    auto store = open_store(env);
    ASSERT_TRUE(store->latest());
    expect_same(*store->latest(), make_snapshot(10, "older"));
  }
  ASSERT_TRUE(env.corrupt_byte(join_path(kDir, names[0]), 12).is_ok());
  auto store = SnapshotStore::open(env, kDir, null_logger());
  ASSERT_FALSE(store.is_ok());
  EXPECT_NE(store.status().message().find(names[0]), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find(names[1]), std::string::npos) << store.status().message();
}

TEST(SnapshotStoreTest, EncodingRejectsTruncation) {
  std::string bytes = encode_snapshot(make_snapshot(7, "abc"));
  auto decoded = decode_snapshot(bytes);
  ASSERT_TRUE(decoded.is_ok());
  expect_same(*decoded, make_snapshot(7, "abc"));
  EXPECT_FALSE(decode_snapshot(std::string_view(bytes).substr(0, bytes.size() - 1)).is_ok());
}

}  // namespace
}  // namespace roster::raft
