#include "agent/raft/raft.h"

#include <algorithm>
#include <span>

namespace roster::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre-candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
  }
  return "unknown";
}

Entry bootstrap_entry(const Configuration& configuration) {
  return Entry{1, 1, EntryType::configuration, encode_configuration(configuration)};
}

namespace {

bool is_heartbeat(const Message& m) {
  return m.type == MessageType::append_entries && m.entries.empty() && m.log_index == 0 && m.log_term == 0;
}

bool is_heartbeat_response(const Message& m) {
  return m.type == MessageType::append_entries_response && m.success && m.match_index == 0 && m.log_index == 0;
}

uint64_t entry_bytes(const Entry& entry) { return entry.data.size() + 24; }

}  // namespace

RaftCore::RaftCore(RaftConfig config, RaftBoot boot)
    : config_(std::move(config)),
      hard_state_(boot.hard_state),
      issued_hard_state_(boot.hard_state),
      log_(boot.snapshot ? boot.snapshot->meta : SnapshotMeta{}, std::move(boot.entries)),
      random_(config_.seed * 0x9e3779b97f4a7c15ULL + config_.id) {
  if (boot.snapshot) {
    configurations_.reset(boot.snapshot->meta.last_index, boot.snapshot->meta.configuration);
    snapshot_ = boot.snapshot;
    last_snapshot_index_ = boot.snapshot->meta.last_index;
  }
  note_configuration_entries(log_.first_index());
  log_.set_commit_index(std::max(log_.snapshot_index(), std::min(hard_state_.commit_index, log_.last_index())));
  reset_election_timer();
}

// ---------------------------------------------------------------- roles

void RaftCore::reset_election_timer() {
  election_elapsed_ = 0;
  randomized_election_ticks_ =
      config_.election_ticks + static_cast<uint32_t>(random_() % std::max<uint32_t>(config_.election_ticks, 1));
}

bool RaftCore::promotable() const { return is_voter(configuration(), config_.id); }

bool RaftCore::in_lease() const {
  return config_.check_quorum && leader_ != kNoServer && election_elapsed_ < config_.election_ticks;
}

void RaftCore::become_follower(Term term, ServerId leader) {
  const bool was_leader = role_ == Role::leader;
  if (term > hard_state_.current_term) {
    hard_state_.current_term = term;
    hard_state_.voted_for = kNoServer;
  }
  if (role_ != Role::follower) role_changed_ = Role::follower;
  role_ = Role::follower;
  if (leader_ != leader) leader_changed_ = leader;
  leader_ = leader;
  reset_election_timer();
  progress_.clear();
  transfer_target_ = kNoServer;
  if (was_leader) {
    for (uint64_t id : reads_.take_all()) failed_reads_.push_back(id);
    for (uint64_t id : reads_waiting_for_commit_) failed_reads_.push_back(id);
    for (const ReadState& read : confirmed_reads_) failed_reads_.push_back(read.request_id);
    reads_waiting_for_commit_.clear();
    confirmed_reads_.clear();
    read_round_open_ = false;
  }
}

void RaftCore::become_pre_candidate() {
  // Thesis §9.6: ask first, at term + 1, without changing any state, so a
  // server that cannot win (a stale log, or a partition that heals) never
  // raises the term and deposes a healthy leader.
  role_changed_ = Role::pre_candidate;
  role_ = Role::pre_candidate;
  if (leader_ != kNoServer) leader_changed_ = kNoServer;
  leader_ = kNoServer;
  votes_.reset();
  votes_.record(config_.id, true);
  ++stats_.pre_votes_started;
  if (votes_.result(configuration()) == VoteResult::won) {
    become_candidate(false);
    return;
  }
  for (const Server& server : configuration().servers) {
    if (!server.voter || server.id == config_.id) continue;
    Message m;
    m.type = MessageType::pre_vote;
    m.to = server.id;
    m.term = hard_state_.current_term + 1;
    m.log_index = log_.last_index();
    m.log_term = log_.last_term();
    send(std::move(m));
  }
}

