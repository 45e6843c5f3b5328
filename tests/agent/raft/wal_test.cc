#include "agent/raft/wal.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

#include "tests/agent/raft/storage_test_helpers.h"
#include "tests/fakes/fault_env.h"
#include "tests/fakes/mem_env.h"

namespace roster::raft {
namespace {

using fakes::CrashMode;
using fakes::FaultEnv;
using fakes::MemEnv;
using testing::make_entries;
using testing::make_entry;
using testing::null_logger;

constexpr const char* kDir = "/data/wal";

std::unique_ptr<Wal> open_wal(Env& env, uint64_t segment_bytes = 64 * 1024) {
  auto wal = Wal::open(env, kDir, WalOptions{segment_bytes}, null_logger());
  EXPECT_TRUE(wal.is_ok()) << wal.status().to_string();
  return wal.is_ok() ? std::move(*wal) : nullptr;
}

TEST(WalTest, EntriesAndHardStateSurviveARestart) {
  MemEnv env;
  const HardState state{5, 2, 7};
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal);
    EXPECT_EQ(wal->last_index(), 0u);
    ASSERT_TRUE(wal->append(make_entries(1, 10, 1)).is_ok());
    ASSERT_TRUE(wal->save_hard_state(state).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
  }
  env.crash(CrashMode::drop_unsynced);
  auto wal = open_wal(env);
  ASSERT_TRUE(wal);
  EXPECT_EQ(wal->take_recovered_entries(), make_entries(1, 10, 1));
  EXPECT_EQ(wal->hard_state(), state);
  EXPECT_EQ(wal->last_index(), 10u);
  ASSERT_TRUE(wal->append(make_entries(11, 12, 5)).is_ok());
  ASSERT_TRUE(wal->sync().is_ok());
  wal.reset();
  wal = open_wal(env);
  std::vector<Entry> expected = make_entries(1, 10, 1);
  for (Entry& entry : make_entries(11, 12, 5)) expected.push_back(entry);
  EXPECT_EQ(wal->take_recovered_entries(), expected);
}

TEST(WalTest, ALogDiscardedForASnapshotStaysDiscardedAcrossACrash) {
  MemEnv env;
  {
    auto wal = open_wal(env, 1024);  // small segments: the stale log spans several
    ASSERT_TRUE(wal);
    ASSERT_TRUE(wal->append(make_entries(1, 30, 2)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    // A leader's snapshot at 20 (another term) replaced this log.
    ASSERT_TRUE(wal->discard_entries(20).is_ok());
  }
  env.crash(CrashMode::drop_unsynced);
  {
    auto wal = open_wal(env, 1024);
    ASSERT_TRUE(wal);
    EXPECT_TRUE(wal->take_recovered_entries().empty()) << "the stale entries 1..30 came back";
    EXPECT_EQ(wal->segment_count(), 1u);
    // The log continues after the snapshot (Storage notes it on open).
    wal->note_snapshot(20);
    ASSERT_TRUE(wal->append(make_entries(21, 23, 3)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
  }
  env.crash(CrashMode::drop_unsynced);
  auto wal = open_wal(env, 1024);
  ASSERT_TRUE(wal);
  EXPECT_EQ(wal->take_recovered_entries(), make_entries(21, 23, 3));
}

TEST(WalTest, ReplayAppliesConflictTruncation) {
  MemEnv env;
  {
    auto wal = open_wal(env, 1024);  // small segments: the truncation crosses a segment boundary
    ASSERT_TRUE(wal->append(make_entries(1, 60, 1)).is_ok());
    ASSERT_GT(wal->segment_count(), 1u);
    ASSERT_TRUE(wal->append(make_entries(6, 8, 2)).is_ok());
    EXPECT_EQ(wal->last_index(), 8u);
    ASSERT_TRUE(wal->append(make_entries(8, 9, 3)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
  }
  auto wal = open_wal(env, 1024);
  std::vector<Entry> expected = make_entries(1, 5, 1);
  for (Entry& entry : make_entries(6, 7, 2)) expected.push_back(entry);
  for (Entry& entry : make_entries(8, 9, 3)) expected.push_back(entry);
  EXPECT_EQ(wal->take_recovered_entries(), expected);
  EXPECT_EQ(wal->last_index(), 9u);
}

TEST(WalTest, AppendRejectsGapsUnlessASnapshotCoversThem) {
  MemEnv env;
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 5, 1)).is_ok());
    EXPECT_EQ(wal->append(make_entries(7, 8, 1)).code(), StatusCode::invalid_argument);
    std::vector<Entry> holey{make_entry(6, 1), make_entry(8, 1)};
    EXPECT_EQ(wal->append(holey).code(), StatusCode::invalid_argument);
    wal->note_snapshot(99);
    ASSERT_TRUE(wal->append(make_entries(100, 101, 2)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
  }
  auto wal = open_wal(env);
  EXPECT_EQ(wal->take_recovered_entries(), make_entries(100, 101, 2));
}

TEST(WalTest, SegmentsRollAndCompactionDropsOldOnes) {
  MemEnv env;
  const HardState state{3, 1, 150};
  {
    auto wal = open_wal(env, 1024);
    ASSERT_TRUE(wal->save_hard_state(state).is_ok());  // only in the first segment's records
    for (Index index = 1; index <= 200; index += 10) {
      ASSERT_TRUE(wal->append(make_entries(index, index + 9, 1, 50)).is_ok());
    }
    ASSERT_TRUE(wal->sync().is_ok());
    EXPECT_GT(wal->segment_count(), 5u);
  }
  auto wal = open_wal(env, 1024);
  EXPECT_EQ(wal->take_recovered_entries(), make_entries(1, 200, 1, 50));
  const size_t before = wal->segment_count();
  const std::string first_segment = wal->segment_paths().front();
  ASSERT_TRUE(wal->compact(100).is_ok());
  EXPECT_LT(wal->segment_count(), before);
  EXPECT_FALSE(env.file_exists(first_segment));
  wal.reset();

  env.crash(CrashMode::random);
  wal = open_wal(env, 1024);
  std::vector<Entry> entries = wal->take_recovered_entries();
  ASSERT_FALSE(entries.empty());
  EXPECT_LE(entries.front().index, 101u);  // nothing above the compaction point is gone
  EXPECT_EQ(entries.back().index, 200u);
  for (size_t i = 1; i < entries.size(); ++i) ASSERT_EQ(entries[i].index, entries[i - 1].index + 1);
  EXPECT_EQ(wal->hard_state(), state);  // each segment repeats the hard state
}

TEST(WalTest, NothingIsCompactedAboveTheGivenIndexNorTheSegmentBeingWritten) {
  MemEnv env;
  auto wal = open_wal(env, 1024);
  ASSERT_TRUE(wal->append(make_entries(1, 100, 1, 50)).is_ok());
  ASSERT_TRUE(wal->compact(1000).is_ok());
  EXPECT_EQ(wal->segment_count(), 1u);
  ASSERT_TRUE(wal->sync().is_ok());
  wal.reset();
  wal = open_wal(env, 1024);
  std::vector<Entry> entries = wal->take_recovered_entries();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().index, 100u);
}

// After a crash, the log is a prefix of what was appended that includes
// everything synced, and it stays usable for more appends and crashes.
TEST(WalTest, CrashRecoversAPrefixWithEverythingSynced) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MemEnv env(seed);
    std::mt19937_64 random(seed);
    Index appended = 0, synced = 0;
    Term saved_term = 0, synced_term = 0;
    for (int round = 0; round < 3; ++round) {
      {
        auto wal = open_wal(env, 2048);
        ASSERT_TRUE(wal);
        std::vector<Entry> recovered = wal->take_recovered_entries();
        ASSERT_GE(recovered.size(), synced);
        ASSERT_LE(recovered.size(), appended);
        for (size_t i = 0; i < recovered.size(); ++i) {
          ASSERT_EQ(recovered[i], make_entry(i + 1, 1, 20 + (i + 1) % 40));
        }
        ASSERT_GE(wal->hard_state().current_term, synced_term);
        ASSERT_LE(wal->hard_state().current_term, saved_term);
        appended = synced = recovered.size();
        saved_term = synced_term = wal->hard_state().current_term;

        const int steps = 5 + static_cast<int>(random() % 20);
        for (int step = 0; step < steps; ++step) {
          switch (random() % 4) {
            case 0:
            case 1: {
              std::vector<Entry> batch;
              const size_t count = 1 + random() % 8;
              for (size_t i = 0; i < count; ++i) ++appended, batch.push_back(make_entry(appended, 1, 20 + appended % 40));
              ASSERT_TRUE(wal->append(batch).is_ok());
              break;
            }
            case 2:
              ASSERT_TRUE(wal->save_hard_state(HardState{++saved_term, 1, 0}).is_ok());
              break;
            default:
              ASSERT_TRUE(wal->sync().is_ok());
              synced = appended;
              synced_term = saved_term;
          }
        }
      }
      env.crash(CrashMode::random);
    }
  }
}

TEST(WalTest, TornLastRecordIsCutOffAndLogged) {
  MemEnv env;
  std::string segment;
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 10, 1)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    segment = wal->segment_paths().back();
  }
  // Header 29 bytes, hard state 37, then 40 bytes per entry: entry 10 starts at 426.
  ASSERT_TRUE(env.corrupt_byte(segment, 426 + 20).is_ok());
  std::ostringstream log;
  auto wal = Wal::open(env, kDir, WalOptions{64 * 1024}, testing::capture_logger(log));
  ASSERT_TRUE(wal.is_ok()) << wal.status().to_string();
  EXPECT_EQ((*wal)->take_recovered_entries(), make_entries(1, 9, 1));
  EXPECT_NE(log.str().find(segment), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("offset 426"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("40 bytes dropped"), std::string::npos) << log.str();
  // The cut is durable and new records follow the good ones.
  ASSERT_TRUE((*wal)->append(make_entries(10, 11, 2)).is_ok());
  ASSERT_TRUE((*wal)->sync().is_ok());
  wal = Result<std::unique_ptr<Wal>>(Status::internal("closed"));
  env.crash(CrashMode::drop_unsynced);
  auto reopened = open_wal(env);
  std::vector<Entry> expected = make_entries(1, 9, 1);
  for (Entry& entry : make_entries(10, 11, 2)) expected.push_back(entry);
  EXPECT_EQ(reopened->take_recovered_entries(), expected);
}

TEST(WalTest, CorruptionBeforeTheTailFailsNamingFileAndOffset) {
  MemEnv env;
  std::string segment;
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 10, 1)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    segment = wal->segment_paths().back();
  }
  // Entry 3 starts at 29 + 37 + 2 * 40 = 146; flip a byte of its payload.
  ASSERT_TRUE(env.corrupt_byte(segment, 146 + 25).is_ok());
  auto wal = Wal::open(env, kDir, WalOptions{64 * 1024}, null_logger());
  ASSERT_FALSE(wal.is_ok());
  EXPECT_NE(wal.status().message().find(segment), std::string::npos) << wal.status().message();
  EXPECT_NE(wal.status().message().find("offset 146"), std::string::npos) << wal.status().message();
}

