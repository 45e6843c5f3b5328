#pragma once

// The calling side of the RPC on the server port (rpc.h): a client agent's
// (or a server's) calls to servers, over pooled, multiplexed connections.
//
// Connections are kept open per server address ("ip:port") and reused:
// up to connections_per_server of them, each carrying many calls at once,
// told apart by call ID, answered in any order. A connection is dialled on
// the first call that needs it; one that fails is forgotten, and the next
// call dials afresh (no backoff: a call that cannot be placed fails at once,
// and the caller, who knows whether another server will do, decides).
//
// Every call ends exactly once, by a `done` posted to the executor: with the
// server's result bytes; with the server's Status, code and message
// unchanged (a not_leader stays a not_leader); or with unavailable when the
// server cannot be reached, the connection drops before the answer, the
// timeout passes (a late answer is then ignored and counted), or the client
// stops. A call is not retried here: whether a method may run twice is the
// caller's to know.
//
// Thread affinity: every method, the constructor and the destructor must run
// on `executor`; all I/O completes there and `done` is posted there, never
// called from inside call(). Asio's socket types and protobuf stay in
// rpc_client.cc.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/rpc/rpc.h"
#include "common/clock.h"
#include "common/status.h"

namespace spdlog {
class logger;
}

namespace roster::rpc {

struct RpcClientOptions {
  // The servers' cluster ID (the datacenter name); answers from another
  // cluster are refused and cost their connection.
  std::string cluster_id;
  std::string node_name;  // sent with every call as the caller
  size_t connections_per_server = 1;
  // The largest frame sent or accepted (length prefix excluded); a call whose
  // request is bigger fails with too_large without being sent.
  // REQUIRES: <= raft::kMaxFrameBytes (64 MiB).
  size_t max_frame_bytes = 8u << 20;
  std::chrono::milliseconds connect_timeout{3000};
  // Calls to one server address not yet answered; past it a call fails at
  // once with unavailable.
  size_t max_in_flight_per_server = 4096;
};

struct RpcClientStats {
  uint64_t calls = 0;  // call()s
  uint64_t succeeded = 0;
  uint64_t failed_by_server = 0;  // the server answered with an error Status
  uint64_t failed_unavailable = 0;  // not reached, lost, timed out, stopped, too busy
  uint64_t timeouts = 0;            // also in failed_unavailable
  uint64_t late_replies = 0;        // answers to calls that had already ended (timed out)
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t connections_lost = 0;  // established, then closed by an error, the peer or a bad frame
  uint64_t bad_frames = 0;        // from a server: not a valid response frame; each closes its connection
};

// Whether a call's failure means the request never left this process (the
// server could not be reached at all), so sending it again cannot apply it
// twice.
bool never_sent(const Status& status);

class RpcClient {
 public:
  // The result bytes, or why there are none. Posted; runs exactly once.
  using Done = Reply;

  // `clock` must outlive the client; `logger` must not be null.
  RpcClient(boost::asio::any_io_executor executor, const Clock& clock, std::shared_ptr<spdlog::logger> logger,
            RpcClientOptions options);
  ~RpcClient();  // stop()s
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Calls `method` on the server at `server_address` ("ip:port", no names).
  // Errors through `done`: invalid_argument (the address is not ip:port, no
  // method), too_large (the request is over max_frame_bytes), unavailable
  // (see above), or whatever the server answered.
  void call(const std::string& server_address, std::string method, std::string payload,
            std::chrono::milliseconds timeout, Done done);

  // Closes the connections with no call in flight (e.g. to servers that left).
  void close_idle();

  // Fails every pending call with unavailable and closes every connection;
  // later calls fail at once. Idempotent.
  void stop();

  // Connections open or being dialled, to every server.
  size_t connections() const;
  RpcClientStats stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace roster::rpc