void RaftCore::become_candidate(bool leadership_transfer) {
  hard_state_.current_term += 1;
  hard_state_.voted_for = config_.id;
  role_changed_ = Role::candidate;
  role_ = Role::candidate;
  if (leader_ != kNoServer) leader_changed_ = kNoServer;
  leader_ = kNoServer;
  reset_election_timer();
  votes_.reset();
  votes_.record(config_.id, true);
  ++stats_.elections_started;
  if (votes_.result(configuration()) == VoteResult::won) {
    become_leader();
    return;
  }
  for (const Server& server : configuration().servers) {
    if (!server.voter || server.id == config_.id) continue;
    Message m;
    m.type = MessageType::request_vote;
    m.to = server.id;
    m.term = hard_state_.current_term;
    m.log_index = log_.last_index();
    m.log_term = log_.last_term();
    m.leadership_transfer = leadership_transfer;
    // Our own vote counts toward this election only once it is durable.
    send_after_persist(std::move(m));
  }
}

void RaftCore::become_leader() {
  role_changed_ = Role::leader;
  role_ = Role::leader;
  leader_changed_ = config_.id;
  leader_ = config_.id;
  transfer_target_ = kNoServer;
  heartbeat_elapsed_ = 0;
  election_elapsed_ = 0;
  progress_.clear();
  sync_progress_with_configuration();
  ++stats_.leader_elected;
  // §8: a new leader commits an entry of its own term before it can know
  // what is committed; reads and membership changes wait for it.
  append_as_leader(EntryType::no_op, {});
}

void RaftCore::sync_progress_with_configuration() {
  if (role_ != Role::leader) return;
  for (const Server& server : configuration().servers) {
    if (server.id == config_.id || progress_.contains(server.id)) continue;
    Progress progress(log_.last_index() + 1, config_.max_inflight_appends, config_.max_inflight_bytes);
    // Inactive until heard from: a leader that hears from no one steps down
    // one election timeout after it was elected.
    progress_.emplace(server.id, progress);
  }
  std::erase_if(progress_, [this](const auto& item) { return find_server(configuration(), item.first) == nullptr; });
}

// ---------------------------------------------------------------- ticks

void RaftCore::tick() {
  if (role_ == Role::leader) tick_heartbeat();
  else tick_election();
}

void RaftCore::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ < randomized_election_ticks_) return;
  reset_election_timer();
  if (!promotable()) return;
  if (config_.pre_vote) become_pre_candidate();
  else become_candidate(false);
}

void RaftCore::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      std::set<ServerId> active{config_.id};
      for (auto& [id, progress] : progress_) {
        if (progress.recently_active) active.insert(id);
        progress.recently_active = false;
      }
      if (!quorum_of(active)) {
        ++stats_.step_downs_check_quorum;
        become_follower(hard_state_.current_term, kNoServer);
        return;
      }
    }
  }
  if (transfer_target_ != kNoServer && ++transfer_elapsed_ >= config_.election_ticks) {
    transfer_target_ = kNoServer;  // the transfer timed out
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    send_heartbeats(read_round_);
  }
}

// ---------------------------------------------------------------- messages

void RaftCore::step(const Message& m) {
  if (m.to != config_.id || m.from == config_.id || m.from == kNoServer) return;
  if (m.term > hard_state_.current_term) {
    const bool vote_request = m.type == MessageType::pre_vote || m.type == MessageType::request_vote;
    if (vote_request && !m.leadership_transfer && in_lease()) {
      // We heard from a leader within the election timeout: this candidate
      // is disruptive (a partitioned or removed server), not needed.
      return;
    }
    if (m.type == MessageType::pre_vote || (m.type == MessageType::pre_vote_response && m.success)) {
      // Pre-votes are asked and granted at term + 1 without taking it.
    } else {
      const bool from_leader = m.type == MessageType::append_entries || m.type == MessageType::install_snapshot ||
                               m.type == MessageType::timeout_now;
      become_follower(m.term, from_leader ? m.from : kNoServer);
    }
  } else if (m.term < hard_state_.current_term) {
    if (m.type == MessageType::append_entries || m.type == MessageType::install_snapshot) {
      // A stale leader (a partition healed): our term tells it to step
      // down. Without this, with pre-vote and check-quorum, it could keep a
      // follower that only it reaches from ever electing anyone.
      Message reply;
      reply.type = m.type == MessageType::append_entries ? MessageType::append_entries_response
                                                         : MessageType::install_snapshot_response;
      reply.to = m.from;
      reply.term = hard_state_.current_term;
      reply.log_index = m.log_index;
      send(std::move(reply));
    } else if (m.type == MessageType::pre_vote) {
      Message reply;
      reply.type = MessageType::pre_vote_response;
      reply.to = m.from;
      reply.term = hard_state_.current_term;
      send(std::move(reply));
    }
    return;
  }

  switch (m.type) {
    case MessageType::pre_vote:
    case MessageType::request_vote: handle_vote_request(m); break;
    case MessageType::pre_vote_response:
    case MessageType::request_vote_response: handle_vote_response(m); break;
    case MessageType::append_entries:
      if (role_ == Role::leader) break;  // two leaders in one term cannot happen; ignore
      if (role_ != Role::follower) become_follower(m.term, m.from);
      handle_append_entries(m);
      break;
    case MessageType::append_entries_response: handle_append_response(m); break;
    case MessageType::install_snapshot:
      if (role_ == Role::leader) break;
      if (role_ != Role::follower) become_follower(m.term, m.from);
      handle_install_snapshot(m);
      break;
    case MessageType::install_snapshot_response: handle_snapshot_response(m); break;
    case MessageType::timeout_now: handle_timeout_now(m); break;
  }
}

