#include "agent/raft/raft_log.h"

#include <algorithm>

namespace roster::raft {

RaftLog::RaftLog(const SnapshotMeta& snapshot, std::vector<Entry> entries)
    : snapshot_index_(snapshot.last_index), snapshot_term_(snapshot.last_term), offset_(snapshot.last_index + 1) {
  // A snapshot can be ahead of the log that was durable when the server
  // stopped (it snapshots what it applied); entries it covers entirely are
  // of no use then.
  if (!entries.empty() && entries.back().index <= snapshot.last_index) entries.clear();
  // A log that holds the snapshot's last index with another term does not
  // continue the snapshot (one received from a leader replaced it): none of
  // its entries, before or after that index, can be trusted.
  for (const Entry& entry : entries) {
    if (entry.index == snapshot.last_index && entry.term != snapshot.last_term && snapshot.last_index != 0) {
      entries.clear();
      break;
    }
  }
  if (!entries.empty() && entries.front().index <= snapshot.last_index + 1) offset_ = entries.front().index;
  for (Entry& entry : entries) entries_.push_back(std::move(entry));
  commit_index_ = snapshot_index_;
  applied_ = snapshot_index_;
  stable_ = last_index();
}

Term RaftLog::last_term() const {
  if (entries_.empty()) return snapshot_term_;
  return entries_.back().term;
}

std::optional<Term> RaftLog::term_at(Index index) const {
  if (index == 0) return Term{0};
  if (index >= offset_ && index <= last_index()) return entries_[index - offset_].term;
  if (index == snapshot_index_) return snapshot_term_;
  return std::nullopt;
}

std::vector<Entry> RaftLog::slice(Index from, size_t max_count, uint64_t max_bytes) const {
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (Index index = from; index <= last_index() && out.size() < max_count; ++index) {
    const Entry& entry = at(index);
    bytes += entry.data.size() + 24;
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(entry);
  }
  return out;
}

std::vector<Entry> RaftLog::slice(Index from, Index to) const {
  std::vector<Entry> out;
  for (Index index = from; index <= to; ++index) out.push_back(at(index));
  return out;
}

bool RaftLog::is_up_to_date(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

void RaftLog::append(Entry entry) { entries_.push_back(std::move(entry)); }

Index RaftLog::merge(std::span<const Entry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    if (entry.index < offset_) continue;  // already covered by the snapshot
    if (entry.index <= last_index()) {
      if (at(entry.index).term == entry.term) continue;
      // A conflict (§5.3): cut this entry and all that follow it.
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(entry.index - offset_), entries_.end());
      stable_ = std::min(stable_, entry.index - 1);
    }
    for (size_t j = i; j < entries.size(); ++j) entries_.push_back(entries[j]);
    return entry.index;
  }
  return 0;
}

Index RaftLog::first_index_of_term(Index index) const {
  std::optional<Term> term = term_at(index);
  if (!term) return index;
  while (index > offset_ && at(index - 1).term == *term) --index;
  return index;
}

Index RaftLog::last_index_of_term(Term term) const {
  for (Index index = last_index(); index >= offset_ && index > 0; --index) {
    Term held = at(index).term;
    if (held == term) return index;
    if (held < term) return 0;
  }
  return snapshot_term_ == term ? snapshot_index_ : 0;
}

void RaftLog::compact(Index index, Term term, Index keep_from) {
  keep_from = std::max(keep_from, offset_);
  while (!entries_.empty() && offset_ < keep_from) {
    entries_.pop_front();
    ++offset_;
  }
  if (entries_.empty()) offset_ = std::max(offset_, index + 1);
  snapshot_index_ = index;
  snapshot_term_ = term;
}

bool RaftLog::restore(const SnapshotMeta& meta) {
  bool keep = matches(meta.last_index, meta.last_term) && meta.last_index <= last_index();
  if (keep) {
    compact(meta.last_index, meta.last_term, meta.last_index + 1);
  } else {
    entries_.clear();
    offset_ = meta.last_index + 1;
    snapshot_index_ = meta.last_index;
    snapshot_term_ = meta.last_term;
    stable_ = std::min(stable_, meta.last_index);
  }
  commit_index_ = std::max(commit_index_, meta.last_index);
  applied_ = std::max(applied_, meta.last_index);
  return keep;
}

}  // namespace roster::raft
