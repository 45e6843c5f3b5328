// libFuzzer target for the Raft frame codec (agent/raft/wire_codec.h):
// arbitrary bytes go through FrameReader as a stream from a hostile peer.
// The properties: nothing crashes, leaks or trips a sanitizer; every refusal
// has a cause and words; nothing is buffered past an oversized header; and
// every Message accepted encodes and decodes back to itself.
//
// Input layout:
//   byte 0   control bits:
//              bits 0-1  the receiver's frame limit: 64, 4096, 1 MiB, kDefaultMaxFrameBytes
//              bit 2     feed the stream in growing pieces (1, 3, 7, ... bytes) instead of at once
//              bit 3     the rest is one frame's payload: the length prefix is added here,
//                        so the decoder is reached without guessing a length
//   bytes 1..  the stream (or the payload).
//
// Seeds are in tests/fuzz/raft_corpus/; bench/fuzz.sh 300 raft_frame_fuzz
// builds and runs it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/raft/wire_codec.h"

namespace raft = roster::raft;

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

void check_frame(const raft::DecodedFrame& frame) {
  if (frame.error != raft::FrameError::none) {
    check(!frame.detail.empty());
    return;
  }
  check(frame.message.from != raft::kNoServer && frame.message.from == frame.from);
  // What was accepted is what a sender would produce: it survives a round trip.
  const std::string again = raft::encode_frame(kCluster, frame.message);
  raft::FrameReader reader(kCluster, raft::kMaxFrameBytes);
  reader.feed(again);
  auto decoded = reader.next();
  check(decoded.has_value() && decoded->error == raft::FrameError::none);
  check(decoded->message == frame.message);
  check(!reader.next().has_value() && reader.buffered() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string wrapped;
  if (control & 8) {
    const auto length = static_cast<uint32_t>(bytes.size());
    wrapped = {static_cast<char>(length >> 24), static_cast<char>(length >> 16), static_cast<char>(length >> 8),
               static_cast<char>(length)};
    wrapped.append(bytes);
    bytes = wrapped;
  }

  const size_t limit = frame_limit(control);
  raft::FrameReader reader(kCluster, limit);
  size_t piece = (control & 4) ? 1 : bytes.size();
  bool oversized_seen = false;
  while (!bytes.empty()) {
    const size_t take = std::min(piece, bytes.size());
    reader.feed(bytes.substr(0, take));
    bytes.remove_prefix(take);
    piece = piece * 2 + 1;
    // One frame plus what was fed since the last drain.
    check(reader.buffered() <= raft::kFrameHeaderBytes + limit + take);
    while (auto frame = reader.next()) {
      check(!oversized_seen);  // the oversized error is reported once, last
      if (frame->error == raft::FrameError::oversized) {
        oversized_seen = true;
        check(reader.failed() && reader.buffered() == 0);
      }
      check_frame(*frame);
    }
  }
  if (auto left = reader.finish()) {
    check(left->error == raft::FrameError::truncated && !reader.failed());
  }
  return 0;
}
