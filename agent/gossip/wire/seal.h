#pragma once

// The transport's two entry points per direction: seal a Packet or PushPull
// into bytes to send, and open received bytes into one, counting every drop.
//
// Encryption is on when `keyring` is non-null and not empty. Then only
// encrypted envelopes are accepted ("plain packet refused: encryption is
// enabled"), and a node whose key is not installed here is refused with
// permission_denied, whose message says to check the -encrypt key.
//
// Opening runs: envelope -> (decrypt) -> replay check -> decode, and adds
// exactly one to the counter of the step that failed. Every failure is an
// expected outcome of hostile or mismatched input; none crashes.

#include <string>
#include <string_view>

#include "agent/gossip/messages.h"
#include "agent/gossip/wire/codec.h"
#include "agent/gossip/wire/keyring.h"
#include "agent/gossip/wire/random_source.h"
#include "agent/gossip/wire/replay_filter.h"
#include "agent/gossip/wire/wire_error.h"
#include "common/status.h"

namespace roster::gossip::wire {

// What sealing adds to an encoded payload: kPlainOverhead or
// kEncryptedOverhead. pack() gets the datagram limit minus this.
size_t seal_overhead(const Keyring* keyring);

// Errors: internal (random source or OpenSSL failed).
Result<std::string> seal_packet(const Packet& packet, const Keyring* keyring, RandomSource& random);
// Seals one of pack()'s encoded packets without decoding it again.
Result<std::string> seal_encoded_packet(std::string_view encoded_packet, const Keyring* keyring,
                                        RandomSource& random);
// Push-pull state is compressed (compress.h) before it is sealed.
Result<std::string> seal_push_pull(const PushPull& push_pull, const Keyring* keyring, RandomSource& random);

// `replay` may be null (no replay check). When `error` is not null it is set
// to the reason of a failure (WireError::none on success). Messages of an
// unknown type are dropped from an otherwise good packet and counted in
// counters.unknown_type.
Result<Packet> open_packet(std::string_view datagram, const Keyring* keyring, ReplayFilter* replay,
                           const DecodeLimits& limits, WireCounters& counters, WireError* error = nullptr);
// The same for one push-pull frame's payload (framing.h strips the frame).
// Compressed and uncompressed push-pull envelopes are both accepted; a
// compressed one that expands past limits.max_push_pull_bytes is oversized.
Result<PushPull> open_push_pull(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                const DecodeLimits& limits, WireCounters& counters, WireError* error = nullptr);

// Keyring operations travel only encrypted: sealing without keys fails
// (unavailable), and opening refuses plain input like any other channel.
Result<std::string> seal_keyring_request(const KeyringRequest& request, const Keyring* keyring,
                                         RandomSource& random);
Result<std::string> seal_keyring_reply(const KeyringReply& reply, const Keyring* keyring, RandomSource& random);
Result<KeyringRequest> open_keyring_request(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                            WireCounters& counters, WireError* error = nullptr);
Result<KeyringReply> open_keyring_reply(std::string_view bytes, const Keyring* keyring, ReplayFilter* replay,
                                        const DecodeLimits& limits, WireCounters& counters,
                                        WireError* error = nullptr);

}  // namespace roster::gossip::wire
