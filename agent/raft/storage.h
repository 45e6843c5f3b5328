#pragma once

// Raft's durable storage: the WAL (entries, hard state) and the snapshots,
// under one data directory (`<dir>/wal`, `<dir>/snapshots`).
//
// open() recovers what the Raft core starts from: the hard state, the newest
// snapshot and the entries after it. save_snapshot() stores a snapshot and
// then compacts the WAL, keeping `trailing_entries` entries below the snapshot
// so a follower slightly behind can catch up from the log instead of a
// snapshot transfer.
//
// Durability: append() and save_hard_state() are durable once sync() returns
// ok; save_snapshot() is durable when it returns ok. After a write or sync
// failure every later write fails (see wal.h); reopen to recover.
//
// Thread affinity: none; the owner serialises all calls. While a GroupCommit
// runs on a Storage, it owns it: use GroupCommit::run() for anything else.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/raft/snapshot_store.h"
#include "agent/raft/types.h"
#include "agent/raft/wal.h"
#include "common/env.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

struct StorageOptions {
  WalOptions wal;
  // Entries kept in the WAL below the latest snapshot's last index.
  uint64_t trailing_entries = 10240;
};

struct RecoveredState {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  // Contiguous, starting right after the snapshot (or at index 1 without one).
  std::vector<Entry> entries;
};

class Storage {
 public:
  // Fails, with a message naming the files, if the WAL is corrupt before its
  // tail, if no snapshot file is readable, or if the log does not continue
  // the snapshot (entries missing between them). `env` must outlive the
  // Storage. REQUIRES: logger != nullptr.
  static Result<std::unique_ptr<Storage>> open(Env& env, std::string dir, StorageOptions options,
                                               std::shared_ptr<spdlog::logger> logger);

  // What open() recovered. Moved out: later calls return an empty log.
  RecoveredState take_recovered();

  // See Wal::append (REQUIRES there); not durable until sync().
  Status append(std::span<const Entry> entries);
  Status save_hard_state(const HardState& state);
  Status sync();
  // Stores the snapshot durably, then drops WAL segments whose entries are all
  // at or below snapshot.meta.last_index - trailing_entries.
  // REQUIRES: every entry up to snapshot.meta.last_index is committed.
  Status save_snapshot(const Snapshot& snapshot);
  // After save_snapshot() of a snapshot that replaced the log (the leader's
  // snapshot did not continue this server's log): forgets every WAL entry.
  Status discard_log(Index snapshot_index);
  // Makes `snapshot` all this server holds (peers.json recovery, see
  // raft_node.h): stores it durably, then durably forgets every WAL entry and
  // saves `hard_state`. A crash part way leaves either the old state or a
  // state from which the same recovery can run again.
  // REQUIRES: snapshot.meta.last_index is at or above both the latest
  // snapshot's (equal only with the same term: it replaces that one) and
  // last_wal_index(); hard_state.commit_index == snapshot.meta.last_index.
  Status replace_state(const Snapshot& snapshot, const HardState& hard_state);

  // The last entry index written to the WAL (0 if none since the snapshot).
  Index last_wal_index() const { return wal_->last_index(); }
  const std::optional<Snapshot>& latest_snapshot() const { return snapshots_->latest(); }
  size_t wal_segment_count() const { return wal_->segment_count(); }

 private:
  Storage(StorageOptions options, std::unique_ptr<Wal> wal, std::unique_ptr<SnapshotStore> snapshots);

  StorageOptions options_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<SnapshotStore> snapshots_;
  RecoveredState recovered_;
};

}  // namespace roster::raft
