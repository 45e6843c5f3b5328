#pragma once

// Raft messages as frames on the server RPC port (proto/raft.proto).
//
// A frame is a 4-byte big-endian payload length, then a ServerFrame: the
// cluster ID, the sender's server ID, a kind (Raft, or an RPC request or
// response on the same port) and the payload, for Raft an encoded Message.
// RPC payloads are left as bytes here: their codec is agent/rpc/rpc_codec.h,
// and a receiver that serves RPC asks for them (serve_rpc) so that one reader
// splits a stream for both families.
//
// Decoding is for untrusted bytes: every refusal is a typed FrameError with
// words for the log, never an assert. A decoded Message has been validated:
// known type and entry types, a sender (not kNoServer) that matches the
// frame's, entries numbered log_index + 1, log_index + 2, ... with terms that
// never decrease and never exceed the message's term, and configuration
// servers with distinct, non-zero IDs. What Raft itself decides (is the term
// current, does the log match) is left to the core.
//
// Pure functions and a plain object; protobuf stays in wire_codec.cc.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent/raft/types.h"

namespace roster::raft {

inline constexpr size_t kFrameHeaderBytes = 4;
// No receiver accepts a bigger frame, whatever it is configured with.
inline constexpr size_t kMaxFrameBytes = 64u << 20;
// A receiver's default limit: room for a batch of entries or a snapshot chunk.
inline constexpr size_t kDefaultMaxFrameBytes = 8u << 20;

enum class FrameError : uint8_t {
  none = 0,
  oversized,        // the length prefix announces more than the limit (the stream cannot go on)
  truncated,        // the stream ended inside a frame
  malformed,        // the payload does not parse, or the Message does not validate
  foreign_cluster,  // a well-formed frame from another cluster
  unknown_kind,     // a well-formed frame of a kind this receiver does not serve
};

// "oversized", "truncated", ... for logs and counters.
const char* frame_error_name(FrameError error);

// What a well-formed frame carries.
enum class FrameKind : uint8_t {
  raft,          // DecodedFrame::message
  rpc_request,   // DecodedFrame::rpc_payload is an RpcRequest, not yet decoded
  rpc_response,  // DecodedFrame::rpc_payload is an RpcResponse, not yet decoded
};

// The frame for `message`, length prefix included, sent as message.from.
// REQUIRES: the encoded payload fits in a u32 (the transport refuses to send
// anything over its own limit, far below that).
std::string encode_frame(std::string_view cluster_id, const Message& message);

// What one frame decoded to.
struct DecodedFrame {
  FrameError error = FrameError::none;
  std::string detail;  // why it was refused, for a person; empty when error == none
  ServerId from = kNoServer;  // the frame's sender when its envelope parsed, else kNoServer
  FrameKind kind = FrameKind::raft;  // meaningful only when error == none
  Message message;                   // meaningful only when error == none and kind == raft
  std::string rpc_payload;           // meaningful only when error == none and kind is an RPC kind
};

// Decodes one frame's payload (after the length prefix) for a receiver in
// `cluster_id`. RPC frames are unknown_kind unless `serve_rpc`; the cluster
// check applies to them all. Never fails other than through DecodedFrame::error.
DecodedFrame decode_frame_payload(std::string_view cluster_id, std::string_view payload, bool serve_rpc = false);

// Reassembles and decodes frames from a byte stream that arrives in pieces.
//
// A length prefix over `max_frame_bytes` is refused as soon as its four bytes
// are in, before any of the body is buffered; that error is sticky (failed()),
// since the stream cannot be resynchronised. Every other error concerns one
// frame and the stream goes on: the caller decides whether to keep reading.
//
// Memory: at most one frame plus what was fed since the last next() that
// returned nullopt; callers feed bounded reads and drain with next().
//
// Not thread-safe; owned by one connection.
class FrameReader {
 public:
  // REQUIRES: max_frame_bytes <= kMaxFrameBytes. `serve_rpc` as for
  // decode_frame_payload.
  FrameReader(std::string cluster_id, size_t max_frame_bytes, bool serve_rpc = false);

  // Buffers bytes. After failed(), bytes are ignored.
  void feed(std::string_view bytes);

  // The next complete frame, decoded (or refused); nullopt when more bytes
  // are needed. Once failed(), returns the oversized error once, then nullopt.
  std::optional<DecodedFrame> next();

  // For the end of the stream: a truncated error when part of a frame is
  // left over, nullopt when the stream stopped on a frame boundary.
  std::optional<DecodedFrame> finish() const;

  bool failed() const { return oversized_length_.has_value(); }
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  void check_header();

  std::string cluster_id_;
  size_t max_frame_bytes_;
  bool serve_rpc_;
  std::string buffer_;
  size_t consumed_ = 0;
  std::optional<uint32_t> oversized_length_;
  bool oversized_reported_ = false;
};

}  // namespace roster::raft
