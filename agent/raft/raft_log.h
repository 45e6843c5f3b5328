#pragma once

// The log as one server holds it in memory (Raft §5.3): a snapshot that
// covers every entry up to snapshot_index(), then the entries after it, of
// which some may be kept from before the snapshot (the trailing window that
// lets a slow follower catch up without a snapshot).
//
// Indexes the paper names:
// - commit_index: the highest entry known to be committed;
// - applied: the highest entry handed to the state machine (lastApplied);
// - stable: the highest entry this server holds durably (the WAL has synced
//   it). Only stable entries count for this server in a leader's commit, and
//   a follower acknowledges only stable entries.
//
// Strand affinity: owned by one RaftCore; not thread-safe.

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "agent/raft/types.h"

namespace roster::raft {

class RaftLog {
 public:
  RaftLog() = default;
  // Starts from a snapshot (meta.last_index 0 for none) and the entries
  // recovered after it. REQUIRES: entries are consecutive and the first
  // follows meta.last_index, or start at or below it (the trailing window).
  RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries);

  Index snapshot_index() const { return snapshot_index_; }
  Term snapshot_term() const { return snapshot_term_; }
  // The first index whose entry is held in memory (may be <= snapshot_index()).
  Index first_index() const { return offset_; }
  Index last_index() const { return offset_ + entries_.size() - 1; }
  Term last_term() const;

  // The term of entry `index`, or nullopt when it is neither held nor the
  // snapshot's last entry (compacted away, or past the end).
  std::optional<Term> term_at(Index index) const;
  bool matches(Index index, Term term) const { return term_at(index) == term; }
  // REQUIRES: first_index() <= index <= last_index().
  const Entry& at(Index index) const { return entries_[index - offset_]; }
  // Entries [from, last_index()], at most max_count of them and about
  // max_bytes (always at least one when any exist).
  // REQUIRES: from >= first_index().
  std::vector<Entry> slice(Index from, size_t max_count, uint64_t max_bytes) const;
  std::vector<Entry> slice(Index from, Index to) const;  // [from, to], both held

  // Raft §5.3's up-to-date test for votes: a log ending in (term, index) is
  // at least as up to date as this one.
  bool is_up_to_date(Index index, Term term) const;

  // Appends one entry at last_index() + 1.
  void append(Entry entry);
  // Appends what a leader sent after `prev` (which must match): entries
  // already held with the same term are skipped, the first conflicting entry
  // and everything after it are cut, and the rest appended. Returns the index
  // of the first entry written (0 when nothing changed): the caller persists
  // from there.
  Index merge(std::span<const Entry> entries);
  // The first index of the term that entry `index` has (for the conflict
  // hint), scanning back no further than first_index().
  Index first_index_of_term(Index index) const;
  // The last index whose entry has `term`, or 0.
  Index last_index_of_term(Term term) const;

  // Forgets entries before `keep_from` after a snapshot at `index`/`term`
  // (REQUIRES: index <= last_index(), keep_from <= index + 1).
  void compact(Index index, Term term, Index keep_from);
  // Replaces the log by a received snapshot: entries after it are kept only
  // when the log holds the snapshot's last entry with the same term.
  // Returns whether they were kept.
  bool restore(const SnapshotMeta& meta);

  Index commit_index() const { return commit_index_; }
  void set_commit_index(Index index) { commit_index_ = index; }
  Index applied() const { return applied_; }
  void set_applied(Index index) { applied_ = index; }
  Index stable() const { return stable_; }
  void set_stable(Index index) { stable_ = index; }

 private:
  Index snapshot_index_ = 0;
  Term snapshot_term_ = 0;
  // entries_[0] is a sentinel-free window: entries_[i] has index offset_ + i.
  Index offset_ = 1;
  std::deque<Entry> entries_;
  Index commit_index_ = 0;
  Index applied_ = 0;
  Index stable_ = 0;
};

}  // namespace roster::raft
