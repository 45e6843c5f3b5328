#pragma once

// RPC requests and responses as frames on the server port (proto/rpc.proto
// inside proto/raft.proto's ServerFrame), shared by the server side (the Raft
// transport, agent/raft/transport.h) and the client (rpc_client.h).
//
// Encoding gives a whole frame, length prefix included, so a sender writes it
// as is. Decoding takes a ServerFrame's payload, once raft::FrameReader (with
// serve_rpc) has split the stream and checked the envelope: the length limit
// and the cluster ID apply to RPC frames exactly as to Raft's.
//
// Decoding is for untrusted bytes: every refusal is an invalid_argument
// Status saying why, never an assert. Pure functions; protobuf stays in
// rpc_codec.cc.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster::rpc {

// Bounds on the envelope's own fields; a method name or node name past them
// is a broken or hostile peer. The payloads are bounded only by the frame.
inline constexpr size_t kMaxMethodBytes = 128;
inline constexpr size_t kMaxNodeNameBytes = 256;
inline constexpr size_t kMaxStatusMessageBytes = 64u << 10;

struct Request {
  uint64_t call_id = 0;  // never 0 on the wire
  std::string method;    // not empty, at most kMaxMethodBytes
  std::string from_node;
  std::string payload;

  bool operator==(const Request&) const = default;
};

struct Response {
  uint64_t call_id = 0;
  // ok: `payload` is the result. Otherwise the server's error, whose code and
  // message reach the caller unchanged; `payload` is then ignored.
  Status status;
  std::string payload;

  bool operator==(const Response&) const = default;
};

// The frame for `request`, length prefix included, sent as a client (from 0).
// REQUIRES: the encoded frame fits in a u32; callers compare the size with
// their own frame limit (frame_body_bytes) before writing it.
std::string encode_request_frame(std::string_view cluster_id, const Request& request);
std::string encode_response_frame(std::string_view cluster_id, const Response& response);

// The size of an encoded frame without its length prefix, for the frame limit.
size_t frame_body_bytes(const std::string& frame);

// From a ServerFrame payload of kind RPC_REQUEST. Refuses a call ID of 0, an
// empty or over-long method, an over-long node name.
Result<Request> decode_request(std::string_view payload);
// From a ServerFrame payload of kind RPC_RESPONSE. Refuses a call ID of 0, a
// status code this version does not know (a caller cannot act on it) and an
// over-long message.
Result<Response> decode_response(std::string_view payload);

}  // namespace roster::rpc
