#pragma once

// Group commit: one writer thread that makes many appends durable with one
// fdatasync.
//
// Callers submit batches (entries and/or a hard state). The writer takes
// everything queued, writes it all to the Storage, calls sync() once, and
// then hands each batch's callback, with the common result, to `deliver`
// (typically a post to the Raft strand). Batches that arrive while an fsync
// is in flight wait for the next one, so under load each fsync covers many
// batches. Batches are written in submission order, and callbacks delivered
// in that order.
//
// A callback's Status is ok only if its batch is durable. After any failure
// every later callback gets that failure too (see the error contract in
// wal.h); nothing after a failed write or sync is ever reported durable.
//
// Thread safety: submit(), run() and stats() may be called from any thread.
// The Storage belongs to the writer thread from construction to destruction.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "agent/raft/storage.h"
#include "agent/raft/types.h"
#include "common/env.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

struct GroupCommitBatch {
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;  // written after the entries
};

struct GroupCommitStats {
  uint64_t syncs = 0;            // fsyncs that succeeded
  uint64_t batches = 0;          // batches made durable
  uint64_t entries = 0;          // entries made durable
  uint64_t largest_group = 0;    // most batches covered by one fsync
  std::chrono::nanoseconds sync_p50{0};  // over the last kLatencySamples fsyncs
  std::chrono::nanoseconds sync_p99{0};
  std::chrono::nanoseconds sync_max{0};

  double entries_per_sync() const { return syncs == 0 ? 0.0 : static_cast<double>(entries) / static_cast<double>(syncs); }
  double batches_per_sync() const { return syncs == 0 ? 0.0 : static_cast<double>(batches) / static_cast<double>(syncs); }
};

class GroupCommit {
 public:
  using Callback = std::function<void(Status)>;
  // Runs `work` wherever the owner wants callbacks to run. Called on the
  // writer thread; must not block for long.
  using Deliver = std::function<void(std::function<void()> work)>;

  static constexpr size_t kLatencySamples = 4096;

  // Starts the writer thread. `storage` and `env` (for timing fsyncs) must
  // outlive this object. REQUIRES: logger != nullptr.
  GroupCommit(Storage& storage, Env& env, Deliver deliver, std::shared_ptr<spdlog::logger> logger);
  // Writes and syncs whatever was submitted, delivers its callbacks, then
  // stops the writer thread.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  void submit(GroupCommitBatch batch, Callback done);
  // Runs `task` on the writer thread between groups (after everything
  // submitted before it is durable), e.g. Storage::save_snapshot.
  void run(std::function<Status(Storage&)> task, Callback done);

  GroupCommitStats stats() const;

 private:
  struct Item {
    GroupCommitBatch batch;
    std::function<Status(Storage&)> task;  // set for run()
    Callback done;
  };

  void writer_loop();
  void write_group(std::vector<Item>& items, size_t begin, size_t end);

  Storage& storage_;
  Env& env_;
  Deliver deliver_;
  std::shared_ptr<spdlog::logger> logger_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  GroupCommitStats stats_;
  std::vector<std::chrono::nanoseconds> latencies_;  // ring of the last kLatencySamples
  size_t next_latency_ = 0;

  Status failure_;  // writer thread only
  std::thread writer_;
};

}  // namespace roster::raft
