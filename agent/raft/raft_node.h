#pragma once

// RaftNode: one RaftCore driven on Asio, with its WAL and snapshots on disk
// (Storage + GroupCommit) and its messages on TCP (Transport).
//
// It owns no protocol logic. Every input (a tick, a message, a caller's
// request, a finished write) goes into the core, and the core's Ready is
// carried out: messages are sent at once, persist batches go to the group
// commit writer (whose completion is posted back and becomes persisted(seq)),
// committed entries are applied to the StateMachine, reads are released.
// Inputs that arrive in one turn of the strand share one drain, so a burst of
// proposals becomes one persist batch and one append per follower.
//
// Bootstrap: a server whose data directory is empty and whose options carry
// an initial configuration writes bootstrap_entry(configuration) with term 1
// (fsynced) before starting, so every server of a new cluster starts from the
// same log. A server with data never bootstraps again; a server with neither
// waits, as a non-member, to be added and sent the log.
//
// Recovery (peers.json, as Consul and hashicorp/raft's RecoverCluster do it):
// when data_dir holds kPeersFileName (peers_file.h), open() first parses it
// (a bad file is an error naming the file and the problem, with nothing on
// disk changed), then makes the listed configuration the one in force while
// keeping all this server's data: the state machine after every entry in its
// log, committed or not (what was committed elsewhere may be only here now),
// becomes a snapshot at the last entry's index and term carrying the new
// configuration, and the log behind it is discarded. It then removes the file,
// so a later start does not recover again, and starts as usual. A server with
// no log and no snapshot refuses to recover: there is nothing to keep, and
// the operator has most likely written the file on the wrong server.
//
// Proposals: propose()'s callback runs once the entry is committed and
// applied here, with its index. It gets an error instead when:
//   - the core refused it (not the leader, a transfer in progress):
//     unavailable, and nothing was appended;
//   - another entry (of another term) was applied at its index: conflict; the
//     entry was certainly not committed;
//   - the node lost leadership and the entry left its log, or a snapshot
//     covered its index before it was applied here, or the node stopped:
//     unavailable, and the entry's fate is unknown (another server may still
//     hold it and commit it), as with any write whose answer was lost.
//
// Thread affinity: every method, open() and the destructor must run on
// `executor`, which must be a strand (or an io_context run by one thread).
// Callbacks run there too, never from inside the call that registered them.
// The StateMachine is called only on the strand. The GroupCommit writer thread
// is the only other thread; it touches only Storage.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/raft/group_commit.h"
#include "agent/raft/peers_file.h"
#include "agent/raft/raft.h"
#include "agent/raft/storage.h"
#include "agent/raft/transport.h"
#include "agent/raft/types.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

// What Raft replicates into. Pure: no I/O, no threads; called on the strand.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Commands in log order, each once. no_op and configuration entries are
  // passed too (to let the machine note their index); most ignore them.
  virtual void apply(const Entry& entry) = 0;
  // The state after every entry applied so far, in the machine's encoding.
  virtual std::string snapshot() = 0;
  // Replaces the state with a snapshot's (a follower that fell behind).
  virtual void restore(const Snapshot& snapshot) = 0;
};

// Applies nothing (benchmarks, tests of replication alone).
class NullStateMachine final : public StateMachine {
 public:
  void apply(const Entry&) override {}
  std::string snapshot() override { return {}; }
  void restore(const Snapshot&) override {}
};

struct RaftNodeOptions {
  // raft.id names this server; transport.local_id and transport.port are
  // taken from here too. REQUIRES: raft.id != kNoServer.
  RaftConfig raft;
  TransportOptions transport;
  StorageOptions storage;
  std::string data_dir;
  // The configuration of a new cluster, written only if data_dir is empty.
  std::optional<Configuration> bootstrap;
  // How the "id" of a peers.json entry names a server (see "Recovery");
  // null: parse_server_number.
  PeerIdParser peer_id_of;
  std::chrono::milliseconds tick_interval{100};
};

struct RaftNodeStats {
  RaftStats raft;
  GroupCommitStats storage;
  TransportStats transport;
  uint64_t proposals_committed = 0;
  uint64_t proposals_failed = 0;
  uint64_t entries_applied = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_restored = 0;
};

class RaftNode {
 public:
  using ProposeCallback = std::function<void(Result<Index>)>;
  using ReadCallback = std::function<void(Status)>;

  // Opens the storage in options.data_dir (bootstrapping it, see above),
  // starts the transport (binds options.transport.bind_ip:port) and the tick
  // timer, after a recovery from peers.json if the directory holds one.
  // `env`, `clock` and `state_machine` must outlive the node.
  // Errors: whatever Storage::open or Transport::start returns;
  // invalid_argument when raft.id is kNoServer or peers.json is refused.
  static Result<std::unique_ptr<RaftNode>> open(boost::asio::any_io_executor executor, Env& env, const Clock& clock,
                                                StateMachine& state_machine, RaftNodeOptions options,
                                                std::shared_ptr<spdlog::logger> logger);
  // Stops the transport and the timer, fails pending proposals and reads
  // (their callbacks are posted, and run only if the executor keeps
  // running), and waits for the writer to finish what was submitted.
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // See "Proposals" above; after a storage failure, that failure.
  void propose(std::string command, ProposeCallback done);
  // A linearizable read: done(ok) once this node's state machine has applied
  // everything committed before the call, and this node was still the leader.
  // Serve the read from the state machine inside the callback.
  void read_index(ReadCallback done);
  // Like propose(), for a membership change; done once it is applied here.
  void change_membership(const MembershipChange& change, ProposeCallback done);
  Status transfer_leadership(ServerId target);
  // A leader that is asked to step down, or is about to leave, hands
  // leadership to its most caught-up voter (RaftCore::step_down). Poll
  // role() for the outcome; a transfer that does not complete within an
  // election timeout is abandoned and this node leads on.
  Status step_down();

  // Servers learned outside the log (the gossip pool's server members), which
  // the transport talks to beside the configuration's: a fresh server can
  // then take frames from a leader that is about to add it. The
  // configuration's address wins for a server in both.
  void set_known_peers(std::map<ServerId, std::string> peers);

  ServerId id() const;
  Role role() const;
  Term term() const;
  ServerId leader() const;
  Index commit_index() const;
  // Since this follower last heard from its leader (0 on the leader), to the
  // tick.
  std::chrono::milliseconds last_contact() const;
  // The leader's view of a server's log: its match index, or nullopt when
  // this node does not lead or does not replicate to it.
  std::optional<Index> match_index(ServerId server) const;
  Index applied_index() const;
  const Configuration& configuration() const;
  uint16_t port() const;
  // Ok until a storage write fails; then the node has stopped (every later
  // proposal fails) and this names the failure.
  const Status& failure() const;
  RaftNodeStats stats() const;

 private:
  struct Impl;
  explicit RaftNode(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::raft
