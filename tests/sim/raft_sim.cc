#include "tests/sim/raft_sim.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "agent/raft/membership.h"
#include "tests/sim/linearizability.h"

namespace roster::sim {

using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::Message;
using raft::RaftCore;
using raft::ServerId;
using raft::Term;

namespace {

constexpr uint64_t kTickUs = 10'000;          // 10 ms ticks: elections after 100-200 ms
constexpr uint64_t kClientTimeoutUs = 800'000;
constexpr uint64_t kTrailingEntries = 8;

// ---------------------------------------------------------------- commands

struct Command {
  uint64_t op_id = 0;
  char kind = 'p';  // 'p' put, 'c' cas
  std::string key;
  std::string value;
  bool has_expected = false;
  std::string expected;
};

std::string encode_command(const Command& c) {
  std::ostringstream out;
  out << c.op_id << '\n' << c.kind << '\n' << c.key << '\n' << c.value << '\n' << (c.has_expected ? 1 : 0) << '\n'
      << c.expected;
  return out.str();
}

Command decode_command(const std::string& data) {
  std::istringstream in(data);
  Command c;
  int has_expected = 0;
  std::string line;
  std::getline(in, line);
  c.op_id = std::stoull(line);
  std::getline(in, line);
  c.kind = line.empty() ? 'p' : line[0];
  std::getline(in, c.key);
  std::getline(in, c.value);
  std::getline(in, line);
  has_expected = std::stoi(line);
  c.has_expected = has_expected == 1;
  std::getline(in, c.expected);
  return c;
}

std::string encode_kv(const std::map<std::string, std::string>& kv) {
  std::string out;
  for (const auto& [key, value] : kv) out += key + "=" + value + "\n";
  return out;
}

std::map<std::string, std::string> decode_kv(const std::string& data) {
  std::map<std::string, std::string> kv;
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

// ---------------------------------------------------------------- the disk

// What survives a crash: the hard state, the latest snapshot and the log.
struct DurableState {
  raft::HardState hard_state;
  std::optional<raft::Snapshot> snapshot;
  std::vector<Entry> entries;  // consecutive

  void write_entries(const std::vector<Entry>& batch, size_t count) {
    if (count == 0) return;
    const Index first = batch.front().index;
    std::erase_if(entries, [first](const Entry& e) { return e.index >= first; });
    // After a restart from a snapshot that is ahead of the log, the log
    // continues after the snapshot; what the disk holds before it is stale.
    if (!entries.empty() && entries.back().index + 1 < first) entries.clear();
    for (size_t i = 0; i < count; ++i) entries.push_back(batch[i]);
  }
  void write_snapshot(const raft::Snapshot& s) {
    const Index index = s.meta.last_index;
    bool keep = false;
    for (const Entry& e : entries) {
      if (e.index == index && e.term == s.meta.last_term) keep = true;
    }
    if (keep) std::erase_if(entries, [index](const Entry& e) { return e.index <= index; });
    else entries.clear();
    snapshot = s;
  }
};

struct PendingOp {
  size_t history_index = 0;
  uint64_t client = 0;
  ServerId server = 0;
  uint64_t incarnation = 0;
  Index index = 0;  // writes: where it was proposed
  Term term = 0;
  bool write = false;
};

struct Node {
  ServerId id = 0;
  bool up = false;
  uint64_t incarnation = 0;
  std::unique_ptr<RaftCore> core;
  DurableState disk;
  std::vector<raft::PersistBatch> unsynced;  // written, not yet fsynced
  std::vector<raft::PersistBatch> syncing;   // covered by the fsync in flight
  bool sync_in_flight = false;
  std::map<std::string, std::string> kv;
  Index applied = 0;
  Index last_commit = 0;
  bool first_commit_pending = false;
  std::map<Index, uint64_t> proposals;      // index -> op id, this incarnation
  std::map<uint64_t, uint64_t> reads;       // request id -> op id
};

struct Client {
  uint64_t id = 0;
  bool busy = false;
  uint64_t op_id = 0;
};

class Simulation {
 public:
  explicit Simulation(const RaftSimOptions& options) : options_(options), random_(options.seed) {}

  RaftSimResult run();

 private:
  // ---- events
  void at(uint64_t time, std::function<void()> action) { events_.emplace(std::make_pair(time, next_event_++), std::move(action)); }
  uint64_t random_between(uint64_t low, uint64_t high) {
    return low + (high > low ? random_() % (high - low + 1) : 0);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }

  // ---- servers
  raft::RaftConfig config_for(ServerId id) const;
  void start(Node& node);
  void crash(Node& node);
  void crash_and_restart(Node& node, uint64_t restart_after_us);
  // Failpoints for hostile schedules: crashes at the moments where a
  // durability or commit-rule mistake would show.
  bool failpoint(double probability) { return hostile_ && faults_on_ && chance(probability); }
  void schedule_tick(Node& node);
  void drain(Node& node);
  void apply(Node& node, const Entry& entry);
  void start_sync(Node& node);
  void finish_sync(Node& node, uint64_t incarnation);
  void take_snapshot(Node& node);

  // ---- network
  bool blocked(ServerId from, ServerId to) const { return cut_.contains({from, to}); }
  void send(const Message& m);

  // ---- clients
  void client_step(Client& client);
  void answer(uint64_t op_id, bool ok);
  Node* find_leader();

  // ---- faults
  void schedule_fault();
  void inject_fault();
  void heal();

  // ---- checks
  void check(Node& node);
  void check_log_matching();
  void check_leader_completeness(Node& leader);
  void violation(std::string text) {
    if (result_.violations.size() < 20) result_.violations.push_back("t=" + std::to_string(now_ / 1000) + "ms " + text);
  }

  Node& server(ServerId id) { return nodes_[id - 1]; }

  RaftSimOptions options_;
  std::mt19937_64 random_;
  std::map<std::pair<uint64_t, uint64_t>, std::function<void()>> events_;
  uint64_t next_event_ = 0;
  uint64_t now_ = 0;
  bool faults_on_ = true;
  bool hostile_ = false;
  // Failpoint probabilities, drawn per hostile schedule (swarm testing: each
  // seed stresses a different mix).
  double crash_new_leader_ = 0;
  double crash_after_vote_ = 0;
  double crash_first_commit_ = 0;
  double crash_after_apply_ = 0;
  size_t entries_per_append_ = 8;

  std::vector<Node> nodes_;
  std::set<std::pair<ServerId, ServerId>> cut_;
  double loss_ = 0.0;
  double duplicate_ = 0.0;
  uint64_t max_delay_us_ = 3000;

  std::vector<Client> clients_;
  std::vector<KvOperation> history_;
  std::map<uint64_t, PendingOp> pending_;
  uint64_t next_op_id_ = 1;
  uint64_t next_value_ = 1;

  std::map<Term, ServerId> leader_of_term_;
  std::map<Index, std::pair<Term, std::string>> applied_at_;  // the one entry applied at each index
  std::set<std::pair<Index, Term>> acknowledged_;
  RaftSimResult result_;
};

raft::RaftConfig Simulation::config_for(ServerId id) const {
  raft::RaftConfig config;
  config.id = id;
  config.election_ticks = 10;
  config.heartbeat_ticks = 2;
  config.max_entries_per_append = entries_per_append_;
  config.max_inflight_appends = 4;
  config.snapshot_threshold = 40;
  config.snapshot_chunk_bytes = 48;
  config.catch_up_entries = 16;
  config.seed = options_.seed;
  config.bugs = options_.bugs;
  return config;
}

void Simulation::start(Node& node) {
  node.up = true;
  node.incarnation++;
  node.unsynced.clear();
  node.syncing.clear();
  node.sync_in_flight = false;
  node.proposals.clear();
  node.reads.clear();
  raft::RaftBoot boot{node.disk.hard_state, node.disk.snapshot, node.disk.entries};
  node.core = std::make_unique<RaftCore>(config_for(node.id), std::move(boot));
  node.kv.clear();
  node.applied = 0;
  if (node.disk.snapshot) {
    node.kv = decode_kv(*node.disk.snapshot->data);
    node.applied = node.disk.snapshot->meta.last_index;
  }
  node.last_commit = node.core->commit_index();
  schedule_tick(node);
  drain(node);
}

void Simulation::crash(Node& node) {
  if (!node.up) return;
  ++result_.crashes;
  // What was written since the last fsync sits in the page cache. A
  // process crash (kill -9) leaves it to the kernel, which writes it all; a
  // power loss keeps none of it, or a prefix of the records in write order
  // (the WAL cuts a torn tail).
  std::vector<raft::PersistBatch> lost = std::move(node.syncing);
  for (auto& batch : node.unsynced) lost.push_back(std::move(batch));
  size_t records = 0;
  for (const auto& batch : lost) records += (batch.snapshot ? 1 : 0) + batch.entries.size() + (batch.hard_state ? 1 : 0);
  const int kind = static_cast<int>(random_() % 4);
  size_t keep = kind < 2 ? records : kind == 2 ? 0 : random_between(0, records);
  for (const auto& batch : lost) {
    if (keep == 0) break;
    if (batch.snapshot) {
      node.disk.write_snapshot(*batch.snapshot);
      --keep;
    }
    size_t entries = std::min(keep, batch.entries.size());
    node.disk.write_entries(batch.entries, entries);
    keep -= entries;
    if (entries < batch.entries.size()) break;
    if (batch.hard_state && keep > 0) {
      node.disk.hard_state = *batch.hard_state;
      --keep;
    }
  }
  node.up = false;
  node.core.reset();
  node.unsynced.clear();
  node.syncing.clear();
  for (auto& [op_id, op] : pending_) {
    if (op.server == node.id) op.incarnation = 0;  // its answer will never come
  }
}

void Simulation::crash_and_restart(Node& node, uint64_t restart_after_us) {
  crash(node);
  const ServerId id = node.id;
  at(now_ + restart_after_us, [this, id] {
    if (!server(id).up) start(server(id));
  });
}

void Simulation::schedule_tick(Node& node) {
  const uint64_t incarnation = node.incarnation;
  const ServerId id = node.id;
  at(now_ + kTickUs, [this, id, incarnation] {
    Node& n = server(id);
    if (!n.up || n.incarnation != incarnation) return;
    n.core->tick();
    drain(n);
    schedule_tick(n);
  });
}

void Simulation::start_sync(Node& node) {
  if (node.sync_in_flight || node.unsynced.empty()) return;
  // Group commit: everything written so far rides on this fsync.
  node.syncing = std::move(node.unsynced);
  node.unsynced.clear();
  node.sync_in_flight = true;
  const uint64_t incarnation = node.incarnation;
  const ServerId id = node.id;
  at(now_ + random_between(200, chance(0.05) ? 20'000 : 2'000), [this, id, incarnation] {
    finish_sync(server(id), incarnation);
  });
}

void Simulation::finish_sync(Node& node, uint64_t incarnation) {
  if (!node.up || node.incarnation != incarnation) return;
  uint64_t last_seq = 0;
  for (const auto& batch : node.syncing) {
    if (batch.snapshot) node.disk.write_snapshot(*batch.snapshot);
    node.disk.write_entries(batch.entries, batch.entries.size());
    if (batch.hard_state) node.disk.hard_state = *batch.hard_state;
    last_seq = batch.seq;
  }
  node.syncing.clear();
  node.sync_in_flight = false;
  node.core->persisted(last_seq);
  drain(node);
  start_sync(node);
}

void Simulation::take_snapshot(Node& node) {
  raft::Snapshot snapshot{node.core->snapshot_meta_at(node.applied), std::make_shared<const std::string>(encode_kv(node.kv))};
  // Snapshot files are written atomically and fsynced at once; the log is
  // then compacted on disk too, keeping the same trailing window.
  node.disk.snapshot = snapshot;
  const Index keep_from = snapshot.meta.last_index + 1 > kTrailingEntries ? snapshot.meta.last_index + 1 - kTrailingEntries : 1;
  std::erase_if(node.disk.entries, [keep_from](const Entry& e) { return e.index < keep_from; });
  node.core->snapshot_taken(std::move(snapshot), kTrailingEntries);
}

void Simulation::drain(Node& node) {
  for (int round = 0; round < 64 && node.up && node.core->has_ready(); ++round) {
    raft::Ready ready = node.core->ready();
    if (ready.role_changed == raft::Role::leader && failpoint(crash_new_leader_)) {
      // A new leader dies before its first appends leave: its no-op (and
      // what clients sent it) may survive on its disk only.
      ++result_.leaders_elected;
      if (ready.persist) node.unsynced.push_back(std::move(*ready.persist));
      crash_and_restart(node, random_between(0, 30'000));
      return;
    }
    // A leader that dies right after it applied and answered, before the
    // messages of that moment left its buffers.
    // The first commit of a new leader is the riskiest moment: it settles
    // what earlier terms left behind.
    if (ready.role_changed == raft::Role::leader) node.first_commit_pending = true;
    const bool leader_applies = node.core->role() == raft::Role::leader && !ready.committed.empty();
    const bool crash_after_apply = leader_applies && failpoint(node.first_commit_pending ? crash_first_commit_ : crash_after_apply_);
    if (leader_applies) node.first_commit_pending = false;
    bool crash_now = crash_after_apply;
    for (const Message& m : ready.messages) {
      if (crash_after_apply) break;
      send(m);
      if (m.type == raft::MessageType::request_vote_response && m.success && failpoint(crash_after_vote_)) crash_now = true;
    }
    if (ready.persist) {
      node.unsynced.push_back(std::move(*ready.persist));
      start_sync(node);
    }
    if (ready.snapshot) {
      ++result_.snapshots_installed;
      node.kv = decode_kv(*ready.snapshot->data);
      node.applied = ready.snapshot->meta.last_index;
    }
    for (const Entry& entry : ready.committed) apply(node, entry);
    for (const raft::ReadState& read : ready.read_states) {
      auto it = node.reads.find(read.request_id);
      if (it == node.reads.end()) continue;
      auto op = pending_.find(it->second);
      node.reads.erase(it);
      if (op == pending_.end()) continue;
      KvOperation& h = history_[op->second.history_index];
      auto value = node.kv.find(h.key);
      h.read_value = value == node.kv.end() ? std::nullopt : std::optional<std::string>(value->second);
      answer(op->first, true);
    }
    for (uint64_t request : ready.failed_reads) {
      auto it = node.reads.find(request);
      if (it == node.reads.end()) continue;
      answer(it->second, false);
      node.reads.erase(it);
    }
    if (ready.should_snapshot) take_snapshot(node);
    if (crash_now) {
      // Right after a vote went out, or a leader applied and answered: what
      // was not yet fsynced is lost or kept in part.
      crash_and_restart(node, random_between(0, 3'000));
      return;
    }
    if (ready.role_changed == raft::Role::leader) {
      ++result_.leaders_elected;
      check_leader_completeness(node);
      check_log_matching();
    }
    check(node);
  }
}

void Simulation::apply(Node& node, const Entry& entry) {
  if (entry.index != node.applied + 1) {
    violation("server " + std::to_string(node.id) + " applied index " + std::to_string(entry.index) + " after " +
              std::to_string(node.applied));
  }
  node.applied = entry.index;
  auto [it, inserted] = applied_at_.emplace(entry.index, std::make_pair(entry.term, entry.data));
  if (inserted) {
    ++result_.committed_entries;
  } else if (it->second.first != entry.term || it->second.second != entry.data) {
    violation("state-machine safety: server " + std::to_string(node.id) + " applied (term " + std::to_string(entry.term) +
              ") at index " + std::to_string(entry.index) + " where another applied term " +
              std::to_string(it->second.first));
  }
  if (entry.type != EntryType::command) return;
  Command c = decode_command(entry.data);
  bool succeeded = true;
  if (c.kind == 'c') {
    auto held = node.kv.find(c.key);
    const bool present = held != node.kv.end();
    succeeded = c.has_expected ? (present && held->second == c.expected) : !present;
  }
  if (succeeded) node.kv[c.key] = c.value;
  auto proposal = node.proposals.find(entry.index);
  if (proposal == node.proposals.end()) return;
  const uint64_t op_id = proposal->second;
  node.proposals.erase(proposal);
  auto op = pending_.find(op_id);
  if (op == pending_.end() || op->second.incarnation != node.incarnation) return;
  if (c.op_id != op_id) {
    answer(op_id, false);  // another entry took its index: it was lost
    return;
  }
  history_[op->second.history_index].succeeded = succeeded;
  acknowledged_.insert({entry.index, entry.term});
  ++result_.acknowledged_writes;
  answer(op_id, true);
}

// ---------------------------------------------------------------- network

void Simulation::send(const Message& m) {
  if (m.to == 0 || m.to > nodes_.size()) return;
  if (blocked(m.from, m.to) || chance(loss_)) return;
  const int copies = chance(duplicate_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    const uint64_t delay = random_between(100, chance(0.1) ? max_delay_us_ * 10 : max_delay_us_);
    at(now_ + delay, [this, m] {
      if (blocked(m.from, m.to)) return;
      Node& to = server(m.to);
      if (!to.up) return;
      to.core->step(m);
      drain(to);
    });
  }
}

// ---------------------------------------------------------------- clients

Node* Simulation::find_leader() {
  std::vector<Node*> leaders;
  for (Node& n : nodes_) {
    if (n.up && n.core->role() == raft::Role::leader) leaders.push_back(&n);
  }
  if (leaders.empty()) return nullptr;
  return leaders[random_() % leaders.size()];
}

void Simulation::answer(uint64_t op_id, bool ok) {
  auto it = pending_.find(op_id);
  if (it == pending_.end()) return;
  KvOperation& h = history_[it->second.history_index];
  if (ok) {
    h.outcome = KvOpOutcome::ok;
    h.return_time = static_cast<int64_t>(now_);
  } else {
    h.outcome = KvOpOutcome::unknown;
    ++result_.unknown_outcomes;
  }
  clients_[it->second.client].busy = false;
  const uint64_t client = it->second.client;
  pending_.erase(it);
  at(now_ + random_between(0, 3000), [this, client] { client_step(clients_[client]); });
}

void Simulation::client_step(Client& client) {
  if (client.busy || now_ >= (options_.duration_ms + options_.quiet_ms) * 1000) return;
  Node* leader = find_leader();
  if (leader == nullptr) {
    at(now_ + 20'000, [this, &client] { client_step(client); });
    return;
  }
  const std::string key = "k" + std::to_string(random_() % static_cast<uint64_t>(options_.keys));
  const uint64_t op_id = next_op_id_++;
  const int kind = static_cast<int>(random_() % 3);
  KvOperation op;
  op.client_id = client.id;
  op.key = key;
  op.call_time = static_cast<int64_t>(now_);
  op.outcome = KvOpOutcome::unknown;
  PendingOp pending{history_.size(), client.id, leader->id, leader->incarnation, 0, 0, kind != 1};
  if (kind == 1) {
    op.kind = KvOpKind::get;
    if (!leader->core->read_index(op_id).is_ok()) {
      at(now_ + 5'000, [this, &client] { client_step(client); });
      return;
    }
    leader->reads[op_id] = op_id;
  } else {
    Command c;
    c.op_id = op_id;
    c.key = key;
    c.value = "v" + std::to_string(next_value_++);
    op.value = c.value;
    if (kind == 2) {
      c.kind = 'c';
      op.kind = KvOpKind::cas;
      auto held = leader->kv.find(key);
      if (held != leader->kv.end() && chance(0.7)) {
        c.has_expected = true;
        c.expected = held->second;
        op.expected = held->second;
      }
    } else {
      op.kind = KvOpKind::put;
    }
    Result<Index> index = leader->core->propose(encode_command(c));
    if (!index.is_ok()) {
      at(now_ + 5'000, [this, &client] { client_step(client); });
      return;
    }
    pending.index = index.value();
    pending.term = leader->core->current_term();
    leader->proposals[index.value()] = op_id;
  }
  history_.push_back(op);
  pending_.emplace(op_id, pending);
  client.busy = true;
  client.op_id = op_id;
  at(now_ + kClientTimeoutUs, [this, op_id] {
    if (pending_.contains(op_id)) answer(op_id, false);
  });
  drain(*leader);
}

// ---------------------------------------------------------------- faults

void Simulation::schedule_fault() {
  at(now_ + random_between(50'000, 600'000), [this] {
    if (!faults_on_) return;
    inject_fault();
    schedule_fault();
  });
}

void Simulation::heal() {
  cut_.clear();
  loss_ = 0;
  duplicate_ = 0;
}

void Simulation::inject_fault() {
  const ServerId n = nodes_.size();
  auto random_server = [&] { return static_cast<ServerId>(1 + random_() % n); };
  switch (random_() % 10) {
    case 0:
    case 1: {  // symmetric partition: a random minority or majority cut off
      ++result_.partitions;
      heal();
      std::set<ServerId> side;
      const uint64_t size = 1 + random_() % (n / 2 + 1);
      while (side.size() < size) side.insert(random_server());
      for (ServerId a = 1; a <= n; ++a) {
        for (ServerId b = 1; b <= n; ++b) {
          if (side.contains(a) != side.contains(b)) cut_.insert({a, b});
        }
      }
      break;
    }
    case 2: {  // one-way: a server stops hearing some others, but is heard
      ++result_.partitions;
      const ServerId victim = random_server();
      for (ServerId a = 1; a <= n; ++a) {
        if (a != victim && chance(0.7)) cut_.insert({a, victim});
      }
      break;
    }
    case 3: {  // bridge: two sides that only a middle server sees both of
      ++result_.partitions;
      heal();
      const ServerId bridge = random_server();
      std::set<ServerId> left;
      for (ServerId a = 1; a <= n; ++a) {
        if (a != bridge && chance(0.5)) left.insert(a);
      }
      for (ServerId a = 1; a <= n; ++a) {
        for (ServerId b = 1; b <= n; ++b) {
          if (a == bridge || b == bridge || a == b) continue;
          if (left.contains(a) != left.contains(b)) cut_.insert({a, b});
        }
      }
      break;
    }
    case 4: heal(); break;
    case 5: {  // lossy, duplicating, slow network
      loss_ = chance(0.5) ? 0.05 * static_cast<double>(random_() % 4) : 0;
      duplicate_ = chance(0.5) ? 0.05 : 0;
      max_delay_us_ = random_between(500, 8000);
      break;
    }
    case 6: {  // crash, often a server with writes not yet fsynced
      Node* victim = nullptr;
      for (Node& candidate : nodes_) {
        if (candidate.up && (candidate.sync_in_flight || !candidate.unsynced.empty()) && chance(0.5)) victim = &candidate;
      }
      if (victim == nullptr) victim = &server(random_server());
      crash_and_restart(*victim, random_between(10'000, 800'000));
      break;
    }
    case 7: {  // leadership transfer
      Node* leader = find_leader();
      if (leader == nullptr) break;
      const ServerId target = random_server();
      if (leader->core->transfer_leadership(target).is_ok()) ++result_.transfers;
      drain(*leader);
      break;
    }
    case 8:
    case 9: {  // membership: add a spare, promote it, or remove a voter
      Node* leader = find_leader();
      if (leader == nullptr) break;
      const raft::Configuration& config = leader->core->configuration();
      raft::MembershipChange change;
      std::vector<ServerId> absent, non_voters, voters;
      for (ServerId id = 1; id <= n; ++id) {
        const raft::Server* server = raft::find_server(config, id);
        if (server == nullptr) absent.push_back(id);
        else if (server->voter) voters.push_back(id);
        else non_voters.push_back(id);
      }
      if (!non_voters.empty()) {
        change.kind = raft::MembershipChangeKind::promote;
        change.server.id = non_voters[random_() % non_voters.size()];
      } else if (!absent.empty() && (voters.size() <= 3 || chance(0.5))) {
        change.kind = raft::MembershipChangeKind::add_non_voter;
        change.server.id = absent[random_() % absent.size()];
        change.server.address = "127.0.0." + std::to_string(change.server.id);
        // A spare starts empty; a server removed earlier comes back with its
        // disk, as hashicorp/raft allows.
        Node& added = server(change.server.id);
        if (!added.up) start(added);
      } else if (voters.size() > 3) {
        change.kind = raft::MembershipChangeKind::remove;
        change.server.id = voters[random_() % voters.size()];
      } else {
        break;
      }
      if (leader->up && leader->core->change_membership(change).is_ok()) ++result_.membership_changes;
      if (leader->up) drain(*leader);
      break;
    }
  }
}

// ---------------------------------------------------------------- checks

void Simulation::check(Node& node) {
  if (!node.up) return;
  const RaftCore& core = *node.core;
  if (core.commit_index() < node.last_commit) {
    violation("server " + std::to_string(node.id) + " commit index went back from " + std::to_string(node.last_commit) +
              " to " + std::to_string(core.commit_index()));
  }
  node.last_commit = core.commit_index();
  if (core.role() == raft::Role::leader) {
    auto [it, inserted] = leader_of_term_.emplace(core.current_term(), node.id);
    if (!inserted && it->second != node.id) {
      violation("election safety: servers " + std::to_string(it->second) + " and " + std::to_string(node.id) +
                " both lead term " + std::to_string(core.current_term()));
    }
  }
  if (node.applied > core.commit_index() && !options_.bugs.apply_before_commit) {
    violation("server " + std::to_string(node.id) + " applied " + std::to_string(node.applied) + " beyond commit " +
              std::to_string(core.commit_index()));
  }
  if (++result_.steps % options_.log_matching_every == 0) check_log_matching();
}

void Simulation::check_log_matching() {
  // Log matching (§5.3): two logs that hold an entry with the same index and
  // term are identical up to it. Checked as: at every index both hold, the
  // same term implies the same entry, and the same term at i implies the
  // same term at every earlier index both hold.
  for (size_t a = 0; a < nodes_.size(); ++a) {
    for (size_t b = a + 1; b < nodes_.size(); ++b) {
      if (!nodes_[a].up || !nodes_[b].up) continue;
      const raft::RaftLog& la = nodes_[a].core->log();
      const raft::RaftLog& lb = nodes_[b].core->log();
      const Index low = std::max(la.first_index(), lb.first_index());
      const Index high = std::min(la.last_index(), lb.last_index());
      bool matched_above = false;
      for (Index i = high; i >= low && i > 0; --i) {
        const Entry& ea = la.at(i);
        const Entry& eb = lb.at(i);
        if (ea.term == eb.term) {
          if (!(ea == eb)) {
            violation("log matching: servers " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                      " hold different entries at index " + std::to_string(i) + " term " + std::to_string(ea.term) +
                      " (types " + std::to_string(static_cast<int>(ea.type)) + "/" + std::to_string(static_cast<int>(eb.type)) +
                      ", indexes " + std::to_string(ea.index) + "/" + std::to_string(eb.index) + ", first " + std::to_string(la.first_index()) + "/" + std::to_string(lb.first_index()) + ", snapshot " + std::to_string(la.snapshot_index()) + "/" + std::to_string(lb.snapshot_index()) + ")");
            return;
          }
          matched_above = true;
        } else if (matched_above) {
          violation("log matching: servers " + std::to_string(a + 1) + " and " + std::to_string(b + 1) +
                    " agree above index " + std::to_string(i) + " but not at it");
          return;
        }
      }
    }
  }
}

void Simulation::check_leader_completeness(Node& leader) {
  // Leader completeness (§5.4): an entry any server applied is committed, so
  // every later leader holds it.
  const raft::RaftLog& log = leader.core->log();
  for (auto it = applied_at_.upper_bound(log.snapshot_index()); it != applied_at_.end(); ++it) {
    const auto& [index, entry] = *it;
    std::optional<Term> term = log.term_at(index);
    if (term != entry.first) {
      violation("leader completeness: leader " + std::to_string(leader.id) + " of term " +
                std::to_string(leader.core->current_term()) + " lacks committed index " + std::to_string(index) +
                (acknowledged_.contains({index, entry.first}) ? " (an acknowledged write)" : ""));
      return;
    }
  }
}

RaftSimResult Simulation::run() {
  // Half of the schedules are hostile: failpoints crash servers right
  // after they vote, win an election or commit, and appends carry few entries.
  hostile_ = options_.faults && (random_() % 2 == 0 || options_.always_hostile);
  entries_per_append_ = hostile_ ? (random_() % 3 == 0 ? 2 : 1) : 8;
  if (hostile_) {
    std::uniform_real_distribution<double> intensity(0.0, 1.0);
    crash_new_leader_ = 0.5 * intensity(random_);
    crash_after_vote_ = 0.5 * intensity(random_);
    crash_first_commit_ = intensity(random_);
    crash_after_apply_ = 0.1 * intensity(random_);
  }
  const int total = options_.servers + options_.spare_servers;
  nodes_.resize(static_cast<size_t>(total));
  raft::Configuration initial;
  for (int i = 0; i < options_.servers; ++i) {
    initial.servers.push_back(raft::Server{static_cast<ServerId>(i + 1), "127.0.0." + std::to_string(i + 1), true});
  }
  for (int i = 0; i < total; ++i) {
    Node& n = nodes_[static_cast<size_t>(i)];
    n.id = static_cast<ServerId>(i + 1);
    if (i < options_.servers) {
      n.disk.entries.push_back(raft::bootstrap_entry(initial));
      n.disk.hard_state.current_term = 1;
    }
  }
  for (int i = 0; i < options_.servers; ++i) start(nodes_[static_cast<size_t>(i)]);
  for (int i = 0; i < options_.clients; ++i) clients_.push_back(Client{static_cast<uint64_t>(i)});
  for (Client& client : clients_) at(random_between(0, 10'000), [this, &client] { client_step(client); });
  if (options_.faults) schedule_fault();
  const uint64_t faults_end = options_.duration_ms * 1000;
  const uint64_t end = (options_.duration_ms + options_.quiet_ms) * 1000;
  at(faults_end, [this] {
    faults_on_ = false;
    heal();
    for (Node& n : nodes_) {
      if (!n.up && n.incarnation > 0) start(n);
    }
  });
  while (!events_.empty() && result_.violations.size() < 5) {
    auto it = events_.begin();
    if (it->first.first > end) break;
    now_ = it->first.first;
    std::function<void()> action = std::move(it->second);
    events_.erase(it);
    action();
  }
  check_log_matching();
  // Liveness after the faults stopped: the healed cluster elected a leader
  // that commits.
  if (result_.violations.empty() && options_.faults && find_leader() == nullptr) {
    violation("no leader " + std::to_string(options_.quiet_ms) + " ms after every fault healed");
  }
  for (const auto& [op_id, op] : pending_) {
    (void)op_id;
    history_[op.history_index].outcome = KvOpOutcome::unknown;
  }
  result_.operations = history_.size();
  LinearizabilityResult lin = check_kv_linearizability(history_);
  result_.linearizability = to_string(lin.verdict);
  if (lin.verdict == LinearizabilityVerdict::not_linearizable) {
    violation("linearizability: key " + lin.key + "\n" + lin.explanation);
  }
  return result_;
}

}  // namespace

RaftSimResult run_raft_schedule(const RaftSimOptions& options) {
  Simulation simulation(options);
  return simulation.run();
}

std::vector<std::string> planted_bug_names() {
  return {"commit_earlier_term", "vote_before_durable", "read_without_heartbeat", "apply_before_commit"};
}

bool plant_bug(const std::string& name, raft::PlantedBugs& bugs) {
  if (name == "commit_earlier_term") bugs.commit_earlier_term_by_counting = true;
  else if (name == "vote_before_durable") bugs.vote_before_durable = true;
  else if (name == "read_without_heartbeat") bugs.read_without_heartbeat = true;
  else if (name == "apply_before_commit") bugs.apply_before_commit = true;
  else return false;
  return true;
}

std::string reproduce_command(const RaftSimOptions& options) {
  std::string command = "raft_sim --seed " + std::to_string(options.seed) + " --servers " + std::to_string(options.servers);
  if (options.always_hostile) command += " --hostile";
  if (options.bugs.commit_earlier_term_by_counting) command += " --bug commit_earlier_term";
  if (options.bugs.vote_before_durable) command += " --bug vote_before_durable";
  if (options.bugs.read_without_heartbeat) command += " --bug read_without_heartbeat";
  if (options.bugs.apply_before_commit) command += " --bug apply_before_commit";
  return command;
}

}  // namespace roster::sim
