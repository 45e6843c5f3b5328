#pragma once

// Bytes of a protobuf varint: shared by the wire codec (exact packing) and
// the message-size estimates Swim packs datagrams with.

#include <cstddef>
#include <cstdint>

namespace roster::gossip {

inline constexpr size_t varint_size(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

}  // namespace roster::gossip