void RaftCore::handle_vote_request(const Message& m) {
  const bool pre = m.type == MessageType::pre_vote;
  const bool can_vote = hard_state_.voted_for == m.from ||
                        (hard_state_.voted_for == kNoServer && leader_ == kNoServer) ||
                        (pre && m.term > hard_state_.current_term);
  Message reply;
  reply.type = pre ? MessageType::pre_vote_response : MessageType::request_vote_response;
  reply.to = m.from;
  if (can_vote && log_.is_up_to_date(m.log_index, m.log_term)) {
    reply.term = m.term;
    reply.success = true;
    if (pre) {
      send(std::move(reply));
      return;
    }
    reset_election_timer();
    hard_state_.voted_for = m.from;
    if (config_.bugs.vote_before_durable) send(std::move(reply));
    else send_after_persist(std::move(reply));
    return;
  }
  reply.term = hard_state_.current_term;
  send(std::move(reply));
}

void RaftCore::handle_vote_response(const Message& m) {
  if (m.type == MessageType::pre_vote_response) {
    if (role_ != Role::pre_candidate) return;
    if (m.success && m.term != hard_state_.current_term + 1) return;
  } else if (role_ != Role::candidate) {
    return;
  }
  votes_.record(m.from, m.success);
  switch (votes_.result(configuration())) {
    case VoteResult::won:
      if (role_ == Role::pre_candidate) become_candidate(false);
      else become_leader();
      break;
    case VoteResult::lost: become_follower(hard_state_.current_term, kNoServer); break;
    case VoteResult::pending: break;
  }
}

void RaftCore::heard_from_leader(ServerId leader) {
  if (leader_ != leader) leader_changed_ = leader;
  leader_ = leader;
  election_elapsed_ = 0;
}

void RaftCore::handle_append_entries(const Message& m) {
  heard_from_leader(m.from);

  Message reply;
  reply.type = MessageType::append_entries_response;
  reply.to = m.from;
  reply.term = hard_state_.current_term;
  reply.log_index = m.log_index;

  if (is_heartbeat(m)) {
    // leader_commit is at most what the leader knows we hold and match.
    log_.set_commit_index(std::max(log_.commit_index(), std::min(m.leader_commit, log_.last_index())));
    reply.success = true;
    reply.read_round = m.read_round;
    send_after_persist(std::move(reply));
    return;
  }
  std::span<const Entry> entries(m.entries);
  if (m.log_index < log_.commit_index()) {
    // Everything up to our commit index is committed, so it matches the
    // leader's log (and may be compacted here): keep only what follows it.
    const Index last_in_message = m.log_index + m.entries.size();
    if (last_in_message <= log_.commit_index()) {
      reply.success = true;
      reply.match_index = log_.commit_index();
      send_after_persist(std::move(reply));
      return;
    }
    entries = entries.subspan(log_.commit_index() - m.log_index);
  } else if (!log_.matches(m.log_index, m.log_term)) {
    // Fast backtracking (§5.3, and etcd's hint): name our last index, or the
    // first index of the term that conflicts, so the leader skips a whole
    // term per round trip.
    reply.success = false;
    if (m.log_index > log_.last_index()) {
      reply.conflict_index = log_.last_index() + 1;
    } else {
      reply.conflict_term = log_.term_at(m.log_index).value_or(0);
      reply.conflict_index = log_.first_index_of_term(m.log_index);
    }
    send(std::move(reply));
    return;
  }
  const Index previous_last = log_.last_index();
  const Index first_written = log_.merge(entries);
  if (first_written != 0) {
    if (first_written <= previous_last) configurations_.truncate_from(first_written);
    note_configuration_entries(first_written);
    unpersisted_from_ = unpersisted_from_ == 0 ? first_written : std::min(unpersisted_from_, first_written);
  }
  const Index last_new = m.log_index + m.entries.size();
  log_.set_commit_index(std::max(log_.commit_index(), std::min(m.leader_commit, last_new)));
  reply.success = true;
  reply.match_index = last_new;
  send_after_persist(std::move(reply));
}

