#include "agent/raft/raft_node.h"

#include <spdlog/logger.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <map>
#include <span>
#include <utility>
#include <vector>

namespace roster::raft {

namespace asio = boost::asio;

namespace {

// A ready() loop that never runs dry would starve the strand; past this many
// rounds in one turn the rest waits for the next turn.
constexpr int kMaxReadyRoundsPerTurn = 64;

bool is_empty(const RecoveredState& state) {
  return state.hard_state == HardState{} && !state.snapshot && state.entries.empty();
}

std::map<ServerId, std::string> addresses_of(const Configuration& configuration) {
  std::map<ServerId, std::string> members;
  for (const Server& server : configuration.servers) members[server.id] = server.address;
  return members;
}

}  // namespace

struct RaftNode::Impl : std::enable_shared_from_this<Impl> {
  struct Proposal {
    Term term = 0;
    ProposeCallback done;
  };

  Impl(asio::any_io_executor executor, Env& env, const Clock& clock, StateMachine& state_machine,
       RaftNodeOptions options, std::shared_ptr<spdlog::logger> logger)
      : executor(std::move(executor)),
        env(env),
        clock(clock),
        state_machine(state_machine),
        options(std::move(options)),
        logger(std::move(logger)),
        tick_timer(this->executor) {}

  ~Impl() { shutdown(Status::unavailable("raft node stopped")); }

  Status open();
  Result<Configuration> read_peers_file(const std::string& path);
  Status no_data_to_recover(const std::string& path) const;
  Status recover(const std::string& path, const Configuration& configuration, RecoveredState& recovered);
  void shutdown(const Status& why);

  // Posted work that runs only while the node is alive and running; holds the
  // node for the duration, so a callback may destroy the RaftNode.
  template <typename Work>
  void post(Work work) {
    asio::post(executor, [weak = weak_from_this(), work = std::move(work)]() mutable {
      std::shared_ptr<Impl> self = weak.lock();
      if (self && !self->stopped) work(*self);
    });
  }

  void schedule_drain();
  void drain();
  void handle(Ready& ready);
  void log_role_change(const Ready& ready);
  void submit(PersistBatch batch);
  void on_persisted(uint64_t seq, const Status& status);
  void restore(const Snapshot& snapshot);
  void apply(const std::vector<Entry>& committed);
  void take_snapshot();
  void fail_orphaned_proposals();
  void sync_members();
  void fail_storage(const Status& status);
  void arm_tick();

  void register_proposal(Result<Index> index, ProposeCallback done);
  void finish(ProposeCallback done, Result<Index> result);

  asio::any_io_executor executor;
  Env& env;
  const Clock& clock;
  StateMachine& state_machine;
  RaftNodeOptions options;
  std::shared_ptr<spdlog::logger> logger;

  std::unique_ptr<Storage> storage;
  std::unique_ptr<GroupCommit> group_commit;  // declared after storage: destroyed first
  std::unique_ptr<RaftCore> core;
  std::unique_ptr<Transport> transport;
  asio::steady_timer tick_timer;
  std::chrono::steady_clock::time_point next_tick;

  bool drain_scheduled = false;
  bool stopped = false;
  Status failure;
  Configuration members;  // the configuration the transport was last told
  // Servers known from outside the log (the gossip pool), so a server not yet
  // in any configuration can take the leader's frames, and vice versa.
  std::map<ServerId, std::string> known_peers;
  std::map<ServerId, std::string> told;  // what the transport was last told, in all
  Role last_role = Role::follower;
  GroupCommitStats final_storage_stats;  // kept when the writer stops

  std::map<Index, Proposal> proposals;
  std::map<uint64_t, ReadCallback> reads;
  uint64_t next_read_id = 0;

