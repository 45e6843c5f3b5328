#include "agent/raft/group_commit.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

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

std::unique_ptr<Storage> open_storage(Env& env) {
  auto storage = Storage::open(env, kDir, StorageOptions{WalOptions{64 * 1024}, 10240}, null_logger());
  EXPECT_TRUE(storage.is_ok()) << storage.status().to_string();
  return storage.is_ok() ? std::move(*storage) : nullptr;
}

// Collects callback results, in the order they are delivered.
class Completions {
 public:
  GroupCommit::Callback callback(int id) {
    return [this, id](Status status) {
      std::lock_guard lock(mutex_);
      results_.emplace_back(id, std::move(status));
      changed_.notify_all();
    };
  }
  std::vector<std::pair<int, Status>> wait_for(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return results_.size() >= count; });
    return results_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<int, Status>> results_;
};

// Holds every file sync until released, and tells when one is waiting.
class SyncGate {
 public:
  void install(FaultEnv& env) {
    env.set_sync_hook([this] {
      std::unique_lock lock(mutex_);
      ++waiting_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
    });
  }
  void wait_until_a_sync_is_held() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ > 0; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

GroupCommit::Deliver inline_delivery() {
  return [](std::function<void()> work) { work(); };
}

TEST(GroupCommitTest, AppendsDuringAnFsyncShareTheNextOne) {
  MemEnv mem;
  FaultEnv env(mem);
  auto storage = open_storage(env);
  SyncGate gate;
  gate.install(env);
  Completions completions;
  constexpr int kBatches = 50;
  {
    GroupCommit commit(*storage, env, inline_delivery(), null_logger());
    commit.submit(GroupCommitBatch{make_entries(1, 1, 1), HardState{1, 1, 0}}, completions.callback(0));
    gate.wait_until_a_sync_is_held();
    // While that fsync is in flight, the other batches arrive from many threads.
    std::vector<std::thread> submitters;
    std::mutex order;  // keeps indexes contiguous in submission order
    Index next = 2;
    for (int id = 1; id < kBatches; ++id) {
      submitters.emplace_back([&, id] {
        std::lock_guard lock(order);
        commit.submit(GroupCommitBatch{make_entries(next, next + 1, 1), std::nullopt}, completions.callback(id));
        next += 2;
      });
    }
    for (std::thread& submitter : submitters) submitter.join();
    gate.open();
    auto results = completions.wait_for(kBatches);
    for (const auto& [id, status] : results) EXPECT_TRUE(status.is_ok()) << id << ": " << status.to_string();

    GroupCommitStats stats = commit.stats();
    EXPECT_EQ(stats.batches, static_cast<uint64_t>(kBatches));
    EXPECT_EQ(stats.entries, 1u + 2u * (kBatches - 1));
    EXPECT_EQ(stats.syncs, 2u);  // the first batch alone, then the 49 that queued behind it
    EXPECT_EQ(stats.largest_group, static_cast<uint64_t>(kBatches - 1));
    EXPECT_GT(stats.entries_per_sync(), 40.0);
    EXPECT_GT(stats.sync_p99.count(), 0);
    EXPECT_GE(stats.sync_max, stats.sync_p50);
  }
  storage.reset();
  mem.crash(CrashMode::drop_unsynced);
  auto reopened = open_storage(mem);
  RecoveredState state = reopened->take_recovered();
  EXPECT_EQ(state.entries.size(), 1u + 2u * (kBatches - 1));
  EXPECT_EQ(state.hard_state, (HardState{1, 1, 0}));
}

TEST(GroupCommitTest, CallbacksRunInSubmissionOrderThroughDeliver) {
  MemEnv env;
  auto storage = open_storage(env);
  Completions completions;
  std::atomic<int> delivered{0};
  {
    GroupCommit commit(*storage, env, [&](std::function<void()> work) { ++delivered; work(); }, null_logger());
    for (int id = 0; id < 20; ++id) {
      commit.submit(GroupCommitBatch{make_entries(id + 1, id + 1, 1), std::nullopt}, completions.callback(id));
    }
    auto results = completions.wait_for(20);
    for (int id = 0; id < 20; ++id) EXPECT_EQ(results[static_cast<size_t>(id)].first, id);
  }
  EXPECT_EQ(delivered.load(), 20);
}

TEST(GroupCommitTest, FailedFsyncFailsTheGroupAndEverythingAfter) {
  MemEnv mem;
  FaultEnv env(mem);
  auto storage = open_storage(env);
  Completions completions;
  {
    GroupCommit commit(*storage, env, inline_delivery(), null_logger());
    commit.submit(GroupCommitBatch{make_entries(1, 2, 1), std::nullopt}, completions.callback(0));
    completions.wait_for(1);
    env.fail_sync(1);
    commit.submit(GroupCommitBatch{make_entries(3, 4, 1), std::nullopt}, completions.callback(1));
    completions.wait_for(2);
    commit.submit(GroupCommitBatch{make_entries(5, 6, 1), std::nullopt}, completions.callback(2));
    auto results = completions.wait_for(3);
    EXPECT_TRUE(results[0].second.is_ok());
    EXPECT_FALSE(results[1].second.is_ok());
    EXPECT_FALSE(results[2].second.is_ok());
    EXPECT_EQ(commit.stats().syncs, 1u);
    EXPECT_EQ(commit.stats().entries, 2u);
  }
  storage.reset();
  mem.crash(CrashMode::drop_unsynced);
  auto reopened = open_storage(mem);
  EXPECT_EQ(reopened->take_recovered().entries, make_entries(1, 2, 1));
}

TEST(GroupCommitTest, RunExecutesAfterEarlierBatchesAreDurable) {
  MemEnv env;
  auto storage = open_storage(env);
  Completions completions;
  {
    GroupCommit commit(*storage, env, inline_delivery(), null_logger());
    commit.submit(GroupCommitBatch{make_entries(1, 10, 1), std::nullopt}, completions.callback(0));
    commit.run(
        [](Storage& owned) {
          Snapshot snapshot;
          snapshot.meta.last_index = 10;
          snapshot.meta.last_term = 1;
          snapshot.data = std::make_shared<const std::string>("state");
          return owned.save_snapshot(snapshot);
        },
        completions.callback(1));
    auto results = completions.wait_for(2);
    EXPECT_EQ(results[0].first, 0);
    EXPECT_TRUE(results[1].second.is_ok()) << results[1].second.to_string();
  }
  ASSERT_TRUE(storage->latest_snapshot());
  EXPECT_EQ(storage->latest_snapshot()->meta.last_index, 10u);
}

}  // namespace
}  // namespace roster::raft
