#pragma once

// The outer layer of every gossip datagram and push-pull frame:
//
//   byte 0      kind (below): plain or encrypted, packet or push-pull
//   bytes 1-4   payload length, big-endian
//   payload     plain: the codec's bytes (codec.h)
//               encrypted: 12-byte nonce, AES-256-GCM ciphertext, 16-byte tag
//               compressed push-pull: the codec's bytes as a zlib stream
//               (compress.h), then encrypted or not as above
//               keyring: always encrypted (there is no plain kind)
//
// The kind byte makes plain and encrypted traffic (and a version change)
// detectable before anything is parsed; the length separates a truncated
// datagram from a garbled one, which encryption alone cannot. The 5-byte
// header is the AES-GCM associated data, so neither can be altered.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/gossip/wire/wire_error.h"
#include "common/status.h"

namespace roster::gossip::wire {

enum class EnvelopeKind : uint8_t {
  plain_packet = 0x01,
  encrypted_packet = 0x02,
  plain_push_pull = 0x03,
  encrypted_push_pull = 0x04,
  plain_compressed_push_pull = 0x05,
  encrypted_compressed_push_pull = 0x06,
  encrypted_keyring = 0x07,
};

// What a TCP or UDP exchange carries; each channel accepts only its kinds.
enum class Channel : uint8_t { packet, push_pull, keyring };

bool is_encrypted(EnvelopeKind kind);
bool is_compressed(EnvelopeKind kind);
Channel channel_of(EnvelopeKind kind);

inline constexpr size_t kEnvelopeHeaderBytes = 5;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
// Bytes a sealed envelope adds to its payload.
inline constexpr size_t kPlainOverhead = kEnvelopeHeaderBytes;
inline constexpr size_t kEncryptedOverhead = kEnvelopeHeaderBytes + kNonceBytes + kTagBytes;

// REQUIRES: payload_bytes <= UINT32_MAX.
std::string envelope_header(EnvelopeKind kind, size_t payload_bytes);

struct EnvelopeView {
  EnvelopeKind kind = EnvelopeKind::plain_packet;
  std::string_view header;   // the 5 header bytes
  std::string_view payload;  // exactly the announced length
};

// Splits an envelope. Errors (with `error` set when not null):
// invalid_argument/truncated (shorter than the header or the announced
// length), invalid_argument/garbage (unknown kind, bytes after the payload).
Result<EnvelopeView> parse_envelope(std::string_view bytes, WireError* error = nullptr);

}  // namespace roster::gossip::wire