void RaftCore::handle_append_response(const Message& m) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recently_active = true;

  if (is_heartbeat_response(m)) {
    progress.probe_sent = false;
    if (m.read_round != 0) {
      reads_.acknowledge(m.from, m.read_round);
      reads_.confirm([this](const std::set<ServerId>& servers) { return quorum_of(servers); }, confirmed_reads_);
    }
    if (progress.state() == ProgressState::replicate && progress.match_index() < log_.last_index()) {
      // In replicate state next_index has moved past every append sent, so
      // appends that were lost (a partition, a dropped frame) would never be
      // sent again, and a full window stops all sending. Ask whether the
      // follower holds the entry before next_index: if not, it refuses with
      // a hint and the leader probes back from there (etcd does the same).
      const Index previous = progress.next_index() - 1;
      if (std::optional<Term> term = log_.term_at(previous)) {
        Message probe;
        probe.type = MessageType::append_entries;
        probe.to = m.from;
        probe.term = hard_state_.current_term;
        probe.log_index = previous;
        probe.log_term = *term;
        probe.leader_commit = log_.commit_index();
        ++stats_.appends_sent;
        send(std::move(probe));
      } else {
        progress.become_probe();  // the next append finds the log compacted and sends the snapshot
      }
    }
    return;
  }
  if (!m.success) {
    if (progress.state() == ProgressState::snapshot) return;
    if (m.log_index < progress.match_index()) return;  // stale
    if (progress.state() == ProgressState::probe && m.log_index + 1 != progress.next_index()) return;  // stale
    Index next = m.conflict_index;
    if (m.conflict_term != 0) {
      const Index last_of_term = log_.last_index_of_term(m.conflict_term);
      if (last_of_term != 0) next = last_of_term + 1;
    }
    next = std::min(next, m.log_index);
    progress.reject(std::max<Index>(next, 1));
    return;
  }
  if (progress.state() == ProgressState::snapshot) {
    // An answer to an append sent before the snapshot started.
    progress.acknowledge(m.match_index);
    return;
  }
  const bool news = progress.acknowledge(m.match_index);
  // A successful probe shows where the logs match even when the follower
  // held nothing new (after a snapshot, or a refused stale append): leave
  // probe state, or the leader sends the same probe again on every ready().
  if (progress.state() == ProgressState::probe && (news || m.match_index == progress.match_index())) {
    progress.become_replicate();
  }
  if (news) maybe_commit();
  if (transfer_target_ == m.from && progress.match_index() == log_.last_index()) {
    Message now;
    now.type = MessageType::timeout_now;
    now.to = m.from;
    now.term = hard_state_.current_term;
    send(std::move(now));
  }
}

void RaftCore::handle_install_snapshot(const Message& m) {
  heard_from_leader(m.from);

  Message reply;
  reply.type = MessageType::install_snapshot_response;
  reply.to = m.from;
  reply.term = hard_state_.current_term;
  reply.snapshot_meta = m.snapshot_meta;

  if (m.snapshot_offset == 0) {
    receiving_meta_ = m.snapshot_meta;
    receiving_.clear();
  } else if (!(receiving_meta_ == m.snapshot_meta) || m.snapshot_offset != receiving_.size()) {
    reply.success = false;
    reply.conflict_index = receiving_meta_ == m.snapshot_meta ? receiving_.size() : 0;
    send(std::move(reply));
    return;
  }
  receiving_ += m.snapshot_chunk;
  reply.success = true;
  reply.conflict_index = receiving_.size();
  if (!m.snapshot_done) {
    send(std::move(reply));
    return;
  }
  reply.snapshot_done = true;
  const SnapshotMeta& meta = m.snapshot_meta;
  if (meta.last_index <= log_.commit_index()) {
    receiving_.clear();
    reply.match_index = log_.commit_index();
    send_after_persist(std::move(reply));
    return;
  }
  const bool kept = log_.restore(meta);
  configurations_.reset(meta.last_index, meta.configuration);
  if (kept) note_configuration_entries(meta.last_index + 1);
  if (!kept || (unpersisted_from_ != 0 && unpersisted_from_ <= meta.last_index)) {
    unpersisted_from_ = kept && unpersisted_from_ != 0 ? meta.last_index + 1 : 0;
    if (unpersisted_from_ > log_.last_index()) unpersisted_from_ = 0;
  }
  Snapshot snapshot{meta, std::make_shared<const std::string>(std::move(receiving_))};
  receiving_.clear();
  snapshot_ = snapshot;
  last_snapshot_index_ = meta.last_index;
  to_restore_ = snapshot;
  snapshot_to_persist_ = snapshot;
  if (!kept) snapshot_replaces_log_ = true;
  ++stats_.snapshots_installed;
  reply.match_index = meta.last_index;
  send_after_persist(std::move(reply));
}

