#pragma once

// Agent<->server and server<->server RPC on the server port (8300).
//
// The port is shared with Raft (agent/raft/transport.h): every frame is a
// ServerFrame (proto/raft.proto) whose kind says what its payload is. An RPC
// request frame carries an RpcRequest (proto/rpc.proto): a call ID chosen by
// the caller, a method name ("Catalog.Apply", "Api.Forward", ...), the calling
// agent's node name and opaque bytes. The answer is an RpcResponse on the same
// connection with the same call ID: a status code and message, or the result
// bytes. Calls are multiplexed: one connection carries many calls at once, and
// answers come back in whatever order they finish.
//
// What a method does is not this layer's business: the server hands each call
// to an RpcHandler with a Reply to call exactly once (now or later: a blocking
// query answers minutes later). Errors travel as the server's Status, code and
// message unchanged, so a not_leader from the server is a not_leader to the
// caller.
//
// Where it lives: the server side is the Raft transport, which owns the
// port's listener (raft::TransportOptions::rpc_handler); the calling side is
// RpcClient (rpc_client.h); the frames are rpc_codec.h's.
//
// Thread affinity: everything runs on the executor it was given (the agent's
// io_context thread); handlers and callbacks are posted there, never called
// from inside the method that registered them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace roster::rpc {

// The caller of one RPC, as the server saw it.
struct CallInfo {
  std::string from_node;     // the node name the caller gave
  std::string peer_address;  // "ip:port" of the connection
};

// Called exactly once per call; a call whose connection closed meanwhile
// drops the answer (and counts it).
using Reply = std::function<void(Result<std::string>)>;

// Serves one call. `method` and `payload` are the request's; what is unknown
// or malformed is answered with an error Status, never a crash.
using RpcHandler = std::function<void(const CallInfo& caller, const std::string& method, std::string payload,
                                      Reply reply)>;

}  // namespace roster::rpc
