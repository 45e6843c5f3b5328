#include "agent/gossip/wire/framing.h"

#include <algorithm>
#include <cassert>

namespace roster::gossip::wire {

namespace {

uint32_t read_length(std::string_view header) {
  uint32_t length = 0;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) length = (length << 8) | static_cast<uint8_t>(header[i]);
  return length;
}

}  // namespace

std::string frame(std::string_view payload) {
  assert(payload.size() <= UINT32_MAX);
  const auto length = static_cast<uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.append(payload);
  return out;
}

Status FrameReader::check_header() {
  if (buffered() < kFrameHeaderBytes) return Status::ok();
  const uint32_t length = read_length(std::string_view(buffer_).substr(consumed_));
  if (length > max_frame_bytes_) {
    error_ = Status::too_large("frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                               std::to_string(max_frame_bytes_) + " bytes");
  }
  return error_;
}

Status FrameReader::feed(std::string_view bytes) {
  if (!error_.is_ok()) return error_;
  // Drop what earlier frames used before growing, so the buffer stays one
  // frame plus one read.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  // Append only up to the end of the header first, so an oversized
  // announcement is caught before its body is buffered.
  if (buffered() < kFrameHeaderBytes) {
    const size_t take = std::min(bytes.size(), kFrameHeaderBytes - buffered());
    buffer_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (Status s = check_header(); !s.is_ok()) return s;
  }
  buffer_.append(bytes);
  return Status::ok();
}

Result<std::optional<std::string>> FrameReader::next() {
  if (!error_.is_ok()) return error_;
  if (buffered() < kFrameHeaderBytes) return std::optional<std::string>();
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  const uint32_t length = read_length(pending);
  if (length > max_frame_bytes_) return check_header();
  if (pending.size() - kFrameHeaderBytes < length) return std::optional<std::string>();
  std::string payload(pending.substr(kFrameHeaderBytes, length));
  consumed_ += kFrameHeaderBytes + length;
  // A following frame's header may already be here; refuse it now if it is
  // oversized, so the error surfaces on the next call.
  (void)check_header();
  return std::optional<std::string>(std::move(payload));
}

}  // namespace roster::gossip::wire
