#pragma once

// SWIM messages <-> bytes of proto/gossip.proto. This is the payload inside an
// envelope (envelope.h); seal.h adds the envelope, encryption and counting.
//
// Decoding treats its input as hostile: it checks every size against
// DecodeLimits before it allocates for it, parses one repeated element at a
// time, and validates names, addresses, states and tag maps. It never
// crashes and never allocates more than a small multiple of the input size.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/gossip/messages.h"
#include "agent/gossip/wire/wire_error.h"
#include "common/status.h"

namespace roster::gossip::wire {

struct DecodeLimits {
  size_t max_packet_bytes = 65536;              // an encoded Packet (a UDP payload)
  size_t max_push_pull_bytes = 8 * 1024 * 1024;  // an encoded PushPull
  size_t max_messages = 512;                     // per packet
  size_t max_members = 100000;                   // per push-pull
  size_t max_name_bytes = 256;                   // node names, in every message
  size_t max_id_bytes = 128;                     // Member::id
  size_t max_address_bytes = 64;                 // "ip:port" / "[ipv6]:port"
  size_t max_tags = 1024;                        // entries per member
  size_t max_tag_bytes = 64 * 1024;              // keys + values per member
  size_t max_user_event_bytes = 9 * 1024;        // a user event's fields together (Serf's sane limit)
  size_t max_push_pull_events = 4096;            // user events per push-pull
};

// What decoding found besides its result. `error` says why a decode failed
// (garbage, oversized or unknown_type); `unknown_messages` counts messages of
// an unknown type that a successful decode dropped.
struct DecodeReport {
  WireError error = WireError::none;
  size_t unknown_messages = 0;
};

std::string encode_packet(const Packet& packet);

// Errors: too_large (over a limit), invalid_argument (malformed, invalid
// field, empty packet, or only unknown message types: "unknown message type").
// Messages of an unknown type (a newer peer's) are dropped and the rest kept.
// Unknown fields are ignored. `report` may be null.
Result<Packet> decode_packet(std::string_view bytes, const DecodeLimits& limits,
                             DecodeReport* report = nullptr);

std::string encode_push_pull(const PushPull& push_pull);
// Same errors as decode_packet, with the push-pull limits.
Result<PushPull> decode_push_pull(std::string_view bytes, const DecodeLimits& limits,
                                  DecodeReport* report = nullptr);

// Keyring operations. Each is one small message (at most kMaxKeyringBytes);
// keys must be exactly 32 bytes. Errors: too_large, invalid_argument
// (malformed, a request where a reply is expected or the reverse, a bad op
// or key length, a reply naming no node).
inline constexpr size_t kMaxKeyringBytes = 16 * 1024;
std::string encode_keyring_request(const KeyringRequest& request);
Result<KeyringRequest> decode_keyring_request(std::string_view bytes, DecodeReport* report = nullptr);
std::string encode_keyring_reply(const KeyringReply& reply);
Result<KeyringReply> decode_keyring_reply(std::string_view bytes, const DecodeLimits& limits,
                                          DecodeReport* report = nullptr);

// Exactly the bytes `message` adds to encode_packet()'s output:
// encode_packet(p).size() == sum of encoded_size(m) over p.messages.
size_t encoded_size(const Message& message);

// Packs `messages`, in order, into encoded packets of at most
// `max_packet_bytes` each (pass the datagram limit minus seal_overhead()).
// A message that alone exceeds the limit goes into no packet: it is appended
// to `too_large` (when not null) so the caller can send it another way (TCP),
// and dropped otherwise. No messages -> no packets.
std::vector<std::string> pack(const std::vector<Message>& messages, size_t max_packet_bytes,
                              std::vector<Message>* too_large = nullptr);

// True for "a.b.c.d:port" and "[ipv6]:port" with a port in 1..65535.
bool is_ip_port(std::string_view address);

}  // namespace roster::gossip::wire
