#include "common/env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/fakes/fault_env.h"
#include "tests/fakes/mem_env.h"

namespace roster {
namespace {

using fakes::CrashMode;
using fakes::FaultEnv;
using fakes::MemEnv;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-env-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(Env& env, const std::string& path, std::string_view bytes, bool sync) {
  auto file = env.open_writable(path, OpenMode::keep);
  ASSERT_TRUE(file.is_ok()) << file.status().to_string();
  ASSERT_TRUE((*file)->write(bytes).is_ok());
  if (sync) {
    ASSERT_TRUE((*file)->sync().is_ok());
  }
}

TEST(PosixEnvTest, RealFilesRoundTrip) {
  TempDir temp;
  PosixEnv env;
  const std::string dir = temp.path() + "/a/b";
  ASSERT_TRUE(env.create_directory(dir).is_ok());
  ASSERT_TRUE(env.create_directory(dir).is_ok());  // exists: still ok

  const std::string path = join_path(dir, "file");
  {
    auto file = env.open_writable(path, OpenMode::truncate);
    ASSERT_TRUE(file.is_ok()) << file.status().to_string();
    ASSERT_TRUE((*file)->preallocate(4096).is_ok());
    EXPECT_EQ((*file)->position(), 0u);
    ASSERT_TRUE((*file)->write("hello ").is_ok());
    ASSERT_TRUE((*file)->write("world").is_ok());
    ASSERT_TRUE((*file)->sync().is_ok());
    ASSERT_TRUE((*file)->close().is_ok());
  }
  EXPECT_EQ(*env.file_size(path), 4096u);
  EXPECT_EQ(*env.read_range(path, 0, 11), "hello world");
  EXPECT_EQ(*env.read_range(path, 11, 4), std::string(4, '\0'));  // preallocated space reads as zeros
  {
    auto file = env.open_writable(path, OpenMode::keep);
    ASSERT_TRUE(file.is_ok());
    EXPECT_EQ((*file)->position(), 4096u);
    ASSERT_TRUE((*file)->truncate(5).is_ok());
    EXPECT_EQ((*file)->position(), 5u);
    ASSERT_TRUE((*file)->sync().is_ok());
  }
  EXPECT_EQ(*env.read_file(path), "hello");

  ASSERT_TRUE(write_file_atomically(env, join_path(dir, "atomic"), "v1").is_ok());
  ASSERT_TRUE(write_file_atomically(env, join_path(dir, "atomic"), "v2").is_ok());
  EXPECT_EQ(*env.read_file(join_path(dir, "atomic")), "v2");
  EXPECT_EQ(*env.list_directory(dir), (std::vector<std::string>{"atomic", "file"}));

  ASSERT_TRUE(env.rename_file(path, join_path(dir, "moved")).is_ok());
  EXPECT_FALSE(env.file_exists(path));
  ASSERT_TRUE(env.remove_file(join_path(dir, "moved")).is_ok());
  ASSERT_TRUE(env.sync_directory(dir).is_ok());
  EXPECT_EQ(env.read_file(path).status().code(), StatusCode::not_found);
  EXPECT_EQ(env.remove_file(path).code(), StatusCode::not_found);
}

TEST(MemEnvTest, CrashKeepsSyncedBytesAndDropsUnsynced) {
  MemEnv env;
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  write_file(env, "/d/f", "durable", true);
  ASSERT_TRUE(env.sync_directory("/d").is_ok());
  write_file(env, "/d/f", " lost", false);
  EXPECT_EQ(*env.read_file("/d/f"), "durable lost");
  env.crash(CrashMode::drop_unsynced);
  EXPECT_EQ(*env.read_file("/d/f"), "durable");
}

TEST(MemEnvTest, CrashKeepsAPrefixOfUnsyncedBytesOrTearsIt) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    MemEnv env(seed);
    ASSERT_TRUE(env.create_directory("/d").is_ok());
    write_file(env, "/d/f", "synced|", true);
    ASSERT_TRUE(env.sync_directory("/d").is_ok());
    const std::string unsynced = "0123456789abcdef0123456789";
    write_file(env, "/d/f", unsynced, false);
    const CrashMode mode = seed % 2 == 0 ? CrashMode::keep_prefix : CrashMode::tear;
    env.crash(mode);
    std::string after = *env.read_file("/d/f");
    ASSERT_TRUE(after.starts_with("synced|")) << "seed " << seed;
    ASSERT_LE(after.size(), 7 + unsynced.size());
    if (mode == CrashMode::keep_prefix) {
      EXPECT_EQ(after.substr(7), unsynced.substr(0, after.size() - 7)) << "seed " << seed;
    }
  }
}