  uint64_t proposals_committed = 0;
  uint64_t proposals_failed = 0;
  uint64_t entries_applied = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_restored = 0;
};

Status RaftNode::Impl::open() {
  const ServerId id = options.raft.id;
  // Read before the storage opens, so a refused file leaves the disk as it was.
  const std::string peers_path = join_path(options.data_dir, std::string(kPeersFileName));
  std::optional<Configuration> forced;
  if (env.file_exists(peers_path)) {
    Result<Configuration> parsed = read_peers_file(peers_path);
    if (!parsed.is_ok()) return parsed.status();
    forced = std::move(parsed).value();
    // Opening the storage would create it: refuse before that.
    Result<std::vector<std::string>> names = env.list_directory(options.data_dir);
    if (!names.is_ok()) return names.status();
    if (std::none_of(names->begin(), names->end(), [](const std::string& name) { return name != kPeersFileName; })) {
      return no_data_to_recover(peers_path);
    }
  }
  Result<std::unique_ptr<Storage>> opened = Storage::open(env, options.data_dir, options.storage, logger);
  if (!opened.is_ok()) return opened.status();
  storage = std::move(opened.value());
  RecoveredState recovered = storage->take_recovered();
  if (forced) {
    if (Status status = recover(peers_path, *forced, recovered); !status.is_ok()) return status;
  }

  if (is_empty(recovered) && options.bootstrap) {
    // Every server of the new cluster writes the same first entry, already
    // committed, so none of them needs an election to agree on membership.
    const Entry first = bootstrap_entry(*options.bootstrap);
    const HardState hard_state{1, kNoServer, 1};
    Status status = storage->append(std::span<const Entry>(&first, 1));
    if (status.is_ok()) status = storage->save_hard_state(hard_state);
    if (status.is_ok()) status = storage->sync();
    if (!status.is_ok()) return status;
    recovered.hard_state = hard_state;
    recovered.entries.push_back(first);
    logger->info("raft server {}: bootstrapped a new cluster of {} servers in {}", id,
                 options.bootstrap->servers.size(), options.data_dir);
  } else if (is_empty(recovered)) {
    logger->info("raft server {}: no data in {} and no bootstrap configuration; waiting to be added", id,
                 options.data_dir);
  } else {
    logger->info("raft server {}: recovered term {}, {} entries{} from {}", id, recovered.hard_state.current_term,
                 recovered.entries.size(),
                 recovered.snapshot ? " after a snapshot at index " + std::to_string(recovered.snapshot->meta.last_index)
                                    : std::string(),
                 options.data_dir);
  }
  if (recovered.snapshot) {
    state_machine.restore(*recovered.snapshot);
    ++snapshots_restored;
  }

  core = std::make_unique<RaftCore>(
      options.raft, RaftBoot{recovered.hard_state, std::move(recovered.snapshot), std::move(recovered.entries)});

  // The writer thread only posts; the strand does the rest.
  group_commit = std::make_unique<GroupCommit>(
      *storage, env, [executor = executor](std::function<void()> work) { asio::post(executor, std::move(work)); },
      logger);

  TransportOptions transport_options = options.transport;
  transport_options.local_id = id;
  transport = std::make_unique<Transport>(executor, clock, logger, transport_options,
                                          [weak = weak_from_this()](Message message) {
                                            std::shared_ptr<Impl> self = weak.lock();
                                            if (!self || self->stopped) return;
                                            self->core->step(message);
                                            self->schedule_drain();
                                          });
  if (Status status = transport->start(); !status.is_ok()) return status;
  sync_members();

  next_tick = std::chrono::steady_clock::now();
  arm_tick();
  schedule_drain();  // entries recovered as committed are applied at once
  return Status::ok();
}

Result<Configuration> RaftNode::Impl::read_peers_file(const std::string& path) {
  Result<std::string> text = env.read_file(path);
  if (!text.is_ok()) return Status::invalid_argument("cannot read " + path + ": " + text.status().message());
  const PeerIdParser id_of = options.peer_id_of ? options.peer_id_of : PeerIdParser(parse_server_number);
  Result<Configuration> configuration = parse_peers_file(*text, id_of);
  if (!configuration.is_ok()) {
    return Status::invalid_argument(path + " is refused: " + configuration.status().message() +
                                    "; nothing was changed. Fix the file, or remove it to start without a recovery");
  }
  return configuration;
}

Status RaftNode::Impl::no_data_to_recover(const std::string& path) const {
  return Status::invalid_argument(path + " is refused: this server holds no Raft log or snapshot in " +
                                  options.data_dir +
                                  ", so there is nothing to recover. Remove the file; a server without data joins "
                                  "a cluster without it");
}

Status RaftNode::Impl::recover(const std::string& path, const Configuration& configuration,
                               RecoveredState& recovered) {
  const ServerId id = options.raft.id;
  if (!recovered.snapshot && recovered.entries.empty()) return no_data_to_recover(path);
  // Entries that may not be committed are applied too: the servers that
  // could have committed them may be the ones that are gone, and a write
  // acknowledged to a client must survive the recovery (RecoverCluster does
  // the same).
  if (recovered.snapshot) state_machine.restore(*recovered.snapshot);
  for (const Entry& entry : recovered.entries) state_machine.apply(entry);

  Snapshot snapshot;
  if (recovered.entries.empty()) {
    snapshot.meta.last_index = recovered.snapshot->meta.last_index;
    snapshot.meta.last_term = recovered.snapshot->meta.last_term;
  } else {
    snapshot.meta.last_index = recovered.entries.back().index;
    snapshot.meta.last_term = recovered.entries.back().term;
  }
  snapshot.meta.configuration = configuration;
  snapshot.data = std::make_shared<const std::string>(state_machine.snapshot());
  const Index known_committed =
      std::max(recovered.hard_state.commit_index, recovered.snapshot ? recovered.snapshot->meta.last_index : 0);
  const Index not_known_committed =
      snapshot.meta.last_index - std::min(known_committed, snapshot.meta.last_index);

  HardState hard_state = recovered.hard_state;
  hard_state.current_term = std::max(hard_state.current_term, snapshot.meta.last_term);
  hard_state.commit_index = snapshot.meta.last_index;
  if (Status status = storage->replace_state(snapshot, hard_state); !status.is_ok()) return status;
  // Durably gone before the server runs: a second recovery from the same
  // file after membership changes would undo them.
  Status removed = env.remove_file(path);
  if (removed.is_ok()) removed = env.sync_directory(options.data_dir);
  if (!removed.is_ok()) {
    return Status::internal("recovered the Raft configuration from " + path + ", but cannot remove the file (" +
                            removed.message() + "); remove it by hand before starting this server again");
  }

  std::string listed;
  for (const Server& server : configuration.servers) {
    listed += (listed.empty() ? "" : ", ") + std::to_string(server.id) + " at " + server.address +
              (server.voter ? "" : " (non-voter)");
  }
  logger->info(
      "raft server {}: recovered the Raft configuration from {}: {} servers ({}); kept the state after every entry "
      "up to index {} (term {}{}) as a snapshot, and removed the file",
      id, path, configuration.servers.size(), listed, snapshot.meta.last_index, snapshot.meta.last_term,
      not_known_committed == 0 ? std::string()
                               : ", of which the last " + std::to_string(not_known_committed) +
                                     " were not known to be committed");
  if (!is_voter(configuration, id)) {
    logger->warn("raft server {}: the recovered configuration does not list this server as a voter; it will not "
                 "stand for election",
                 id);
  }
  recovered = RecoveredState{hard_state, std::move(snapshot), {}};
  return Status::ok();
}

void RaftNode::Impl::shutdown(const Status& why) {
  if (stopped) return;
  stopped = true;
  tick_timer.cancel();
  if (transport) transport->stop();
  // Waits for the writer; what it delivers now finds the node stopped.
  if (group_commit) final_storage_stats = group_commit->stats();
  group_commit.reset();
  for (auto& [index, proposal] : proposals) {
    Status status = failure.is_ok() ? Status::unavailable(why.message() + "; the outcome of the entry at index " +
                                                          std::to_string(index) + " is unknown")
                                    : failure;
    asio::post(executor, [done = std::move(proposal.done), status = std::move(status)] { done(status); });
  }
  proposals_failed += proposals.size();
  proposals.clear();
  for (auto& [id, done] : reads) asio::post(executor, [done = std::move(done), why] { done(why); });
  reads.clear();
}

void RaftNode::Impl::arm_tick() {
  // Deadlines advance by the interval from the previous one, so a slow turn
  // does not stretch every later election timeout.
  next_tick += options.tick_interval;
  const auto now = std::chrono::steady_clock::now();
  if (next_tick < now) next_tick = now;
  tick_timer.expires_at(next_tick);
  tick_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
    if (error) return;
    std::shared_ptr<Impl> self = weak.lock();
    if (!self || self->stopped) return;
    self->core->tick();
    self->schedule_drain();
    self->arm_tick();
  });
}

