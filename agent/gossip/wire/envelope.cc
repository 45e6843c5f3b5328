#include "agent/gossip/wire/envelope.h"

#include <cassert>

namespace roster::gossip::wire {

bool is_encrypted(EnvelopeKind kind) {
  return kind == EnvelopeKind::encrypted_packet || kind == EnvelopeKind::encrypted_push_pull ||
         kind == EnvelopeKind::encrypted_compressed_push_pull || kind == EnvelopeKind::encrypted_keyring;
}

bool is_compressed(EnvelopeKind kind) {
  return kind == EnvelopeKind::plain_compressed_push_pull || kind == EnvelopeKind::encrypted_compressed_push_pull;
}

Channel channel_of(EnvelopeKind kind) {
  switch (kind) {
    case EnvelopeKind::plain_packet:
    case EnvelopeKind::encrypted_packet:
      return Channel::packet;
    case EnvelopeKind::plain_push_pull:
    case EnvelopeKind::encrypted_push_pull:
    case EnvelopeKind::plain_compressed_push_pull:
    case EnvelopeKind::encrypted_compressed_push_pull:
      return Channel::push_pull;
    case EnvelopeKind::encrypted_keyring:
      return Channel::keyring;
  }
  return Channel::packet;
}

std::string envelope_header(EnvelopeKind kind, size_t payload_bytes) {
  assert(payload_bytes <= UINT32_MAX);
  const auto length = static_cast<uint32_t>(payload_bytes);
  std::string header(kEnvelopeHeaderBytes, '\0');
  header[0] = static_cast<char>(kind);
  header[1] = static_cast<char>(length >> 24);
  header[2] = static_cast<char>(length >> 16);
  header[3] = static_cast<char>(length >> 8);
  header[4] = static_cast<char>(length);
  return header;
}

Result<EnvelopeView> parse_envelope(std::string_view bytes, WireError* error) {
  auto fail = [&](WireError why, std::string message) -> Status {
    if (error) *error = why;
    return Status::invalid_argument(std::move(message));
  };
  if (error) *error = WireError::none;
  if (bytes.empty()) return fail(WireError::truncated, "empty envelope");
  const auto kind = static_cast<uint8_t>(bytes[0]);
  if (kind < static_cast<uint8_t>(EnvelopeKind::plain_packet) ||
      kind > static_cast<uint8_t>(EnvelopeKind::encrypted_keyring)) {
    return fail(WireError::garbage, "unknown envelope kind " + std::to_string(kind));
  }
  if (bytes.size() < kEnvelopeHeaderBytes) return fail(WireError::truncated, "envelope header is truncated");
  uint64_t length = 0;
  for (size_t i = 1; i < kEnvelopeHeaderBytes; ++i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  const size_t available = bytes.size() - kEnvelopeHeaderBytes;
  if (available < length) {
    return fail(WireError::truncated, "envelope announces " + std::to_string(length) + " bytes, " +
                                          std::to_string(available) + " arrived");
  }
  if (available > length) return fail(WireError::garbage, "bytes after the envelope's payload");
  EnvelopeView view;
  view.kind = static_cast<EnvelopeKind>(kind);
  view.header = bytes.substr(0, kEnvelopeHeaderBytes);
  view.payload = bytes.substr(kEnvelopeHeaderBytes);
  return view;
}

}  // namespace roster::gossip::wire
