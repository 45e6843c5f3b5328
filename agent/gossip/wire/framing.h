#pragma once

// Length-prefixed frames for push-pull over TCP: a 4-byte big-endian payload
// length, then the payload (a sealed push-pull envelope, see seal.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster::gossip::wire {

inline constexpr size_t kFrameHeaderBytes = 4;

// REQUIRES: payload.size() <= UINT32_MAX.
std::string frame(std::string_view payload);

// Reassembles frames from a byte stream that arrives in arbitrary pieces.
// A frame whose header announces more than `max_frame_bytes` is refused as
// soon as its header is complete, before any of its body is buffered; the
// error is sticky, since the stream cannot be resynchronised.
//
// Memory: the reader buffers what it is fed and not yet taken. Callers feed
// bounded reads and drain with next() after each feed, so it holds at most
// one frame plus one read.
//
// Not thread-safe; owned by one connection's strand.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Errors: too_large when a frame header announces more than the limit.
  Status feed(std::string_view bytes);

  // The next complete frame's payload, nullopt when more bytes are needed.
  // Errors: the sticky error from feed().
  Result<std::optional<std::string>> next();

  // Bytes fed and not yet returned as frames.
  size_t buffered() const { return buffer_.size() - consumed_; }
  // True when no partial frame is pending (a clean place for the peer to stop).
  bool at_frame_boundary() const { return buffered() == 0; }

 private:
  Status check_header();

  size_t max_frame_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;
  Status error_;
};

}  // namespace roster::gossip::wire