void RaftNode::Impl::schedule_drain() {
  if (drain_scheduled || stopped) return;
  drain_scheduled = true;
  post([](Impl& self) { self.drain(); });
}

void RaftNode::Impl::drain() {
  drain_scheduled = false;
  std::shared_ptr<Impl> keep = shared_from_this();  // a callback may drop the RaftNode
  for (int round = 0; round < kMaxReadyRoundsPerTurn; ++round) {
    if (stopped || !core->has_ready()) return;
    Ready ready = core->ready();
    handle(ready);
  }
  schedule_drain();
}

void RaftNode::Impl::handle(Ready& ready) {
  log_role_change(ready);
  for (Message& message : ready.messages) transport->send(std::move(message));
  if (ready.persist) submit(std::move(*ready.persist));
  if (ready.snapshot) restore(*ready.snapshot);
  apply(ready.committed);
  if (stopped) return;  // a callback stopped the node, or storage failed
  for (const ReadState& read : ready.read_states) {
    auto it = reads.find(read.request_id);
    if (it == reads.end()) continue;
    ReadCallback done = std::move(it->second);
    reads.erase(it);
    done(Status::ok());
    if (stopped) return;
  }
  for (uint64_t id : ready.failed_reads) {
    auto it = reads.find(id);
    if (it == reads.end()) continue;
    ReadCallback done = std::move(it->second);
    reads.erase(it);
    done(Status::unavailable("leadership lost before the read was confirmed"));
    if (stopped) return;
  }
  if (ready.should_snapshot) take_snapshot();
  if (core->role() != Role::leader && !proposals.empty()) fail_orphaned_proposals();
  if (!stopped) sync_members();
}

