#pragma once

// The Raft write-ahead log: log entries and hard states, appended to
// checksummed records in a directory of segment files.
//
// Files. `wal-<sequence 16 hex>-<first index 16 hex>.log`, where the first
// index is the index the segment's first entry was expected to have. Each
// segment is preallocated to WalOptions::segment_bytes, so the file system
// does not update the file's size on every fdatasync; when the next record
// does not fit, the segment is synced and a new one started. A record may make
// a segment overflow its nominal size only if it is its first entry.
//
// Records. [length u32][type u8][checksum u64][payload], little-endian;
// `length` counts the payload, the checksum is XXH3-64 over type and payload.
// A length of zero (the preallocated zeros) ends a segment. Every segment
// starts with a header record (its sequence number and first index) and the
// hard state current when it was started, so dropping older segments never
// loses the hard state.
//
// Log semantics on replay, as the Raft core appends:
//   - an entry at last_index + 1 extends the log;
//   - an entry at an index <= last_index replaces the log from that index on
//     (a follower's conflict truncation);
//   - an entry past last_index + 1 starts the log afresh at that index: the
//     core appends one only after a snapshot that covers everything before it
//     (see note_snapshot()).
// The last hard-state record wins.
//
// Recovery. A record that fails to parse, followed by nothing valid anywhere
// after it (in its segment or a later one), is a torn tail left by a crash
// during a write that was never synced: open() cuts it off, zeroes the rest of
// the segment, logs the file, offset and bytes dropped, and recovers every
// record before it. A bad record followed by any valid record is corruption of
// data that was synced: open() fails with an error naming the file and the
// offset, and never drops entries silently.
//
// Errors. A failed write or sync leaves the files in an unknown state, and a
// retried fdatasync may "succeed" without the lost pages, so after the first
// failure every later append/save_hard_state/sync/compact returns that
// failure. The owner recovers by reopening the log (in practice, restarting).
//
// Thread affinity: none; the owner serialises all calls (the Raft strand, or
// GroupCommit's writer thread).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/raft/types.h"
#include "common/env.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

struct WalOptions {
  uint64_t segment_bytes = 64ull << 20;
};

class Wal {
 public:
  // Opens the log in `dir` (created if missing) and replays it; see
  // "Recovery" above. `env` must outlive the Wal. REQUIRES: logger != nullptr.
  static Result<std::unique_ptr<Wal>> open(Env& env, std::string dir, WalOptions options,
                                           std::shared_ptr<spdlog::logger> logger);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // The last hard state saved (zeros for a new log).
  const HardState& hard_state() const { return hard_state_; }
  // The log open() recovered, in index order, contiguous. Moved out: later
  // calls return nothing.
  std::vector<Entry> take_recovered_entries() { return std::move(recovered_entries_); }
  // The index of the last entry appended or recovered, 0 if none.
  Index last_index() const { return last_index_; }

  // Writes the entries after the log's last records; see "Log semantics". Not
  // durable until sync() returns ok.
  // REQUIRES: entries are contiguous (each index one more than the previous),
  // indexes >= 1, and the first index is <= last_index() + 1 or equals the
  // last note_snapshot() + 1. Otherwise invalid_argument and nothing written.
  Status append(std::span<const Entry> entries);
  // Not durable until sync() returns ok.
  Status save_hard_state(const HardState& state);
  // One fdatasync of the current segment: every earlier append and
  // save_hard_state is durable when it returns ok (older segments were synced
  // when they were finished).
  Status sync();
  // A durable snapshot covers every entry up to `last_index`: the next append
  // may start the log afresh at last_index + 1.
  void note_snapshot(Index last_index) { snapshot_index_ = last_index; }
  // A snapshot received from the leader replaced the whole log: durably
  // forgets every entry (a discard record in a new segment, synced; the
  // older segments removed). Entries appended next start at
  // snapshot_index + 1. Without this, a crash would bring back entries the
  // snapshot replaced.
  Status discard_entries(Index snapshot_index);
  // Removes the oldest segments whose entries all have indexes <= up_to. The
  // segment being written is never removed. REQUIRES: a durable snapshot
  // covers up_to.
  Status compact(Index up_to);

  // For tests and metrics.
  size_t segment_count() const { return segments_.size(); }
  std::vector<std::string> segment_paths() const;

 private:
  struct Segment {
    uint64_t sequence = 0;
    Index first_index = 0;
    Index max_entry_index = 0;  // 0: holds no entries
    std::string path;
  };

  Wal(Env& env, std::string dir, WalOptions options, std::shared_ptr<spdlog::logger> logger);
  Status replay();
  Status open_tail(uint64_t valid_end);
  Status start_segment();
  Status write_records(const std::string& records);
  Status fail(Status status);

  Env& env_;
  std::string dir_;
  WalOptions options_;
  std::shared_ptr<spdlog::logger> logger_;

  std::vector<Segment> segments_;  // oldest first; the last is being written
  std::unique_ptr<WritableFile> tail_;
  HardState hard_state_;
  std::vector<Entry> recovered_entries_;
  Index last_index_ = 0;
  Index snapshot_index_ = 0;
  Status failure_;  // the first write or sync failure; sticky
};

}  // namespace roster::raft