TEST(MemEnvTest, RenameWithoutDirectorySyncMayBeUndone) {
  MemEnv env;
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  write_file(env, "/d/old", "x", true);
  ASSERT_TRUE(env.sync_directory("/d").is_ok());
  ASSERT_TRUE(env.rename_file("/d/old", "/d/new").is_ok());
  env.crash(CrashMode::drop_unsynced);
  EXPECT_TRUE(env.file_exists("/d/old"));
  EXPECT_FALSE(env.file_exists("/d/new"));

  ASSERT_TRUE(env.rename_file("/d/old", "/d/new").is_ok());
  ASSERT_TRUE(env.sync_directory("/d").is_ok());
  env.crash(CrashMode::drop_unsynced);
  EXPECT_EQ(*env.read_file("/d/new"), "x");
}

TEST(MemEnvTest, CreatedFileWithoutDirectorySyncIsLost) {
  MemEnv env;
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  write_file(env, "/d/f", "synced data, unsynced name", true);
  env.crash(CrashMode::drop_unsynced);
  EXPECT_FALSE(env.file_exists("/d/f"));
}

TEST(FaultEnvTest, FailsTheNthSyncAndItIsNotDurable) {
  MemEnv mem;
  FaultEnv env(mem);
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  auto file = env.open_writable("/d/f", OpenMode::truncate);
  ASSERT_TRUE(file.is_ok());
  ASSERT_TRUE(env.sync_directory("/d").is_ok());
  env.fail_sync(2);
  ASSERT_TRUE((*file)->write("a").is_ok());
  EXPECT_TRUE((*file)->sync().is_ok());
  ASSERT_TRUE((*file)->write("b").is_ok());
  EXPECT_FALSE((*file)->sync().is_ok());
  mem.crash(CrashMode::drop_unsynced);
  EXPECT_EQ(*mem.read_file("/d/f"), "a");
}

TEST(FaultEnvTest, ShortWriteWritesHalfAndFails) {
  MemEnv mem;
  FaultEnv env(mem);
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  auto file = env.open_writable("/d/f", OpenMode::truncate);
  ASSERT_TRUE(file.is_ok());
  env.short_write(1);
  EXPECT_FALSE((*file)->write("abcdef").is_ok());
  EXPECT_EQ(*mem.read_file("/d/f"), "abc");
  env.fail_write(1);
  EXPECT_FALSE((*file)->write("x").is_ok());
  EXPECT_TRUE((*file)->write("y").is_ok());  // each fault fires once
}

TEST(WriteFileAtomicallyTest, FailedRenameKeepsTheOldFile) {
  MemEnv mem;
  FaultEnv env(mem);
  ASSERT_TRUE(env.create_directory("/d").is_ok());
  ASSERT_TRUE(write_file_atomically(env, "/d/state", "old").is_ok());
  env.fail_rename(1);
  EXPECT_FALSE(write_file_atomically(env, "/d/state", "new").is_ok());
  EXPECT_EQ(*env.read_file("/d/state"), "old");
  EXPECT_FALSE(env.file_exists("/d/state.tmp"));
  mem.crash(CrashMode::random);
  EXPECT_EQ(*env.read_file("/d/state"), "old");
}

TEST(WriteFileAtomicallyTest, ACrashLeavesTheOldOrTheNewFileWhole) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    MemEnv env(seed);
    ASSERT_TRUE(env.create_directory("/d").is_ok());
    ASSERT_TRUE(write_file_atomically(env, "/d/state", "old").is_ok());
    ASSERT_TRUE(write_file_atomically(env, "/d/state", "new").is_ok());
    env.crash(CrashMode::random);
    EXPECT_EQ(*env.read_file("/d/state"), "new") << "seed " << seed;  // the directory was synced
  }
}

}  // namespace
}  // namespace roster