void RaftNode::Impl::log_role_change(const Ready& ready) {
  const ServerId id = core->id();
  if (ready.role_changed) {
    const Role previous = std::exchange(last_role, *ready.role_changed);
    if (previous == Role::leader) {
      logger->info("raft server {}: stepped down as leader in term {}", id, core->current_term());
    }
    switch (*ready.role_changed) {
      case Role::leader:
        logger->info("raft server {}: elected leader for term {}", id, core->current_term());
        break;
      case Role::follower:
        logger->info("raft server {}: follower in term {}", id, core->current_term());
        break;
      case Role::pre_candidate:
        logger->info("raft server {}: no leader heard; asking for pre-votes in term {}", id, core->current_term());
        break;
      case Role::candidate:
        logger->info("raft server {}: started an election for term {}", id, core->current_term());
        break;
    }
  }
  if (ready.leader_changed) {
    if (*ready.leader_changed == kNoServer) {
      logger->info("raft server {}: no known leader in term {}", id, core->current_term());
    } else if (*ready.leader_changed != id) {
      logger->info("raft server {}: following leader {} in term {}", id, *ready.leader_changed, core->current_term());
    }
  }
}

void RaftNode::Impl::submit(PersistBatch batch) {
  if (batch.snapshot) {
    // Before the entries: they continue the log after the snapshot.
    group_commit->run(
        [snapshot = std::move(*batch.snapshot), replaces_log = batch.snapshot_replaces_log](Storage& storage) {
          Status status = storage.save_snapshot(snapshot);
          if (status.is_ok() && replaces_log) status = storage.discard_log(snapshot.meta.last_index);
          return status;
        },
        [weak = weak_from_this()](Status status) {
          std::shared_ptr<Impl> self = weak.lock();
          if (self && !self->stopped && !status.is_ok()) self->fail_storage(status);
        });
  }
  GroupCommitBatch write{std::move(batch.entries), batch.hard_state};
  group_commit->submit(std::move(write), [weak = weak_from_this(), seq = batch.seq](Status status) {
    std::shared_ptr<Impl> self = weak.lock();
    if (self && !self->stopped) self->on_persisted(seq, status);
  });
}

void RaftNode::Impl::on_persisted(uint64_t seq, const Status& status) {
  if (!status.is_ok()) {
    fail_storage(status);
    return;
  }
  core->persisted(seq);
  schedule_drain();
}

void RaftNode::Impl::fail_storage(const Status& status) {
  logger->critical("raft server {}: storage failed, stopping this server: {}", core->id(), status.to_string());
  failure = status;
  shutdown(status);
}