void RaftCore::handle_snapshot_response(const Message& m) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recently_active = true;
  if (progress.state() != ProgressState::snapshot || m.snapshot_meta.last_index != progress.pending_snapshot()) return;
  progress.snapshot_chunk_in_flight = false;
  if (!m.success) {
    progress.snapshot_offset = m.conflict_index;
    return;
  }
  if (m.snapshot_done) {
    progress.acknowledge(m.match_index);
    progress.become_probe();
    maybe_commit();
    return;
  }
  progress.snapshot_offset = std::max(progress.snapshot_offset, m.conflict_index);
}

void RaftCore::handle_timeout_now(const Message& m) {
  (void)m;
  // Thesis §3.10: the leader brought us up to date and stopped taking
  // proposals; campaign at once, skipping pre-vote, and tell the voters it
  // is a transfer so their leases do not make them ignore us.
  if (!promotable()) return;
  ++stats_.transfers;
  become_candidate(true);
}

// ---------------------------------------------------------------- leader

void RaftCore::append_as_leader(EntryType type, std::string data) {
  Entry entry{hard_state_.current_term, log_.last_index() + 1, type, std::move(data)};
  const Index index = entry.index;
  if (type == EntryType::configuration) {
    Result<Configuration> decoded = decode_configuration(entry.data);
    if (decoded.is_ok()) configurations_.add(index, std::move(decoded.value()));
  }
  log_.append(std::move(entry));
  unpersisted_from_ = unpersisted_from_ == 0 ? index : std::min(unpersisted_from_, index);
  sync_progress_with_configuration();
}

Result<Index> RaftCore::propose(std::string command) {
  if (role_ != Role::leader) {
    return Status::unavailable(leader_ == kNoServer ? "no leader" : "not the leader; leader is " + std::to_string(leader_));
  }
  if (transfer_target_ != kNoServer) return Status::unavailable("leadership transfer in progress");
  append_as_leader(EntryType::command, std::move(command));
  return log_.last_index();
}

Result<Index> RaftCore::change_membership(const MembershipChange& change) {
  if (role_ != Role::leader) return Status::unavailable("not the leader");
  if (transfer_target_ != kNoServer) return Status::unavailable("leadership transfer in progress");
  if (log_.term_at(log_.commit_index()) != hard_state_.current_term) {
    // Ongaro, raft-dev 2015: a single-server change is safe only after the
    // leader committed an entry of its own term.
    return Status::unavailable("the leader has not committed an entry of its term yet");
  }
  if (configuration_index() > log_.commit_index()) return Status::unavailable("a membership change is in progress");
  if (change.kind == MembershipChangeKind::promote) {
    const Progress* progress = this->progress(change.server.id);
    if (progress != nullptr && progress->match_index() + config_.catch_up_entries < log_.last_index()) {
      return Status::unavailable("server " + std::to_string(change.server.id) + " has not caught up");
    }
  }
  Result<Configuration> next = apply_change(configuration(), change);
  if (!next.is_ok()) return next.status();
  append_as_leader(EntryType::configuration, encode_configuration(next.value()));
  return log_.last_index();
}

Status RaftCore::read_index(uint64_t request_id) {
  if (role_ != Role::leader) return Status::unavailable("not the leader");
  if (config_.bugs.read_without_heartbeat) {
    confirmed_reads_.push_back(ReadState{request_id, log_.commit_index()});
    return Status::ok();
  }
  if (log_.term_at(log_.commit_index()) != hard_state_.current_term) {
    reads_waiting_for_commit_.push_back(request_id);
    return Status::ok();
  }
  if (!read_round_open_) {
    ++read_round_;
    read_round_open_ = true;
  }
  reads_.add(request_id, log_.commit_index(), read_round_);
  reads_.acknowledge(config_.id, read_round_);
  reads_.confirm([this](const std::set<ServerId>& servers) { return quorum_of(servers); }, confirmed_reads_);
  return Status::ok();
}

