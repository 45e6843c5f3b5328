#pragma once

// The Raft transport: Messages between servers over TCP, on Boost.Asio.
//
// It only adapts: the Raft core hands it Messages to send and gets the
// Messages that arrive; it never sees a socket, and the transport never looks
// inside a Message beyond what the codec validates (wire_codec.h).
//
// Outgoing: ONE connection per peer, dialled when there is something to send
// and redialled after a failure with jittered exponential backoff
// (reconnect_backoff_first doubling to reconnect_backoff_max). Frames go out
// in the order send() was called. Each peer has a bounded queue (messages and
// bytes, the frame being written included); when it is full, send() drops
// the new message and counts it: Raft tolerates loss and its core retries
// (the next heartbeat, the next election). can_send() and queued_bytes() let
// the core see the pressure and send less.
//
// Incoming: a listener on the server RPC port, with the care of the gossip
// TCP side: accept() out of descriptors or memory backs off (50 ms doubling
// to 1 s) instead of spinning; a connection must deliver one whole frame
// within first_frame_timeout; connections are capped in all and per IP.
// Frames that are oversized, truncated, malformed, from another cluster, of a
// kind not served here, or from a server that is not a current member are
// dropped and counted (TransportStats), and logged once per reason and peer
// IP per drop_log_interval, never once per frame. An oversized frame, a
// foreign cluster or a non-member closes the connection; a malformed frame or
// an unknown kind costs only that frame (the stream is still aligned).
//
// A Raft connection carries frames one way: a server reads what its peers
// dial in with and writes only on the connections it dialled. A response is
// a Message like any other, sent back on the responder's own connection.
//
// RPC (agent/rpc/rpc.h) shares the listener when options.rpc_handler is set
// (without it, RPC frames are dropped as unknown_kind). A connection carries
// one family: its first well-formed frame decides, Raft or RPC, and a frame
// of the other family closes it. RPC callers are client agents, not Raft
// members, so the member check does not apply to them; the cluster ID does.
// Each request is decoded (rpc_codec.h) and handed to rpc_handler, and its
// Reply writes the response back on the same connection: an RPC connection,
// unlike a Raft one, is written to, through a bounded queue of replies.
// Calls on one connection are served concurrently and answered in the order
// they finish. A caller that does not read its replies (the queue passes
// max_reply_queue_bytes) loses its connection, which also fails its calls
// at once rather than at their timeouts.
//
// Thread affinity: every method, the constructor and the destructor must run
// on `executor` (the Raft strand); all I/O completes there, and the handler
// is posted there, never called from inside a method of this class.
// Asio's socket types, Beast and protobuf stay in transport.cc.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/raft/types.h"
#include "agent/raft/wire_codec.h"
#include "agent/rpc/rpc.h"
#include "common/clock.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::raft {

inline constexpr uint16_t kDefaultServerRpcPort = 8300;

struct TransportOptions {
  // Every server of a cluster has the same ID; frames from another are refused.
  std::string cluster_id;
  ServerId local_id = kNoServer;  // this server; REQUIRES: not kNoServer
  std::string bind_ip = "0.0.0.0";
  uint16_t port = kDefaultServerRpcPort;  // 0 picks a free port

  // The largest frame sent or accepted (length prefix excluded).
  // REQUIRES: <= kMaxFrameBytes.
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Per peer. A message is queued when fewer than max_queue_messages are
  // queued and it fits in max_queue_bytes; into an empty queue any message
  // up to max_frame_bytes fits.
  size_t max_queue_messages = 1024;
  size_t max_queue_bytes = 32u << 20;

  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds reconnect_backoff_first{50};
  std::chrono::milliseconds reconnect_backoff_max{2000};
  uint64_t seed = 0;  // for the backoff jitter

  // RPC connections count too, and the family is known only after the first
  // frame: with rpc_handler set, size these for the client agents (each
  // RpcClient holds connections_per_server to every server it calls).
  size_t max_inbound_connections = 64;
  // Each peer dials one; the rest is room for several servers behind one address.
  size_t max_inbound_connections_per_ip = 8;
  std::chrono::milliseconds first_frame_timeout{3000};

  std::chrono::milliseconds drop_log_interval{60000};