void RaftNode::Impl::restore(const Snapshot& snapshot) {
  state_machine.restore(snapshot);
  ++snapshots_restored;
  const Index last = snapshot.meta.last_index;
  logger->info("raft server {}: restored a snapshot up to index {} (term {})", core->id(), last,
               snapshot.meta.last_term);
  // Proposals the snapshot covers were never applied here, so whether they
  // made it is unknown.
  while (!proposals.empty() && proposals.begin()->first <= last) {
    auto node = proposals.extract(proposals.begin());
    finish(std::move(node.mapped().done),
           Status::unavailable("a snapshot covered the entry at index " + std::to_string(node.key()) +
                               " before it was applied here; its outcome is unknown"));
  }
}

void RaftNode::Impl::apply(const std::vector<Entry>& committed) {
  for (const Entry& entry : committed) {
    state_machine.apply(entry);
    ++entries_applied;
    while (!proposals.empty() && proposals.begin()->first <= entry.index) {
      auto node = proposals.extract(proposals.begin());
      if (node.key() == entry.index && node.mapped().term == entry.term) {
        ++proposals_committed;
        node.mapped().done(entry.index);
      } else {
        ++proposals_failed;
        node.mapped().done(Status::conflict("the entry at index " + std::to_string(node.key()) +
                                            " was overwritten by one of term " + std::to_string(entry.term)));
      }
      if (stopped) return;
    }
  }
}

void RaftNode::Impl::fail_orphaned_proposals() {
  // A deposed leader's entry that has left its log may still be held, and
  // committed, by another server: report it unknown, not lost.
  const RaftLog& log = core->log();
  for (auto it = proposals.begin(); it != proposals.end();) {
    const Index index = it->first;
    if (index >= log.first_index() && log.term_at(index) == it->second.term) {
      ++it;
      continue;
    }
    ProposeCallback done = std::move(it->second.done);
    it = proposals.erase(it);
    finish(std::move(done), Status::unavailable("leadership lost and the entry at index " + std::to_string(index) +
                                                " left this server's log; its outcome is unknown"));
    if (stopped) return;
  }
}

void RaftNode::Impl::take_snapshot() {
  const Index applied = core->applied_index();
  Snapshot snapshot{core->snapshot_meta_at(applied), std::make_shared<const std::string>(state_machine.snapshot())};
  core->snapshot_taken(snapshot, options.storage.trailing_entries);
  ++snapshots_taken;
  logger->info("raft server {}: took a snapshot at index {}", core->id(), applied);
  // Queued after every batch already submitted, so the entries it covers are
  // in the WAL before it may be compacted.
  group_commit->run([snapshot = std::move(snapshot)](Storage& storage) { return storage.save_snapshot(snapshot); },
                    [weak = weak_from_this()](Status status) {
                      std::shared_ptr<Impl> self = weak.lock();
                      if (self && !self->stopped && !status.is_ok()) self->fail_storage(status);
                    });
}

void RaftNode::Impl::sync_members() {
  const Configuration& latest = core->configuration();
  std::map<ServerId, std::string> wanted = known_peers;
  // The configuration's addresses win over what gossip says.
  for (const auto& [id, address] : addresses_of(latest)) wanted[id] = address;
  if (wanted == told && latest == members) return;
  if (Status status = transport->set_members(wanted); !status.is_ok()) {
    logger->error("raft server {}: a server address the transport refuses: {}", core->id(), status.to_string());
  }
  if (!(latest == members)) {
    logger->info("raft server {}: configuration now has {} servers", core->id(), latest.servers.size());
  }
  members = latest;
  told = std::move(wanted);
}

void RaftNode::Impl::finish(ProposeCallback done, Result<Index> result) {
  if (result.is_ok()) ++proposals_committed;
  else ++proposals_failed;
  done(std::move(result));
}

void RaftNode::Impl::register_proposal(Result<Index> index, ProposeCallback done) {
  if (!index.is_ok()) {
    ++proposals_failed;
    asio::post(executor, [done = std::move(done), status = index.status()] { done(status); });
    return;
  }
  proposals[index.value()] = Proposal{core->current_term(), std::move(done)};
  schedule_drain();
}

// ---------------------------------------------------------------- RaftNode

