#include "agent/raft/storage.h"

#include <gtest/gtest.h>

#include "tests/agent/raft/storage_test_helpers.h"
#include "tests/fakes/fault_env.h"
#include "tests/fakes/mem_env.h"

namespace roster::raft {
namespace {

using fakes::CrashMode;
using fakes::FaultEnv;
using fakes::MemEnv;
using testing::make_entries;
using testing::null_logger;

constexpr const char* kDir = "/data/raft";

std::unique_ptr<Storage> open_storage(Env& env, uint64_t trailing = 20) {
  StorageOptions options;
  options.wal.segment_bytes = 1024;
  options.trailing_entries = trailing;
  auto storage = Storage::open(env, kDir, options, null_logger());
  EXPECT_TRUE(storage.is_ok()) << storage.status().to_string();
  return storage.is_ok() ? std::move(*storage) : nullptr;
}

Snapshot make_snapshot(Index last_index, Term term) {
  Snapshot snapshot;
  snapshot.meta.last_index = last_index;
  snapshot.meta.last_term = term;
  snapshot.meta.configuration.servers = {{1, "127.0.0.2:8300", true}};
  snapshot.data = std::make_shared<const std::string>("state at " + std::to_string(last_index));
  return snapshot;
}

TEST(StorageTest, RecoversSnapshotHardStateAndTheEntriesAfterIt) {
  MemEnv env;
  {
    auto storage = open_storage(env);
    ASSERT_TRUE(storage->append(make_entries(1, 300, 2, 40)).is_ok());
    ASSERT_TRUE(storage->save_hard_state(HardState{2, 1, 280}).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
    const size_t segments = storage->wal_segment_count();
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(250, 2)).is_ok());
    EXPECT_LT(storage->wal_segment_count(), segments);
  }
  env.crash(CrashMode::random);
  {
    auto storage = open_storage(env);
    RecoveredState state = storage->take_recovered();
    ASSERT_TRUE(state.snapshot);
    EXPECT_EQ(state.snapshot->meta, make_snapshot(250, 2).meta);
    EXPECT_EQ(*state.snapshot->data, "state at 250");
    EXPECT_EQ(state.hard_state, (HardState{2, 1, 280}));
    EXPECT_EQ(state.entries, make_entries(251, 300, 2, 40));
  }
  // The trailing window below the snapshot is still in the WAL.
  auto wal = Wal::open(env, std::string(kDir) + "/wal", WalOptions{1024}, null_logger());
  ASSERT_TRUE(wal.is_ok());
  std::vector<Entry> in_wal = (*wal)->take_recovered_entries();
  ASSERT_FALSE(in_wal.empty());
  EXPECT_LE(in_wal.front().index, 231u);
  EXPECT_GT(in_wal.front().index, 1u);
}

TEST(StorageTest, SnapshotPastTheEndOfTheLogRestartsIt) {
  MemEnv env;
  {
    auto storage = open_storage(env);
    ASSERT_TRUE(storage->append(make_entries(1, 5, 1)).is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(100, 3)).is_ok());  // installed from the leader
    ASSERT_TRUE(storage->append(make_entries(101, 102, 3)).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
  }
  auto storage = open_storage(env);
  RecoveredState state = storage->take_recovered();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta.last_index, 100u);
  EXPECT_EQ(state.entries, make_entries(101, 102, 3));
  ASSERT_TRUE(storage->append(make_entries(103, 103, 3)).is_ok());
}

TEST(StorageTest, LogThatDoesNotContinueTheSnapshotIsAnError) {
  MemEnv env;
  {
    auto storage = open_storage(env, /*trailing=*/0);
    ASSERT_TRUE(storage->append(make_entries(1, 300, 1, 40)).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(100, 1)).is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(280, 1)).is_ok());  // compacts past 100
  }
  // The newest snapshot rots; the one before it no longer meets the log.
  auto names = *env.list_directory(std::string(kDir) + "/snapshots");
  ASSERT_EQ(names.size(), 2u);
  ASSERT_TRUE(env.corrupt_byte(std::string(kDir) + "/snapshots/" + names[1], 20).is_ok());
  auto storage = Storage::open(env, kDir, StorageOptions{WalOptions{1024}, 0}, null_logger());
  ASSERT_FALSE(storage.is_ok());
  EXPECT_NE(storage.status().message().find("snapshot ends at 100"), std::string::npos) << storage.status().message();
}

// The snapshot a peers.json recovery writes: the whole state at `last_index`,
// with a configuration of one server.
Snapshot recovered_snapshot(Index last_index, Term term) {
  Snapshot snapshot = make_snapshot(last_index, term);
  snapshot.meta.configuration.servers = {{5, "127.0.0.9:8300", true}};
  snapshot.data = std::make_shared<const std::string>("everything up to " + std::to_string(last_index));
  return snapshot;
}