  // Serves RPC requests on this port; null: no RPC here. Called on
  // `executor`; its Reply must be called there too, exactly once (a second
  // call is ignored).
  rpc::RpcHandler rpc_handler;
  // Per RPC connection: replies queued, the batch being written included.
  // Into an empty queue any reply fits.
  size_t max_reply_queue_bytes = 32u << 20;
  // Per RPC connection: calls handed to rpc_handler and not yet replied to.
  // Past it, a request is answered at once with unavailable.
  size_t max_rpc_calls_in_flight = 4096;
};

struct TransportStats {
  uint64_t frames_sent = 0;  // written whole to a socket
  uint64_t bytes_sent = 0;
  uint64_t frames_received = 0;  // valid, from a member, handed to the handler
  uint64_t bytes_received = 0;

  // Outgoing messages dropped.
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_unknown_peer = 0;  // `to` is not a member (or has no address)
  uint64_t dropped_too_large = 0;     // its frame is over max_frame_bytes
  // Queued but never written whole: its peer was removed or moved, the
  // transport stopped, or its connection failed in the middle of the write.
  uint64_t dropped_unsent = 0;

  // Incoming frames dropped.
  uint64_t dropped_oversized = 0;
  uint64_t dropped_truncated = 0;
  uint64_t dropped_malformed = 0;
  uint64_t dropped_foreign_cluster = 0;
  uint64_t dropped_unknown_kind = 0;
  uint64_t dropped_non_member = 0;

  // Outgoing connections.
  uint64_t connects = 0;          // established
  uint64_t reconnects = 0;        // established after a failed attempt or a lost connection
  uint64_t connect_failures = 0;  // attempts that failed or timed out
  uint64_t connections_lost = 0;  // established, then closed by an error or the peer

  // Incoming connections.
  uint64_t accepted = 0;
  uint64_t refused = 0;  // over max_inbound_connections or max_inbound_connections_per_ip
  uint64_t first_frame_timeouts = 0;
  uint64_t accept_errors = 0;
  // Connections closed for a frame of the other family than their first.
  uint64_t closed_wrong_family = 0;

  // RPC (server side).
  uint64_t rpc_requests = 0;  // valid, handed to rpc_handler
  uint64_t rpc_replies = 0;   // written whole to a socket
  uint64_t rpc_reply_bytes = 0;
  // Request frames whose RpcRequest does not decode (the frame is dropped, the
  // connection kept: the stream is still aligned), and response frames, which
  // a server does not take.
  uint64_t rpc_malformed = 0;
  // Replies given after their connection closed or the transport stopped,
  // or queued and never written whole.
  uint64_t rpc_replies_dropped = 0;
  uint64_t rpc_replies_too_large = 0;  // over max_frame_bytes; too_large sent instead
  uint64_t rpc_reply_queue_full = 0;   // connections closed over max_reply_queue_bytes
  uint64_t rpc_busy = 0;               // requests refused over max_rpc_calls_in_flight
};

class Transport {
 public:
  // Valid Messages from members, in the order each peer sent them.
  using Handler = std::function<void(Message)>;

  // `clock` must outlive the transport; `logger` must not be null.
  Transport(boost::asio::any_io_executor executor, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
            TransportOptions options, Handler handler);
  ~Transport();  // stop()s
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and listens.
  // Errors: invalid_argument (no cluster ID, no local ID, a bad bind IP, a
  // frame limit over kMaxFrameBytes), unavailable (cannot bind:
  // "0.0.0.0:8300: address in use").
  Status start();
  // Closes every connection and the listener; queued messages are dropped
  // and the handler is not called again. Idempotent.
  void stop();

  // REQUIRES: start() succeeded.
  uint16_t port() const;

  // The servers this one talks to, with their "ip:port" addresses (the local
  // ID may be included; it is ignored). Frames from anyone else are refused.
  // A removed peer's queue is dropped and its connections closed; a peer
  // whose address changed is redialled there, its queue kept.
  // Errors: invalid_argument when an address is not "ip:port" (nothing changes).
  Status set_members(const std::map<ServerId, std::string>& members);

  // Queues `message` for message.to, sent as this server (message.from is
  // set to local_id). Returns false when it was dropped (queue full, unknown
  // peer, too large, stopped); every drop is counted.
  bool send(Message message);

  // Whether send() to `peer` would queue a small message now (false for a
  // non-member).
  bool can_send(ServerId peer) const;
  // Bytes and messages queued for `peer`, the frame being written included.
  size_t queued_bytes(ServerId peer) const;
  size_t queued_messages(ServerId peer) const;
  // Whether the outgoing connection to `peer` is established.
  bool connected(ServerId peer) const;

  const TransportStats& stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::raft
