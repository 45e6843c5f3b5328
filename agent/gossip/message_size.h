#pragma once

// Size estimates for packing messages into datagrams without encoding them.
// Each estimate is an upper bound on the protobuf encoding in
// proto/gossip.proto (wire/codec.h's encoded_size), so a packet that fits by
// estimate fits on the wire.

#include <cstddef>

#include "agent/gossip/messages.h"

namespace roster::gossip {

// Upper bound of the bytes `message` adds to an encoded Packet (exact but for
// zero-valued fields, which proto3 omits and this counts).
size_t estimated_size(const Message& message);
size_t estimated_size(const Member& member);
size_t estimated_size(const TagMap& tags);

// Envelope, nonce and AES-GCM tag around a packet's payload, with slack.
inline constexpr size_t kPacketOverheadBytes = 48;

}  // namespace roster::gossip
