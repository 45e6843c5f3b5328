#include "agent/gossip/wire/seal.h"

#include "agent/gossip/wire/cipher.h"
#include "agent/gossip/wire/compress.h"
#include "agent/gossip/wire/envelope.h"

namespace roster::gossip::wire {

namespace {

bool encryption_enabled(const Keyring* keyring) { return keyring != nullptr && !keyring->empty(); }

Result<std::string> seal_payload(std::string_view payload, const Keyring* keyring, RandomSource& random,
                                 EnvelopeKind plain, EnvelopeKind encrypted) {
  if (encryption_enabled(keyring)) return encrypt(*keyring, payload, random, encrypted);
  if (payload.size() > UINT32_MAX) return Status::too_large("payload too large for an envelope");
  std::string out = envelope_header(plain, payload.size());
  out.append(payload);
  return out;
}

struct Opened {
  bool decrypted = false;
  bool compressed = false;
  std::string plaintext;         // when decrypted
  std::string_view plain_input;  // otherwise: a view into the caller's bytes
  std::string_view payload() const { return decrypted ? std::string_view(plaintext) : plain_input; }
};

// Envelope, decryption and replay check: everything before decoding.
Result<Opened> open_payload(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                            size_t max_payload_bytes, Channel channel, WireError& error) {
  // Refuse oversized input before looking further: its announced length
  // could be anything.
  if (bytes.size() > max_payload_bytes + kEncryptedOverhead) {
    error = WireError::oversized;
    return Status::too_large(std::to_string(bytes.size()) + " bytes exceed the limit of " +
                             std::to_string(max_payload_bytes + kEncryptedOverhead));
  }
  auto view = parse_envelope(bytes, &error);
  if (!view.is_ok()) return view.status();
  if (channel_of(view->kind) != channel) {
    error = WireError::garbage;
    return Status::invalid_argument("envelope of the wrong kind for this channel");
  }
  Opened opened;
  opened.compressed = is_compressed(view->kind);
  if (!is_encrypted(view->kind)) {
    if (encryption_enabled(keyring)) {
      error = WireError::plain_refused;
      return Status::permission_denied("plain packet refused: encryption is enabled");
    }
    opened.plain_input = view->payload;
    return opened;
  }
  if (!encryption_enabled(keyring)) {
    error = WireError::wrong_key;
    return Status::permission_denied("encrypted packet refused: encryption is not enabled here (no -encrypt key)");
  }
  auto plaintext = decrypt(*keyring, bytes);
  if (!plaintext.is_ok()) {
    error = plaintext.status().code() == StatusCode::permission_denied ? WireError::wrong_key : WireError::garbage;
    return plaintext.status();
  }
  if (replay && replay->seen_before(view->payload.substr(0, kNonceBytes))) {
    error = WireError::replayed;
    return Status::permission_denied("replayed packet: its nonce was seen before");
  }
  opened.decrypted = true;
  opened.plaintext = std::move(plaintext).value();
  return opened;
}

template <typename T, typename Decode>
Result<T> open_any(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay, size_t max_payload_bytes,
                   Channel channel, WireCounters& counters, WireError* error_out, Decode decode) {
  WireError error = WireError::none;
  auto finish = [&](Status status) -> Result<T> {
    counters.add(error);
    if (error_out) *error_out = error;
    return status;
  };
  auto opened = open_payload(bytes, keyring, replay, max_payload_bytes, channel, error);
  if (!opened.is_ok()) return finish(opened.status());
  std::string inflated;
  std::string_view payload = opened->payload();
  if (opened->compressed) {
    auto decompressed = decompress(payload, max_payload_bytes);
    if (!decompressed.is_ok()) {
      error = decompressed.status().code() == StatusCode::too_large ? WireError::oversized : WireError::garbage;
      return finish(decompressed.status());
    }
    inflated = std::move(decompressed).value();
    payload = inflated;
  }
  DecodeReport report;
  Result<T> decoded = decode(payload, report);
  // Unknown messages count whether or not the rest of the packet survived.
  counters.unknown_type += report.unknown_messages;
  if (!decoded.is_ok()) {
    if (report.error != WireError::unknown_type) counters.add(report.error);
    if (error_out) *error_out = report.error;
    return decoded;
  }
  if (error_out) *error_out = WireError::none;
  return decoded;
}

}  // namespace

size_t seal_overhead(const Keyring* keyring) {
  return encryption_enabled(keyring) ? kEncryptedOverhead : kPlainOverhead;
}

Result<std::string> seal_encoded_packet(std::string_view encoded_packet, const Keyring* keyring,
                                        RandomSource& random) {
  return seal_payload(encoded_packet, keyring, random, EnvelopeKind::plain_packet, EnvelopeKind::encrypted_packet);
}

Result<std::string> seal_packet(const Packet& packet, const Keyring* keyring, RandomSource& random) {
  return seal_encoded_packet(encode_packet(packet), keyring, random);
}

Result<std::string> seal_push_pull(const PushPull& push_pull, const Keyring* keyring, RandomSource& random) {
  return seal_payload(compress(encode_push_pull(push_pull)), keyring, random, EnvelopeKind::plain_compressed_push_pull,
                      EnvelopeKind::encrypted_compressed_push_pull);
}

Result<Packet> open_packet(std::string_view datagram, const Keyring* keyring, ReplayFilter* replay,
                           const DecodeLimits& limits, WireCounters& counters, WireError* error) {
  return open_any<Packet>(datagram, keyring, replay, limits.max_packet_bytes, Channel::packet, counters, error,
                          [&](std::string_view payload, DecodeReport& report) {
                            return decode_packet(payload, limits, &report);
                          });
}

Result<PushPull> open_push_pull(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                const DecodeLimits& limits, WireCounters& counters, WireError* error) {
  return open_any<PushPull>(bytes, keyring, replay, limits.max_push_pull_bytes, Channel::push_pull, counters, error,
                            [&](std::string_view payload, DecodeReport& report) {
                              return decode_push_pull(payload, limits, &report);
                            });
}

namespace {

Result<std::string> seal_keyring(std::string encoded, const Keyring* keyring, RandomSource& random) {
  if (!encryption_enabled(keyring)) {
    return Status::unavailable("keyring operations need gossip encryption (-encrypt)");
  }
  return encrypt(*keyring, encoded, random, EnvelopeKind::encrypted_keyring);
}

template <typename T, typename Decode>
Result<T> open_keyring(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay, WireCounters& counters,
                       WireError* error, Decode decode) {
  return open_any<T>(bytes, keyring, replay, kMaxKeyringBytes, Channel::keyring, counters, error,
                     [&](std::string_view payload, DecodeReport& report) { return decode(payload, &report); });
}

}  // namespace

Result<std::string> seal_keyring_request(const KeyringRequest& request, const Keyring* keyring,
                                         RandomSource& random) {
  return seal_keyring(encode_keyring_request(request), keyring, random);
}

Result<std::string> seal_keyring_reply(const KeyringReply& reply, const Keyring* keyring, RandomSource& random) {
  return seal_keyring(encode_keyring_reply(reply), keyring, random);
}

Result<KeyringRequest> open_keyring_request(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                            WireCounters& counters, WireError* error) {
  return open_keyring<KeyringRequest>(bytes, keyring, replay, counters, error,
                                      [](std::string_view payload, DecodeReport* report) {
                                        return decode_keyring_request(payload, report);
                                      });
}

Result<KeyringReply> open_keyring_reply(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                        const DecodeLimits& limits, WireCounters& counters, WireError* error) {
  return open_keyring<KeyringReply>(bytes, keyring, replay, counters, error,
                                    [&](std::string_view payload, DecodeReport* report) {
                                      return decode_keyring_reply(payload, limits, report);
                                    });
}

}  // namespace roster::gossip::wire