Status RaftCore::transfer_leadership(ServerId target) {
  if (role_ != Role::leader) return Status::unavailable("not the leader");
  if (target == config_.id) return Status::invalid_argument("already the leader");
  if (!is_voter(configuration(), target)) {
    return Status::invalid_argument("server " + std::to_string(target) + " is not a voter");
  }
  transfer_target_ = target;
  transfer_elapsed_ = 0;  // the transfer gets one election timeout; CheckQuorum keeps its own clock
  const Progress* progress = this->progress(target);
  if (progress != nullptr && progress->match_index() == log_.last_index()) {
    Message now;
    now.type = MessageType::timeout_now;
    now.to = target;
    now.term = hard_state_.current_term;
    send(std::move(now));
  }
  return Status::ok();
}

Status RaftCore::step_down() {
  if (role_ != Role::leader) return Status::unavailable("not the leader");
  ServerId best = kNoServer;
  Index best_match = 0;
  for (const auto& [id, progress] : progress_) {
    if (!is_voter(configuration(), id)) continue;
    if (best == kNoServer || progress.match_index() > best_match) {
      best = id;
      best_match = progress.match_index();
    }
  }
  if (best == kNoServer) return Status::unavailable("no other voter to hand leadership to");
  return transfer_leadership(best);
}