TEST(WalTest, DamagedLengthBeforeValidRecordsIsCorruption) {
  MemEnv env;
  std::string segment;
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 10, 1)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    segment = wal->segment_paths().back();
  }
  ASSERT_TRUE(env.corrupt_byte(segment, 146).is_ok());  // length 40 -> 215: the checksum fails, valid records follow
  auto wal = Wal::open(env, kDir, WalOptions{64 * 1024}, null_logger());
  ASSERT_FALSE(wal.is_ok());
  EXPECT_NE(wal.status().message().find("offset 146"), std::string::npos) << wal.status().message();
}

TEST(WalTest, CorruptionInAnEarlierSegmentFails) {
  MemEnv env;
  std::string first_segment;
  {
    auto wal = open_wal(env, 1024);
    ASSERT_TRUE(wal->append(make_entries(1, 100, 1, 50)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    first_segment = wal->segment_paths().front();
  }
  // The last record of the first segment: nothing follows it in that file.
  std::string bytes = *env.read_file(first_segment);
  const size_t last_byte = bytes.find_last_not_of('\0');
  ASSERT_TRUE(env.corrupt_byte(first_segment, last_byte).is_ok());
  auto wal = Wal::open(env, kDir, WalOptions{1024}, null_logger());
  ASSERT_FALSE(wal.is_ok());
  EXPECT_NE(wal.status().message().find(first_segment), std::string::npos) << wal.status().message();
}

TEST(WalTest, FailedSyncIsReportedAndNothingLaterClaimsDurability) {
  MemEnv mem;
  FaultEnv env(mem);
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 3, 1)).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    ASSERT_TRUE(wal->append(make_entries(4, 6, 1)).is_ok());
    env.fail_sync(1);
    EXPECT_FALSE(wal->sync().is_ok());
    // A retried fdatasync could "succeed" without the lost pages: refused.
    EXPECT_FALSE(wal->sync().is_ok());
    EXPECT_FALSE(wal->append(make_entries(7, 7, 1)).is_ok());
    EXPECT_FALSE(wal->save_hard_state(HardState{2, 0, 0}).is_ok());
  }
  mem.crash(CrashMode::drop_unsynced);
  auto wal = open_wal(env);
  EXPECT_EQ(wal->take_recovered_entries(), make_entries(1, 3, 1));
}