RaftNode::RaftNode(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

RaftNode::~RaftNode() { impl_->shutdown(Status::unavailable("raft node stopped")); }

Result<std::unique_ptr<RaftNode>> RaftNode::open(asio::any_io_executor executor, Env& env, const Clock& clock,
                                                 StateMachine& state_machine, RaftNodeOptions options,
                                                 std::shared_ptr<spdlog::logger> logger) {
  if (options.raft.id == kNoServer) return Status::invalid_argument("raft node: no server ID");
  auto impl = std::make_shared<Impl>(std::move(executor), env, clock, state_machine, std::move(options),
                                     std::move(logger));
  if (Status status = impl->open(); !status.is_ok()) return status;
  return std::unique_ptr<RaftNode>(new RaftNode(std::move(impl)));
}

void RaftNode::propose(std::string command, ProposeCallback done) {
  if (impl_->stopped) {
    impl_->register_proposal(impl_->failure.is_ok() ? Status::unavailable("raft node stopped") : impl_->failure,
                             std::move(done));
    return;
  }
  impl_->register_proposal(impl_->core->propose(std::move(command)), std::move(done));
}

void RaftNode::change_membership(const MembershipChange& change, ProposeCallback done) {
  if (impl_->stopped) {
    impl_->register_proposal(Status::unavailable("raft node stopped"), std::move(done));
    return;
  }
  impl_->register_proposal(impl_->core->change_membership(change), std::move(done));
}

void RaftNode::read_index(ReadCallback done) {
  Status status = impl_->stopped ? Status::unavailable("raft node stopped") : Status::ok();
  const uint64_t id = ++impl_->next_read_id;
  if (status.is_ok()) status = impl_->core->read_index(id);
  if (!status.is_ok()) {
    asio::post(impl_->executor, [done = std::move(done), status] { done(status); });
    return;
  }
  impl_->reads[id] = std::move(done);
  impl_->schedule_drain();
}

Status RaftNode::transfer_leadership(ServerId target) {
  if (impl_->stopped) return Status::unavailable("raft node stopped");
  Status status = impl_->core->transfer_leadership(target);
  if (status.is_ok()) {
    impl_->logger->info("raft server {}: handing leadership to {}", impl_->core->id(), target);
    impl_->schedule_drain();
  }
  return status;
}

Status RaftNode::step_down() {
  if (impl_->stopped) return Status::unavailable("raft node stopped");
  Status status = impl_->core->step_down();
  if (status.is_ok()) {
    impl_->logger->info("raft server {}: stepping down, handing leadership to {}", impl_->core->id(),
                        impl_->core->transfer_target());
    impl_->schedule_drain();
  }
  return status;
}

ServerId RaftNode::id() const { return impl_->core->id(); }
Role RaftNode::role() const { return impl_->core->role(); }
Term RaftNode::term() const { return impl_->core->current_term(); }
ServerId RaftNode::leader() const { return impl_->core->leader(); }
Index RaftNode::commit_index() const { return impl_->core->commit_index(); }
Index RaftNode::applied_index() const { return impl_->core->applied_index(); }
const Configuration& RaftNode::configuration() const { return impl_->core->configuration(); }

std::chrono::milliseconds RaftNode::last_contact() const {
  if (impl_->core->role() == Role::leader) return std::chrono::milliseconds(0);
  return impl_->options.tick_interval * impl_->core->election_elapsed();
}

std::optional<Index> RaftNode::match_index(ServerId server) const {
  const Progress* progress = impl_->core->progress(server);
  if (progress == nullptr) return std::nullopt;
  return progress->match_index();
}

void RaftNode::set_known_peers(std::map<ServerId, std::string> peers) {
  impl_->known_peers = std::move(peers);
  impl_->sync_members();
}
uint16_t RaftNode::port() const { return impl_->transport->port(); }
const Status& RaftNode::failure() const { return impl_->failure; }

RaftNodeStats RaftNode::stats() const {
  RaftNodeStats stats;
  stats.raft = impl_->core->stats();
  stats.storage = impl_->group_commit ? impl_->group_commit->stats() : impl_->final_storage_stats;
  stats.transport = impl_->transport->stats();
  stats.proposals_committed = impl_->proposals_committed;
  stats.proposals_failed = impl_->proposals_failed;
  stats.entries_applied = impl_->entries_applied;
  stats.snapshots_taken = impl_->snapshots_taken;
  stats.snapshots_restored = impl_->snapshots_restored;
  return stats;
}

}  // namespace roster::raft