const Progress* RaftCore::progress(ServerId id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

bool RaftCore::quorum_of(const std::set<ServerId>& servers) const {
  size_t count = 0;
  for (const Server& server : configuration().servers) {
    if (server.voter && servers.contains(server.id)) ++count;
  }
  return count >= quorum_size(configuration());
}

bool RaftCore::maybe_commit() {
  if (role_ != Role::leader) return false;
  std::vector<Index> matches;
  for (const Server& server : configuration().servers) {
    if (!server.voter) continue;
    if (server.id == config_.id) {
      matches.push_back(log_.stable());
    } else {
      const Progress* progress = this->progress(server.id);
      matches.push_back(progress == nullptr ? 0 : progress->match_index());
    }
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const Index candidate = matches[quorum_size(configuration()) - 1];
  if (candidate <= log_.commit_index()) return false;
  // §5.4.2: only entries of the leader's own term are committed by counting
  // replicas; earlier ones commit with them.
  if (log_.term_at(candidate) != hard_state_.current_term && !config_.bugs.commit_earlier_term_by_counting) {
    return false;
  }
  log_.set_commit_index(candidate);
  if (!reads_waiting_for_commit_.empty() && log_.term_at(candidate) == hard_state_.current_term) {
    std::vector<uint64_t> waiting;
    waiting.swap(reads_waiting_for_commit_);
    for (uint64_t id : waiting) (void)read_index(id);
  }
  // A leader that the committed configuration removed steps down (§4.2.2).
  if (configuration_index() <= log_.commit_index() && find_server(configuration(), config_.id) == nullptr) {
    become_follower(hard_state_.current_term, kNoServer);
  }
  return true;
}

void RaftCore::send_append(ServerId to, Progress& progress) {
  const Index next = progress.next_index();
  if (next < log_.first_index() || !log_.term_at(next - 1)) {
    if (!snapshot_) return;  // nothing to send from; cannot happen once compacted
    progress.become_snapshot(snapshot_->meta.last_index);
    ++stats_.snapshots_sent;
    send_snapshot_chunk(to, progress);
    return;
  }
  Message m;
  m.type = MessageType::append_entries;
  m.to = to;
  m.term = hard_state_.current_term;
  m.log_index = next - 1;
  m.log_term = *log_.term_at(next - 1);
  m.leader_commit = log_.commit_index();
  uint64_t bytes = 0;
  if (next <= log_.last_index()) {
    m.entries = log_.slice(next, config_.max_entries_per_append, config_.max_bytes_per_append);
    for (const Entry& entry : m.entries) bytes += entry_bytes(entry);
  }
  progress.sent(m.entries.empty() ? m.log_index : m.entries.back().index, bytes);
  ++stats_.appends_sent;
  stats_.entries_sent += m.entries.size();
  send(std::move(m));
}

void RaftCore::send_snapshot_chunk(ServerId to, Progress& progress) {
  if (!snapshot_) return;
  if (progress.pending_snapshot() != snapshot_->meta.last_index) progress.become_snapshot(snapshot_->meta.last_index);
  const std::string& data = *snapshot_->data;
  const uint64_t offset = std::min<uint64_t>(progress.snapshot_offset, data.size());
  Message m;
  m.type = MessageType::install_snapshot;
  m.to = to;
  m.term = hard_state_.current_term;
  m.snapshot_meta = snapshot_->meta;
  m.snapshot_offset = offset;
  m.snapshot_chunk = data.substr(offset, config_.snapshot_chunk_bytes);
  m.snapshot_done = offset + m.snapshot_chunk.size() == data.size();
  progress.snapshot_chunk_in_flight = true;
  send(std::move(m));
}

void RaftCore::send_heartbeats(uint64_t read_round) {
  for (auto& [id, progress] : progress_) {
    progress.probe_sent = false;  // a lost probe costs one heartbeat interval
    progress.snapshot_chunk_in_flight = false;
    Message m;
    m.type = MessageType::append_entries;
    m.to = id;
    m.term = hard_state_.current_term;
    m.leader_commit = std::min(log_.commit_index(), progress.match_index());
    m.read_round = read_round;
    send(std::move(m));
  }
  if (read_round != 0) reads_.acknowledge(config_.id, read_round);
}

bool RaftCore::has_appends_to_send() const {
  if (role_ != Role::leader) return false;
  for (const auto& [id, progress] : progress_) {
    if (progress.state() == ProgressState::snapshot) {
      if (!progress.snapshot_chunk_in_flight) return true;
    } else if (progress.can_send() &&
               (progress.state() == ProgressState::probe || progress.next_index() <= log_.last_index())) {
      return true;
    }
  }
  return false;
}

void RaftCore::broadcast_appends() {
  if (role_ != Role::leader) return;
  for (auto& [id, progress] : progress_) {
    if (progress.state() == ProgressState::snapshot) {
      if (!progress.snapshot_chunk_in_flight) send_snapshot_chunk(id, progress);
      continue;
    }
    if (progress.state() == ProgressState::probe) {
      if (progress.can_send()) send_append(id, progress);
      continue;
    }
    while (progress.state() == ProgressState::replicate && progress.can_send() &&
           progress.next_index() <= log_.last_index()) {
      send_append(id, progress);
    }
  }
}

void RaftCore::note_configuration_entries(Index from) {
  for (Index index = std::max(from, log_.first_index()); index <= log_.last_index(); ++index) {
    const Entry& entry = log_.at(index);
    if (entry.type != EntryType::configuration) continue;
    Result<Configuration> decoded = decode_configuration(entry.data);
    if (decoded.is_ok()) configurations_.add(index, std::move(decoded.value()));
  }
}

// ---------------------------------------------------------------- storage

void RaftCore::send(Message m) {
  m.from = config_.id;
  outbox_.push_back(std::move(m));
}

bool RaftCore::persistence_pending() const {
  return unpersisted_from_ != 0 || snapshot_to_persist_.has_value() || !(hard_state_ == issued_hard_state_);
}

void RaftCore::send_after_persist(Message m) {
  m.from = config_.id;
  const uint64_t needs = persistence_pending() ? issued_seq_ + 1 : issued_seq_;
  if (needs <= persisted_seq_) {
    outbox_.push_back(std::move(m));
    return;
  }
  held_.push_back({needs, std::move(m)});
}

void RaftCore::persisted(uint64_t seq) {
  seq = std::min(seq, issued_seq_);
  if (seq <= persisted_seq_) return;
  persisted_seq_ = seq;
  Index stable = log_.stable();
  auto it = issued_.begin();
  for (; it != issued_.end() && it->seq <= seq; ++it) {
    if (it->snapshot_reset) stable = it->snapshot_index;
    if (it->first_written != 0) stable = it->last_written;
  }
  issued_.erase(issued_.begin(), it);
  for (const IssuedBatch& batch : issued_) {
    if (batch.first_written != 0) stable = std::min(stable, batch.first_written - 1);
    if (batch.snapshot_reset) stable = std::min(stable, batch.snapshot_index);
  }
  if (unpersisted_from_ != 0) stable = std::min(stable, unpersisted_from_ - 1);
  stable = std::min(stable, log_.last_index());
  log_.set_stable(stable);
  maybe_commit();
}

void RaftCore::snapshot_taken(Snapshot snapshot, uint64_t trailing_entries) {
  const Index index = snapshot.meta.last_index;
  if (index <= log_.snapshot_index() || index > log_.applied()) return;
  const Index keep_from = index + 1 > trailing_entries ? index + 1 - trailing_entries : 1;
  log_.compact(index, snapshot.meta.last_term, keep_from);
  configurations_.compact(index);
  snapshot_ = std::move(snapshot);
  last_snapshot_index_ = index;
}

SnapshotMeta RaftCore::snapshot_meta_at(Index index) const {
  return SnapshotMeta{index, log_.term_at(index).value_or(0), configurations_.at(index)};
}

// ---------------------------------------------------------------- output

bool RaftCore::has_ready() const {
  if (!outbox_.empty() || persistence_pending() || !failed_reads_.empty() || to_restore_ || role_changed_ ||
      leader_changed_ || read_round_open_) {
    return true;
  }
  for (const HeldMessage& held : held_) {
    if (held.needs_seq <= persisted_seq_) return true;
  }
  const Index committed_to = config_.bugs.apply_before_commit ? log_.last_index() : log_.commit_index();
  if (log_.applied() < committed_to) return true;
  for (const ReadState& read : confirmed_reads_) {
    if (read.index <= log_.applied()) return true;
  }
  if (config_.snapshot_threshold != 0 && log_.applied() >= last_snapshot_index_ + config_.snapshot_threshold) return true;
  return has_appends_to_send();
}

Ready RaftCore::ready() {
  Ready ready;
  broadcast_appends();
  if (read_round_open_) {
    read_round_open_ = false;
    send_heartbeats(read_round_);
  }

  if (persistence_pending()) {
    PersistBatch batch;
    batch.seq = ++issued_seq_;
    IssuedBatch issued{batch.seq, 0, 0, false, 0};
    if (snapshot_to_persist_) {
      issued.snapshot_reset = true;
      issued.snapshot_index = snapshot_to_persist_->meta.last_index;
      batch.snapshot = std::move(snapshot_to_persist_);
      batch.snapshot_replaces_log = snapshot_replaces_log_;
      snapshot_to_persist_.reset();
      snapshot_replaces_log_ = false;
    }
    if (unpersisted_from_ != 0) {
      batch.entries = log_.slice(unpersisted_from_, log_.last_index());
      issued.first_written = unpersisted_from_;
      issued.last_written = log_.last_index();
      unpersisted_from_ = 0;
    }
    HardState hard_state = hard_state_;
    hard_state.commit_index = log_.commit_index();
    if (!(hard_state_ == issued_hard_state_) || batch.snapshot || !batch.entries.empty()) {
      batch.hard_state = hard_state;
    }
    issued_hard_state_ = hard_state_;
    issued_.push_back(issued);
    ready.persist = std::move(batch);
  }

  // Messages whose state is durable go out, in the order they were made.
  std::vector<HeldMessage> still_held;
  for (HeldMessage& held : held_) {
    if (held.needs_seq <= persisted_seq_) outbox_.push_back(std::move(held.message));
    else still_held.push_back(std::move(held));
  }
  held_.swap(still_held);
  ready.messages.swap(outbox_);

  if (to_restore_) {
    ready.snapshot = std::move(to_restore_);
    to_restore_.reset();
  }
  const Index committed_to = config_.bugs.apply_before_commit ? log_.last_index() : log_.commit_index();
  if (log_.applied() < committed_to) {
    ready.committed = log_.slice(std::max(log_.applied() + 1, log_.first_index()), committed_to);
    log_.set_applied(committed_to);
  }
  std::vector<ReadState> waiting;
  for (const ReadState& read : confirmed_reads_) {
    if (read.index <= log_.applied()) {
      ready.read_states.push_back(read);
      ++stats_.reads_confirmed;
    } else {
      waiting.push_back(read);
    }
  }
  confirmed_reads_.swap(waiting);
  ready.failed_reads.swap(failed_reads_);
  ready.should_snapshot =
      config_.snapshot_threshold != 0 && log_.applied() >= last_snapshot_index_ + config_.snapshot_threshold;
  ready.role_changed = role_changed_;
  ready.leader_changed = leader_changed_;
  role_changed_.reset();
  leader_changed_.reset();
  return ready;
}

}  // namespace roster::raft