TEST(WalTest, ShortWriteFailsAndRecoveryCutsIt) {
  MemEnv mem;
  FaultEnv env(mem);
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->append(make_entries(1, 3, 1)).is_ok());
    env.short_write(1);
    EXPECT_FALSE(wal->append(make_entries(4, 6, 1)).is_ok());
    EXPECT_FALSE(wal->sync().is_ok());
  }
  // The half-written batch is in the page cache; recovery must cut the torn record.
  auto wal = open_wal(env);
  std::vector<Entry> entries = wal->take_recovered_entries();
  ASSERT_GE(entries.size(), 3u);
  EXPECT_EQ(std::vector<Entry>(entries.begin(), entries.begin() + 3), make_entries(1, 3, 1));
  EXPECT_LT(entries.size(), 6u);
}

TEST(WalTest, HardStateIsDurableAfterSyncOnly) {
  MemEnv env;
  {
    auto wal = open_wal(env);
    ASSERT_TRUE(wal->save_hard_state(HardState{1, 3, 0}).is_ok());
    ASSERT_TRUE(wal->sync().is_ok());
    ASSERT_TRUE(wal->save_hard_state(HardState{2, 4, 0}).is_ok());
  }
  env.crash(CrashMode::drop_unsynced);
  auto wal = open_wal(env);
  EXPECT_EQ(wal->hard_state(), (HardState{1, 3, 0}));
}