TEST(StorageTest, ReplaceStateLeavesOnlyTheSnapshotAndTheHardState) {
  MemEnv env;
  {
    auto storage = open_storage(env);
    ASSERT_TRUE(storage->append(make_entries(1, 300, 2, 40)).is_ok());
    ASSERT_TRUE(storage->save_hard_state(HardState{3, 1, 250}).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(200, 2)).is_ok());
    EXPECT_EQ(storage->replace_state(recovered_snapshot(299, 2), HardState{3, 1, 299}).code(),
              StatusCode::invalid_argument)
        << "a snapshot short of the log would lose entries";
    ASSERT_TRUE(storage->replace_state(recovered_snapshot(300, 2), HardState{3, 1, 300}).is_ok());
  }
  env.crash(CrashMode::random);
  {
    auto storage = open_storage(env);
    RecoveredState state = storage->take_recovered();
    ASSERT_TRUE(state.snapshot);
    EXPECT_EQ(state.snapshot->meta, recovered_snapshot(300, 2).meta);
    EXPECT_EQ(*state.snapshot->data, "everything up to 300");
    EXPECT_EQ(state.hard_state, (HardState{3, 1, 300}));
    EXPECT_TRUE(state.entries.empty());
    // The log goes on after the snapshot.
    ASSERT_TRUE(storage->append(make_entries(301, 302, 4)).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
  }
  auto storage = open_storage(env);
  EXPECT_EQ(storage->take_recovered().entries, make_entries(301, 302, 4));
  // No entry from before the recovery is left in the WAL.
  storage.reset();
  auto wal = Wal::open(env, std::string(kDir) + "/wal", WalOptions{1024}, null_logger());
  ASSERT_TRUE(wal.is_ok());
  EXPECT_EQ((*wal)->take_recovered_entries(), make_entries(301, 302, 4));
}

TEST(StorageTest, ReplaceStateAtTheLatestSnapshotRewritesIt) {
  MemEnv env;
  {
    auto storage = open_storage(env);
    ASSERT_TRUE(storage->append(make_entries(1, 100, 2)).is_ok());
    ASSERT_TRUE(storage->sync().is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(50, 2)).is_ok());
    ASSERT_TRUE(storage->save_snapshot(make_snapshot(100, 2)).is_ok());
    EXPECT_EQ(storage->replace_state(recovered_snapshot(100, 3), HardState{3, 0, 100}).code(),
              StatusCode::invalid_argument)
        << "another term at the same index is not the same point in the log";
    ASSERT_TRUE(storage->replace_state(recovered_snapshot(100, 2), HardState{3, 0, 100}).is_ok());
  }
  env.crash(CrashMode::random);
  auto storage = open_storage(env);
  RecoveredState state = storage->take_recovered();
  ASSERT_TRUE(state.snapshot);
  EXPECT_EQ(state.snapshot->meta, recovered_snapshot(100, 2).meta);
  EXPECT_EQ(*state.snapshot->data, "everything up to 100");
  EXPECT_TRUE(state.entries.empty());
  // The snapshot before it is still the fallback.
  EXPECT_EQ(env.list_directory(std::string(kDir) + "/snapshots")->size(), 2u);
}

TEST(StorageTest, ACrashDuringReplaceStateKeepsEitherTheOldStateOrTheNewOne) {
  for (int nth = 1; nth <= 6; ++nth) {
    MemEnv mem(nth);
    FaultEnv env(mem);
    {
      auto storage = open_storage(env);
      ASSERT_TRUE(storage->append(make_entries(1, 120, 2, 40)).is_ok());
      ASSERT_TRUE(storage->save_hard_state(HardState{2, 1, 100}).is_ok());
      ASSERT_TRUE(storage->sync().is_ok());
      env.fail_sync(nth);
      (void)storage->replace_state(recovered_snapshot(120, 2), HardState{2, 1, 120});
    }
    mem.crash(CrashMode::random);
    auto storage = open_storage(mem);
    ASSERT_TRUE(storage) << "sync " << nth;
    RecoveredState state = storage->take_recovered();
    if (state.snapshot) {
      EXPECT_EQ(state.snapshot->meta, recovered_snapshot(120, 2).meta) << "sync " << nth;
      EXPECT_TRUE(state.entries.empty()) << "sync " << nth;
    } else {
      EXPECT_EQ(state.entries, make_entries(1, 120, 2, 40)) << "sync " << nth;
    }
  }
}

}  // namespace
}  // namespace roster::raft
