// libFuzzer target for the RPC frame codec (agent/rpc/rpc_codec.h) behind
// the server port's frame reader (agent/raft/wire_codec.h, serve_rpc): the
// bytes a hostile client sends a server, or a hostile server sends a client.
// The properties: nothing crashes, leaks or trips a sanitizer; every refusal
// has words; and every request or response accepted encodes and decodes
// back to itself.
//
// Input layout:
//   byte 0   control bits:
//              bits 0-1  the receiver's frame limit: 64, 4096, 1 MiB, kDefaultMaxFrameBytes
//              bit 2     feed the stream in growing pieces (1, 3, 7, ... bytes) instead of at once
//              bit 3     the rest is one frame's payload: the length prefix is added here
//              bit 4     the rest goes straight to decode_request and decode_response (no envelope)
//   bytes 1..  the stream (or the payload).
//
// Seeds are in tests/fuzz/rpc_corpus/ (tests/fuzz/make_rpc_corpus.py writes
// them); bench/fuzz.sh 300 rpc_frame_fuzz builds and runs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/raft/wire_codec.h"
#include "agent/rpc/rpc_codec.h"

namespace raft = roster::raft;
namespace rpc = roster::rpc;

namespace {

const std::string kCluster = "fuzz-cluster";

void check(bool condition) {
  if (!condition) __builtin_trap();
}

size_t frame_limit(uint8_t control) {
  switch (control & 3) {
    case 0: return 64;
    case 1: return 4096;
    case 2: return 1u << 20;
    default: return raft::kDefaultMaxFrameBytes;
  }
}

// The one frame in `frame`, read back as a receiver would.
raft::DecodedFrame read_back(const std::string& frame) {
  raft::FrameReader reader(kCluster, raft::kMaxFrameBytes, /*serve_rpc=*/true);
  reader.feed(frame);
  auto decoded = reader.next();
  check(decoded.has_value() && decoded->error == raft::FrameError::none);
  check(!reader.next().has_value() && reader.buffered() == 0);
  return std::move(*decoded);
}

void check_request(std::string_view payload) {
  auto request = rpc::decode_request(payload);
  if (!request.is_ok()) {
    check(!request.status().is_ok() && !request.status().message().empty());
    return;
  }
  check(request->call_id != 0 && !request->method.empty() && request->method.size() <= rpc::kMaxMethodBytes &&
        request->from_node.size() <= rpc::kMaxNodeNameBytes);
  raft::DecodedFrame again = read_back(rpc::encode_request_frame(kCluster, *request));
  check(again.kind == raft::FrameKind::rpc_request);
  auto decoded = rpc::decode_request(again.rpc_payload);
  check(decoded.is_ok() && *decoded == *request);
}

void check_response(std::string_view payload) {
  auto response = rpc::decode_response(payload);
  if (!response.is_ok()) {
    check(!response.status().is_ok() && !response.status().message().empty());
    return;
  }
  check(response->call_id != 0);
  check(response->status.is_ok() || response->payload.empty());
  raft::DecodedFrame again = read_back(rpc::encode_response_frame(kCluster, *response));
  check(again.kind == raft::FrameKind::rpc_response);
  auto decoded = rpc::decode_response(again.rpc_payload);
  check(decoded.is_ok() && *decoded == *response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (control & 16) {
    check_request(bytes);
    check_response(bytes);
    return 0;
  }
  std::string wrapped;
  if (control & 8) {
    const auto length = static_cast<uint32_t>(bytes.size());
    wrapped = {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
               static_cast<char>(length)};
    wrapped.append(bytes);
    bytes = wrapped;
  }

  const size_t limit = frame_limit(control);
  raft::FrameReader reader(kCluster, limit, /*serve_rpc=*/true);
  size_t piece = (control & 4) ? 1 : bytes.size();
  while (!bytes.empty()) {
    const size_t take = std::min(piece, bytes.size());
    reader.feed(bytes.substr(0, take));
    bytes.remove_prefix(take);
    piece = piece * 2 + 1;
    check(reader.buffered() <= raft::kFrameHeaderBytes + limit + take);
    while (auto frame = reader.next()) {
      if (frame->error != raft::FrameError::none) {
        check(!frame->detail.empty());
        continue;
      }
      switch (frame->kind) {
        case raft::FrameKind::rpc_request: check_request(frame->rpc_payload); break;
        case raft::FrameKind::rpc_response: check_response(frame->rpc_payload); break;
        case raft::FrameKind::raft: check(frame->message.from == frame->from); break;
      }
    }
  }
  if (auto left = reader.finish()) check(left->error == raft::FrameError::truncated);
  return 0;
}
