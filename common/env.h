#pragma once

// Env: the file operations that durable storage needs, behind an interface
// (LevelDB's Env), so tests can run storage on an in-memory disk that loses
// unsynced data on a simulated crash (tests/fakes/mem_env.h) or fails the N-th
// write or fsync (tests/fakes/fault_env.h).
//
// Durability contract, which every implementation follows and storage relies on:
//   - Bytes written to a WritableFile are durable only after its sync() returns ok.
//   - A created, renamed or removed name is durable only after sync_directory()
//     of the directory that holds it returns ok.
//   - After a failed write() or sync() the file's durable contents are unknown:
//     the caller must not retry and claim durability (fsync errors are not
//     sticky in Linux; a second sync can succeed without the lost pages).
//
// Paths are plain strings joined with '/'. Every operation returns a Status or
// Result naming the path and the system error; none throws.
//
// Thread safety: an Env may be used from several threads at once. A
// WritableFile has one owner at a time.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace roster {

// A file opened for writing at a position (pwrite-style), so a preallocated
// file can be filled from its start. Closed by its destructor if close() was
// not called.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Writes `data` at position() and advances it. Not durable until sync().
  // A failure may have written part of `data`.
  virtual Status write(std::string_view data) = 0;
  // fdatasync: every write before it, and the file's size, are durable.
  virtual Status sync() = 0;
  // Sets the file's size; bytes past `size` are gone, and the position moves
  // back to `size` if it was beyond. Not durable until sync().
  virtual Status truncate(uint64_t size) = 0;
  // Reserves disk space so the file is at least `size` bytes long; the new
  // bytes read as zeros. Does not move the position. Falls back to extending
  // the file without reserving blocks where the file system cannot reserve.
  virtual Status preallocate(uint64_t size) = 0;
  virtual uint64_t position() const = 0;
  virtual void seek(uint64_t position) = 0;
  virtual Status close() = 0;
};

enum class OpenMode {
  keep,      // create if missing, keep existing contents; position at the end
  truncate,  // create if missing, empty it; position 0
};

class Env {
 public:
  virtual ~Env() = default;

  virtual Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path, OpenMode mode) = 0;
  // not_found if the file does not exist.
  virtual Result<std::string> read_file(const std::string& path) = 0;
  // Up to `length` bytes from `offset`; shorter at the end of the file.
  virtual Result<std::string> read_range(const std::string& path, uint64_t offset, uint64_t length) = 0;
  virtual Result<uint64_t> file_size(const std::string& path) = 0;
  virtual bool file_exists(const std::string& path) = 0;
  // Replaces `to` if it exists (rename(2)). Durable after sync_directory().
  virtual Status rename_file(const std::string& from, const std::string& to) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  // The names (not paths) of the files in `dir`, sorted.
  virtual Result<std::vector<std::string>> list_directory(const std::string& dir) = 0;
  // Creates `dir` and its missing parents; ok if it exists.
  virtual Status create_directory(const std::string& dir) = 0;
  // fsync of the directory: makes the names created, renamed or removed in it durable.
  virtual Status sync_directory(const std::string& dir) = 0;
  // Monotonic time, for measuring fsync latency.
  virtual std::chrono::steady_clock::time_point now() = 0;
};

// The real file system.
class PosixEnv final : public Env {
 public:
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
};

// "a/b/c" -> "a/b"; "c" -> ".".
std::string parent_directory(const std::string& path);
// "a" + "b" -> "a/b".
std::string join_path(const std::string& dir, const std::string& name);

// Replaces `path` with `bytes` so that a crash leaves either the old file or
// the new one, never a mix: writes `path`.tmp, fsyncs it, renames it over
// `path` and fsyncs the directory. On failure the temporary file is removed
// (best effort) and `path` is untouched.
Status write_file_atomically(Env& env, const std::string& path, std::string_view bytes);

}  // namespace roster
