#pragma once

// The gossip encryption keys: AES-256 keys, one of them primary. Packets are
// sealed with the primary and opened with any installed key, so a key can be
// rotated without downtime: install the new key on every node, make it
// primary everywhere (`use`), then remove the old one.
//
// Keys are raw 32-byte strings here; on the CLI and in config they are
// base64, as `roster keygen` prints them (like `consul keygen`).
//
// Not thread-safe: owned by the gossip strand; the transport reads it there.

#include <string>
#include <string_view>
#include <vector>

#include "agent/gossip/wire/random_source.h"
#include "common/status.h"

namespace roster::gossip::wire {

inline constexpr size_t kKeyBytes = 32;

class Keyring {
 public:
  Keyring() = default;
  Keyring(const Keyring&) = default;
  Keyring& operator=(const Keyring&) = default;
  Keyring(Keyring&&) = default;
  Keyring& operator=(Keyring&&) = default;
  ~Keyring();  // wipes the keys from memory

  // Adds a key; the first key installed becomes primary. Installing an
  // installed key changes nothing. Errors: invalid_argument (not 32 bytes).
  Status install(std::string_view key);
  // Makes an installed key primary. Errors: invalid_argument, not_found.
  Status use(std::string_view key);
  // Removes a key. Removing a key that is not installed changes nothing.
  // Errors: invalid_argument, conflict (it is the primary).
  Status remove(std::string_view key);

  // Primary first, then the others in install order.
  const std::vector<std::string>& list() const { return keys_; }
  // REQUIRES: !empty().
  const std::string& primary() const { return keys_.front(); }
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

 private:
  std::vector<std::string> keys_;  // keys_[0] is the primary
};

// A new key from `random`, base64-encoded (what `roster keygen` prints).
Result<std::string> generate_key(RandomSource& random);
// Base64 text -> raw key. Errors: invalid_argument (bad base64, or not 32
// bytes: only AES-256 keys are accepted).
Result<std::string> decode_key(std::string_view base64);
// Raw key -> base64 text (for `roster keyring -list`).
std::string encode_key(std::string_view key);

}  // namespace roster::gossip::wire
