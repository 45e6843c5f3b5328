#pragma once

// AES-256-GCM sealing of envelope payloads (envelope.h) with a Keyring.

#include <string>
#include <string_view>

#include "agent/gossip/wire/envelope.h"
#include "agent/gossip/wire/keyring.h"
#include "agent/gossip/wire/random_source.h"
#include "common/status.h"

namespace roster::gossip::wire {

// A complete encrypted envelope of `kind` around `plaintext`, sealed with
// the primary key and a fresh 12-byte nonce from `random`:
//   kind, length, nonce, ciphertext, 16-byte tag.
// REQUIRES: is_encrypted(kind), plaintext.size() <= UINT32_MAX - kEncryptedOverhead.
// Errors: conflict (the keyring is empty), internal
// (random source or OpenSSL failed).
Result<std::string> encrypt(const Keyring& keyring, std::string_view plaintext, RandomSource& random,
                            EnvelopeKind kind = EnvelopeKind::encrypted_packet);

// Opens an encrypted envelope, trying the primary key first and then the
// others (so traffic sealed with a key being rotated out still opens).
// Errors: invalid_argument (not an encrypted envelope, or too short to hold
// nonce and tag), permission_denied (no installed key opens it, or it was
// altered).
Result<std::string> decrypt(const Keyring& keyring, std::string_view envelope);

}  // namespace roster::gossip::wire
