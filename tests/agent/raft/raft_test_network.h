#pragma once

// A small harness for the Raft core's unit tests: helpers to drive one
// RaftCore by hand, and a Network that holds a few cores, drains ready(),
// "persists" at once (or when told), and delivers messages in FIFO order
// with a hook to drop or hold them. Deterministic: no clock, no threads,
// ordered containers.
//
// Not a simulator (that is tests/sim): no reordering, no crashes, no
// invariant checkers.

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "agent/raft/raft.h"

namespace roster::raft {

// Readable values in GoogleTest's failure messages.
inline void PrintTo(const Entry& entry, std::ostream* out) {
  *out << "{" << entry.index << "@t" << entry.term << " type " << static_cast<int>(entry.type) << " \"" << entry.data
       << "\"}";
}

inline void PrintTo(const Message& m, std::ostream* out) {
  *out << message_type_name(m.type) << " " << m.from << "->" << m.to << " t" << m.term << " log " << m.log_index
       << "@t" << m.log_term << " entries " << m.entries.size() << " commit " << m.leader_commit
       << (m.success ? " ok" : "") << " match " << m.match_index;
}

}  // namespace roster::raft

namespace roster::raft::testing {

inline Configuration voters(const std::vector<ServerId>& ids) {
  Configuration configuration;
  for (ServerId id : ids) configuration.servers.push_back(Server{id, "10.0.0." + std::to_string(id) + ":8300", true});
  return configuration;
}

// A member of a new cluster: the bootstrap entry at index 1 (term 1),
// already committed, plus `extra` entries after it.
inline RaftBoot bootstrapped(const std::vector<ServerId>& ids, std::vector<Entry> extra = {}, Term term = 1,
                             Index commit = 1) {
  RaftBoot boot;
  boot.hard_state = HardState{term, kNoServer, commit};
  boot.entries.push_back(bootstrap_entry(voters(ids)));
  for (Entry& entry : extra) boot.entries.push_back(std::move(entry));
  return boot;
}

// Command entries with the given terms, from index `first`.
inline std::vector<Entry> entries_with_terms(Index first, const std::vector<Term>& terms) {
  std::vector<Entry> out;
  for (Term term : terms) {
    out.push_back(Entry{term, first, EntryType::command, "e" + std::to_string(first)});
    ++first;
  }
  return out;
}

// The paper's Raft: no pre-vote, no check-quorum lease.
inline RaftConfig paper_config(ServerId id) {
  RaftConfig config;
  config.id = id;
  config.election_ticks = 10;
  config.heartbeat_ticks = 1;
  config.pre_vote = false;
  config.check_quorum = false;
  config.seed = 7;
  return config;
}

// Everything a few ready() calls handed out, with every persist batch made
// durable at once when `persist` is set.
struct Drained {
  std::vector<Message> messages;
  std::vector<PersistBatch> batches;
  std::vector<Entry> committed;
  std::vector<ReadState> read_states;
  std::vector<uint64_t> failed_reads;
  std::vector<Snapshot> snapshots;

  std::vector<Message> of_type(MessageType type) const {
    std::vector<Message> out;
    for (const Message& m : messages) {
      if (m.type == type) out.push_back(m);
    }
    return out;
  }
};

inline Drained drain(RaftCore& core, bool persist = true) {
  Drained out;
  for (int round = 0; round < 100 && core.has_ready(); ++round) {
    Ready r = core.ready();
    for (Message& m : r.messages) out.messages.push_back(std::move(m));
    if (r.persist) {
      if (persist) core.persisted(r.persist->seq);
      out.batches.push_back(std::move(*r.persist));
    }
    if (r.snapshot) out.snapshots.push_back(std::move(*r.snapshot));
    for (Entry& e : r.committed) out.committed.push_back(std::move(e));
    for (ReadState& s : r.read_states) out.read_states.push_back(s);
    for (uint64_t id : r.failed_reads) out.failed_reads.push_back(id);
  }
  return out;
}

inline bool is_heartbeat(const Message& m) {
  return m.type == MessageType::append_entries && m.entries.empty() && m.log_index == 0 && m.log_term == 0;
}

// What a follower holding the entries answers to an append.
inline Message accept(const Message& append) {
  Message reply;
  reply.type = MessageType::append_entries_response;
  reply.from = append.to;
  reply.to = append.from;
  reply.term = append.term;
  reply.log_index = append.log_index;
  reply.success = true;
  reply.match_index = append.log_index + append.entries.size();
  reply.read_round = append.read_round;
  return reply;
}

inline Message vote_response(ServerId from, ServerId to, Term term, bool granted) {
  Message m;
  m.type = MessageType::request_vote_response;
  m.from = from;
  m.to = to;
  m.term = term;
  m.success = granted;
  return m;
}

// Ticks a follower (pre_vote off) until it stands, persists its vote, and
// steps in grants from the other voters until it leads. Returns the
// messages the new leader sent (its first appends).
inline Drained make_leader(RaftCore& core) {
  while (core.role() == Role::follower) core.tick();
  drain(core);
  for (const Server& server : core.configuration().servers) {
    if (core.role() != Role::candidate) break;
    if (server.id == core.id() || !server.voter) continue;
    core.step(vote_response(server.id, core.id(), core.current_term(), true));
  }
  return drain(core);
}

// Makes a new leader's no-op committed: every follower accepts it.
inline void commit_noop(RaftCore& core, const Drained& first) {
  for (const Message& m : first.messages) {
    if (m.type == MessageType::append_entries) core.step(accept(m));
  }
  drain(core);
}

class Network {
 public:
  struct Node {
    std::unique_ptr<RaftCore> core;
    bool auto_persist = true;
    uint64_t unpersisted_seq = 0;  // the last batch handed out but not made durable
    std::vector<Entry> applied;
    std::vector<ReadState> read_states;
    std::vector<uint64_t> failed_reads;
    std::vector<Snapshot> restored;
    // For every batch that carried a snapshot: whether it replaced the log.
    std::vector<bool> snapshot_replaced_log;
  };

