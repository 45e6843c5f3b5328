#pragma once

// Durable Raft snapshots: one file per snapshot, written atomically.
//
// Files. `snapshot-<last index 16 hex>-<last term 16 hex>.snap`:
//   "RSNAP001", last_index u64, last_term u64, server count u32,
//   per server (id u64, voter u8, address length u32, address),
//   data length u64, data, then XXH3-64 of everything before it.
// Each is written with write_file_atomically (temp file, fsync, rename, fsync
// of the directory), so a crash leaves either the old snapshots or the new one
// complete, never a partial file under a snapshot name.
//
// Retention. The newest two valid snapshots are kept, so a newest file that
// turns out unreadable (bit rot) can fall back to the one before it; the WAL
// keeps enough trailing entries for that (StorageOptions::trailing_entries).
//
// Thread affinity: none; the owner serialises all calls.

#include <memory>
#include <optional>
#include <string>

#include "agent/raft/types.h"
#include "common/env.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

class SnapshotStore {
 public:
  // Opens `dir` (created if missing), removes temp files a crash left and
  // loads the newest valid snapshot. A corrupt newest snapshot is logged and
  // the previous one used; if no snapshot file is valid, an error naming the
  // files. `env` must outlive the store. REQUIRES: logger != nullptr.
  static Result<std::unique_ptr<SnapshotStore>> open(Env& env, std::string dir,
                                                     std::shared_ptr<spdlog::logger> logger);

  // The newest valid snapshot, if any (updated by save()).
  const std::optional<Snapshot>& latest() const { return latest_; }

  // Durable when it returns ok; then removes all but this and the previous
  // snapshot. REQUIRES: snapshot.data != nullptr, and snapshot.meta.last_index
  // is above latest()'s.
  Status save(const Snapshot& snapshot);
  // Rewrites the newest snapshot, atomically, with other contents (peers.json
  // recovery gives it a new configuration); the snapshot before it stays the
  // fallback. REQUIRES: snapshot.data != nullptr, and latest() has the same
  // last_index and last_term.
  Status replace_latest(const Snapshot& snapshot);

  // For tests: the snapshot files in the directory, oldest first.
  std::vector<std::string> file_names() const;

 private:
  SnapshotStore(Env& env, std::string dir, std::shared_ptr<spdlog::logger> logger);
  Status load();
  // Writes `snapshot`, makes it latest(), and removes every snapshot file
  // other than it and `keep`.
  Status write(const Snapshot& snapshot, const std::string& keep);

  Env& env_;
  std::string dir_;
  std::shared_ptr<spdlog::logger> logger_;
  std::optional<Snapshot> latest_;
};

// The file format above; exposed for tests.
std::string encode_snapshot(const Snapshot& snapshot);
Result<Snapshot> decode_snapshot(std::string_view bytes);

}  // namespace roster::raft
