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

Status Storage::replace_state(const Snapshot& snapshot, const HardState& hard_state) {
  const Index last = snapshot.meta.last_index;
  if (last < wal_->last_index()) {
    return Status::invalid_argument("a snapshot at index " + std::to_string(last) +
                                    " cannot replace a log that reaches " + std::to_string(wal_->last_index()));
  }
  // The snapshot first: until the discard record is durable, the log it
  // covers is still there, and a restart finds the entries all at or below
  // the snapshot, so it starts from the snapshot either way.
  const std::optional<Snapshot>& latest = snapshots_->latest();
  const bool same_point = latest && latest->meta.last_index == last;
  Status saved = same_point ? snapshots_->replace_latest(snapshot) : snapshots_->save(snapshot);
  if (!saved.is_ok()) return saved;
  if (Status status = wal_->discard_entries(last); !status.is_ok()) return status;
  if (Status status = wal_->save_hard_state(hard_state); !status.is_ok()) return status;
  return wal_->sync();
}

}  // namespace roster::raft