  Network() = default;
  explicit Network(const std::vector<ServerId>& ids, const std::function<void(RaftConfig&)>& tweak = {}) {
    for (ServerId id : ids) {
      RaftConfig config;
      config.id = id;
      config.seed = 11;
      if (tweak) tweak(config);
      add(id, config, bootstrapped(ids));
    }
  }

  void add(ServerId id, RaftConfig config, RaftBoot boot) {
    Node node;
    node.core = std::make_unique<RaftCore>(std::move(config), std::move(boot));
    nodes_[id] = std::move(node);
  }

  RaftCore& core(ServerId id) { return *nodes_.at(id).core; }
  Node& node(ServerId id) { return nodes_.at(id); }

  // Return true to drop a message instead of delivering it.
  std::function<bool(const Message&)> drop;
  // Return true to hold a message back until release_held().
  std::function<bool(const Message&)> hold;
  std::vector<Message> held;
  // Every message any node sent, in order, dropped or not.
  std::vector<Message> sent;

  void isolate(ServerId id) { isolated_.insert(id); }
  void heal() { isolated_.clear(); }

  // Delivers the held messages now, in the order they were held.
  void release_held() {
    std::vector<Message> now;
    now.swap(held);
    for (Message& m : now) deliver(m, false);
    settle();
  }

  // Makes every batch `id` was handed durable.
  void persist(ServerId id) {
    Node& n = node(id);
    if (n.unpersisted_seq != 0) n.core->persisted(n.unpersisted_seq);
    n.unpersisted_seq = 0;
  }

  void process(ServerId id) {
    Node& n = node(id);
    Ready r = n.core->ready();
    for (Message& m : r.messages) {
      sent.push_back(m);
      queue_.push_back(std::move(m));
    }
    if (r.persist) {
      if (r.persist->snapshot) n.snapshot_replaced_log.push_back(r.persist->snapshot_replaces_log);
      if (n.auto_persist) n.core->persisted(r.persist->seq);
      else n.unpersisted_seq = r.persist->seq;
    }
    if (r.snapshot) n.restored.push_back(*r.snapshot);
    for (Entry& e : r.committed) n.applied.push_back(std::move(e));
    for (ReadState& s : r.read_states) n.read_states.push_back(s);
    for (uint64_t request : r.failed_reads) n.failed_reads.push_back(request);
  }

  // Drains every node and delivers messages until nothing moves; a network
  // that never goes quiet without ticks is a bug in the cores (a message
  // storm) and fails the test.
  void settle(int max_rounds = 10000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool moved = false;
      for (auto& [id, n] : nodes_) {
        for (int i = 0; i < 100 && n.core->has_ready(); ++i) {
          const bool stuck_on_disk = !n.auto_persist && n.unpersisted_seq != 0;
          process(id);
          moved = true;
          if (stuck_on_disk) break;
        }
      }
      std::deque<Message> batch;
      batch.swap(queue_);
      for (Message& m : batch) {
        moved = true;
        deliver(m);
      }
      if (!moved) return;
    }
    ADD_FAILURE() << "the network never went quiet: the cores keep sending without a tick";
  }

  void tick(ServerId id, int times = 1) {
    for (int i = 0; i < times; ++i) {
      core(id).tick();
      settle();
    }
  }
  void tick_all(int times = 1) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, n] : nodes_) n.core->tick();
      settle();
    }
  }

  // Ticks `id` alone until it leads (or gives up after a few timeouts).
  bool elect(ServerId id) {
    for (int i = 0; i < 100 && core(id).role() != Role::leader; ++i) tick(id);
    settle();
    return core(id).role() == Role::leader;
  }

  // Leaders among the nodes, at their terms.
  std::vector<ServerId> leaders() {
    std::vector<ServerId> out;
    for (auto& [id, n] : nodes_) {
      if (n.core->role() == Role::leader) out.push_back(id);
    }
    return out;
  }

  size_t count_sent(const std::function<bool(const Message&)>& match) const {
    size_t count = 0;
    for (const Message& m : sent) count += match(m) ? 1 : 0;
    return count;
  }

 private:
  void deliver(Message& m, bool may_hold = true) {
    if (isolated_.contains(m.from) || isolated_.contains(m.to)) return;
    if (drop && drop(m)) return;
    if (may_hold && hold && hold(m)) {
      held.push_back(std::move(m));
      return;
    }
    auto it = nodes_.find(m.to);
    if (it == nodes_.end()) return;
    it->second.core->step(m);
  }

  std::map<ServerId, Node> nodes_;
  std::deque<Message> queue_;
  std::set<ServerId> isolated_;
};

}  // namespace roster::raft::testing
