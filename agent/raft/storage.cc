#include "agent/raft/storage.h"

#include <spdlog/logger.h>

namespace roster::raft {

Storage::Storage(StorageOptions options, std::unique_ptr<Wal> wal, std::unique_ptr<SnapshotStore> snapshots)
    : options_(options), wal_(std::move(wal)), snapshots_(std::move(snapshots)) {}

Result<std::unique_ptr<Storage>> Storage::open(Env& env, std::string dir, StorageOptions options,
                                               std::shared_ptr<spdlog::logger> logger) {
  // Snapshots first: the WAL is only ever compacted after a snapshot is
  // durable, so the snapshot tells how much of the log may be missing.
  Result<std::unique_ptr<SnapshotStore>> snapshots = SnapshotStore::open(env, join_path(dir, "snapshots"), logger);
  if (!snapshots.is_ok()) return snapshots.status();
  Result<std::unique_ptr<Wal>> wal = Wal::open(env, join_path(dir, "wal"), options.wal, logger);
  if (!wal.is_ok()) return wal.status();

  RecoveredState recovered;
  recovered.hard_state = (*wal)->hard_state();
  recovered.snapshot = (*snapshots)->latest();
  const Index snapshot_index = recovered.snapshot ? recovered.snapshot->meta.last_index : 0;
  std::vector<Entry> entries = (*wal)->take_recovered_entries();
  for (Entry& entry : entries) {
    if (entry.index > snapshot_index) recovered.entries.push_back(std::move(entry));
  }
  if (!recovered.entries.empty() && recovered.entries.front().index != snapshot_index + 1) {
    return Status::internal("raft storage in " + dir + ": the log starts at index " +
                            std::to_string(recovered.entries.front().index) + " but the snapshot ends at " +
                            std::to_string(snapshot_index) + "; entries in between are lost");
  }
  (*wal)->note_snapshot(snapshot_index);
  std::unique_ptr<Storage> storage(new Storage(options, std::move(*wal), std::move(*snapshots)));
  storage->recovered_ = std::move(recovered);
  return storage;
}

RecoveredState Storage::take_recovered() {
  RecoveredState state = std::move(recovered_);
  recovered_ = RecoveredState{};
  return state;
}

Status Storage::append(std::span<const Entry> entries) { return wal_->append(entries); }

Status Storage::save_hard_state(const HardState& state) { return wal_->save_hard_state(state); }

Status Storage::sync() { return wal_->sync(); }

Status Storage::save_snapshot(const Snapshot& snapshot) {
  if (Status status = snapshots_->save(snapshot); !status.is_ok()) return status;
  const Index last = snapshot.meta.last_index;
  wal_->note_snapshot(last);
  if (last <= options_.trailing_entries) return Status::ok();
  return wal_->compact(last - options_.trailing_entries);
}

Status Storage::discard_log(Index snapshot_index) { return wal_->discard_entries(snapshot_index); }

}  // namespace roster::raft
