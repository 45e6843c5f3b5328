#pragma once

// The gossip transport: Swim (swim.h) on Boost.Asio.
//
// One UDP socket and one TCP listener share the gossip port (Serf's LAN port,
// 8301 by default). The transport only adapts: it opens what arrives
// (wire/seal.h, counting every drop), hands it to Swim, drains Swim's output
// after every input, and sends what Swim asked for:
// - packets: packed into datagrams within SwimConfig::max_packet_bytes, sealed
//   (encrypted when the keyring has keys), sent over UDP;
// - push-pulls: a TCP connection, one framed state each way, with a timeout;
// - TCP probes: a framed Ping over TCP, answered by a framed Ack;
// - keyring requests (encrypted only): a framed request, a framed reply.
// The TCP listener serves the other side of both, with a bounded frame size,
// a deadline for the first frame, a read timeout and caps on concurrent
// connections (in all and per IP); a refused connection is told that the
// listener is full, and the initiator reports that, not a wrong key. When
// accept() runs out of descriptors or memory, the listener backs off (50 ms
// doubling to 1 s) and logs once per interval. A steady timer fires Swim's
// tick() at next_deadline().
//
// Member events are logged ("node web-7 joined", "node web-7 failed") and
// passed to the caller.
//
// Thread affinity: the io_context's single thread (the agent's core strand);
// every method and every callback runs there. Asio stays in transport.cc.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/gossip/swim.h"
#include "agent/gossip/swim_config.h"
#include "agent/gossip/wire/codec.h"
#include "agent/gossip/wire/keyring.h"
#include "agent/gossip/wire/wire_error.h"
#include "common/clock.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace roster::gossip {

inline constexpr uint16_t kDefaultSerfLanPort = 8301;

struct TransportOptions {
  // name, id, tags, timing. `address` is filled in by start() from
  // advertise_ip and the bound port.
  SwimConfig swim;
  std::string bind_ip = "0.0.0.0";
  uint16_t port = kDefaultSerfLanPort;  // UDP and TCP; 0 picks a free port for both
  std::string advertise_ip;             // empty: bind_ip
  wire::Keyring keyring;                // empty: no encryption
  wire::DecodeLimits limits;
  std::chrono::milliseconds tcp_timeout{10000};  // connect + exchange, both directions
  size_t max_tcp_connections = 128;              // served at once; more are refused at accept
  // An incoming connection must deliver its whole first frame within this,
  // or it is closed: idle connections cannot hold the slots above for the
  // whole tcp_timeout before anyone is authenticated. A LAN moves even the
  // largest state (8 MB) in well under it.
  std::chrono::milliseconds tcp_first_frame_timeout{3000};
  // Connections served at once from one IP address; more are refused at
  // accept. A peer needs one or two (a push-pull, a TCP probe); 16 leaves
  // room for several agents behind one address.
  size_t max_tcp_connections_per_ip = 16;
};

// What the transport itself counts (the wire's drop counters are separate).
struct TransportCounters {
  uint64_t udp_packets_sent = 0;
  uint64_t udp_bytes_sent = 0;
  uint64_t udp_packets_received = 0;
  uint64_t udp_bytes_received = 0;
  uint64_t tcp_accepted = 0;
  uint64_t tcp_refused = 0;  // over max_tcp_connections or max_tcp_connections_per_ip
  uint64_t tcp_first_frame_timeouts = 0;  // closed: no complete first frame in time
  uint64_t tcp_accept_errors = 0;  // accept() failed; out of descriptors or memory, it is retried with backoff
  uint64_t tcp_failed = 0;   // outgoing exchanges that failed or timed out
  uint64_t send_errors = 0;
};

struct TransportCallbacks {
  std::function<void(const MemberEvent&)> on_event;
  // The outcome of each join push-pull (PushPullReason::join) with `address`;
  // `error` explains a failure in words a person can act on.
  std::function<void(const std::string& address, bool ok, const std::string& error)> on_join_result;
  // A peer asks for a keyring operation (over encrypted TCP); the answer goes back to it.
  std::function<KeyringReply(const KeyringRequest&)> on_keyring_request;
  // A user event delivered to this node (each once; this node's own too).
  std::function<void(const UserEvent&)> on_user_event;
  // Swim halted (a name or ID collision found on joining); `reason` is Swim's.
  std::function<void(const std::string& reason)> on_halt;
  // Whenever Swim's incarnation rises above the last value persisted
  // (SwimConfig::initial_incarnation at start; with none, once at start),
  // and before anything that carries it is sent, called with a value to
  // persist: the incarnation plus a reserve (16 in all), so a burst of
  // refutations costs one save per 16. The adapter must never persist less
  // afterwards, and a restart starts above it, so no incarnation is reused.
  // Must be durable when it returns. On an error gossip goes on (logged once
  // a minute; a restart may then reuse an incarnation) and the save is
  // retried at most once a second. Unset: nothing is persisted.
  std::function<Status(Incarnation)> persist_incarnation;
};

class Transport {
 public:
  // `clock` must outlive the transport.
  Transport(boost::asio::io_context& io, const Clock& clock, TransportOptions options, TransportCallbacks callbacks);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds UDP and TCP on the same port, creates and starts Swim.
  // Errors: invalid_argument (bad IP, bad Swim config), unavailable (cannot bind: "127.0.0.1:8301: address in use").
  Status start();
  // Closes the sockets and stops the timer; Swim's state stays readable.
  void stop();

  // REQUIRES: start() succeeded (for all below).
  const std::string& address() const;  // advertised "ip:port"
  uint16_t port() const;                // the bound port

  // Each address is "ip:port". Outcomes arrive through on_join_result.
  void join(const std::vector<std::string>& addresses);
  void leave();
  bool leave_propagated() const;
  Status set_tags(TagMap tags);
  // Serf's force-leave: a failed member becomes left, a live one leaving
  // (which it refutes). Errors: as Swim::force_leave.
  Status force_leave(const std::string& name);
  // Fires a user event through the pool (Swim::fire_user_event); returns its Lamport time.
  Result<LamportTime> fire_user_event(UserEvent event);

  // Keyring changes take effect for the next packet sent and received.
  // Errors: as Keyring's; failed_precondition-like unavailable when
  // encryption is off here (it cannot be switched on without a restart).
  Status install_key(const std::string& raw_key);
  Status use_key(const std::string& raw_key);
  Status remove_key(const std::string& raw_key);
  const wire::Keyring& keyring() const;
  // Sends a keyring request to the agent at `address` ("ip:port") over
  // encrypted TCP. `done` gets its answer, or an error (unavailable: no
  // encryption, unreachable, timed out, answer refused); it is not called
  // once the transport has stopped.
  void keyring_request(const std::string& address, const KeyringRequest& request,
                       std::function<void(Result<KeyringReply>)> done);

  const Swim& swim() const;
  const wire::WireCounters& wire_counters() const;
  const TransportCounters& counters() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::gossip
