#pragma once

// An in-memory Env that models the page cache, so tests can crash a disk.
//
// Every file has the bytes a reader sees now and the bytes that are durable
// (on the platter). WritableFile::sync() makes a file's current bytes durable.
// Names are modelled the same way: creating, renaming or removing a file
// changes what list_directory() shows at once, but only sync_directory()
// makes that change durable. crash() then throws away what was not durable,
// the way power loss does, choosing among the outcomes a real disk allows
// with a seeded generator, so a failing seed reproduces.
//
// Directories themselves are always durable (created once, never removed).
//
// Thread safety: all members may be called from any thread. Handles from
// before a crash() still work but write to orphaned files nobody can read.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"

namespace roster::fakes {

enum class CrashMode {
  drop_unsynced,  // every unsynced byte is lost
  keep_prefix,    // a random prefix of each file's unsynced bytes survives
  tear,           // a random prefix survives, its last few bytes garbage (a torn sector)
  random,         // one of the above, chosen per file
};

class MemEnv final : public Env {
 public:
  explicit MemEnv(uint64_t seed = 1);
  ~MemEnv() override;

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path, OpenMode mode) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<std::string> read_range(const std::string& path, uint64_t offset, uint64_t length) override;
  Result<uint64_t> file_size(const std::string& path) override;
  bool file_exists(const std::string& path) override;
  Status rename_file(const std::string& from, const std::string& to) override;
  Status remove_file(const std::string& path) override;
  Result<std::vector<std::string>> list_directory(const std::string& dir) override;
  Status create_directory(const std::string& dir) override;
  Status sync_directory(const std::string& dir) override;
  std::chrono::steady_clock::time_point now() override;

  // Power loss: every file keeps its durable bytes plus whatever part of its
  // unsynced bytes `mode` allows; every directory whose names changed since
  // its last sync_directory() either keeps all of the changes or loses all.
  void crash(CrashMode mode = CrashMode::random);

  // Bit rot: flips the bits of one byte, durably. not_found past the end.
  Status corrupt_byte(const std::string& path, uint64_t offset);

  uint64_t file_syncs() const;

 private:
  struct FileData;
  class File;
  using Names = std::map<std::string, std::shared_ptr<FileData>>;

  void crash_file(FileData& file, CrashMode mode);

  mutable std::mutex mutex_;
  Names names_;          // what readers see now
  Names durable_names_;  // what a crash falls back to
  std::set<std::string> directories_;
  std::mt19937_64 random_;
  uint64_t file_syncs_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace roster::fakes