TEST(WalTest, WorksOnRealFiles) {
  std::string pattern = (std::filesystem::temp_directory_path() / "roster-wal-XXXXXX").string();
  const std::string dir = ::mkdtemp(pattern.data());
  PosixEnv env;
  {
    auto wal = Wal::open(env, dir + "/wal", WalOptions{4096}, null_logger());
    ASSERT_TRUE(wal.is_ok()) << wal.status().to_string();
    ASSERT_TRUE((*wal)->append(make_entries(1, 200, 1, 30)).is_ok());
    ASSERT_TRUE((*wal)->save_hard_state(HardState{4, 1, 150}).is_ok());
    ASSERT_TRUE((*wal)->sync().is_ok());
    EXPECT_GT((*wal)->segment_count(), 1u);
    EXPECT_EQ(*env.file_size((*wal)->segment_paths().back()), 4096u);  // preallocated
  }
  auto wal = Wal::open(env, dir + "/wal", WalOptions{4096}, null_logger());
  ASSERT_TRUE(wal.is_ok()) << wal.status().to_string();
  EXPECT_EQ((*wal)->take_recovered_entries(), make_entries(1, 200, 1, 30));
  EXPECT_EQ((*wal)->hard_state(), (HardState{4, 1, 150}));
  auto names = *env.list_directory(dir + "/wal");
  EXPECT_EQ(names.front(), "wal-0000000000000001-0000000000000001.log");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace roster::raft
