#pragma once

// Ed25519 signing keys (OpenSSL 3), for deploy bundles.
//
// A private key file is PEM (PKCS#8), written with mode 0600 by
// `roster-deploy keygen`. A public key travels as the base64 of its raw 32
// bytes: that is what an agent lists in exec.trusted_keys.
//
// Thread safety: a SigningKey may sign from several threads at once (each
// call makes its own OpenSSL context).

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace roster {

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  static Result<SigningKey> generate();
  // Errors: not_found (no file), invalid_argument (not a PEM Ed25519 private
  // key; the message names the file).
  static Result<SigningKey> load(const std::string& path);
  // Writes the PEM private key to `path` (created with mode 0600, replaced
  // atomically). Errors: already_exists when `path` exists and !overwrite
  // (StatusCode::conflict, which is how Status spells it).
  Status save(const std::string& path, bool overwrite) const;

  std::string public_key_raw() const;     // 32 bytes
  std::string public_key_base64() const;  // what exec.trusted_keys lists
  std::string sign(std::string_view message) const;  // 64 bytes (empty only if OpenSSL fails)

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// False for a bad signature, a key that is not 32 bytes, or a signature
// that is not 64 bytes. Never throws.
bool verify_ed25519(std::string_view public_key_raw, std::string_view message, std::string_view signature);

// The raw 32 bytes of a base64 public key; invalid_argument otherwise.
Result<std::string> decode_public_key(std::string_view base64);

}  // namespace roster
