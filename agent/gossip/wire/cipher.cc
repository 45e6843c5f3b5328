#include "agent/gossip/wire/cipher.h"

#include <openssl/evp.h>

#include <array>
#include <cassert>
#include <climits>
#include <memory>

namespace roster::gossip::wire {

namespace {

struct CipherContextFree {
  void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextFree>;

const unsigned char* bytes_of(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }
unsigned char* bytes_of(std::string& text) { return reinterpret_cast<unsigned char*>(text.data()); }

// Opens `sealed` (nonce, ciphertext, tag) with one key; false when the tag
// does not verify.
bool open_with(std::string_view key, std::string_view header, std::string_view sealed, std::string& plaintext) {
  const std::string_view nonce = sealed.substr(0, kNonceBytes);
  const std::string_view ciphertext = sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  CipherContext context(EVP_CIPHER_CTX_new());
  if (!context) return false;
  int length = 0;
  plaintext.assign(ciphertext.size(), '\0');
  if (EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(context.get(), nullptr, nullptr, bytes_of(key), bytes_of(nonce)) != 1 ||
      EVP_DecryptUpdate(context.get(), nullptr, &length, bytes_of(header), static_cast<int>(header.size())) != 1 ||
      EVP_DecryptUpdate(context.get(), bytes_of(plaintext), &length, bytes_of(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return false;
  }
  int final_length = 0;
  // The tag check happens here; nothing decrypted is trusted before it.
  if (EVP_DecryptFinal_ex(context.get(), bytes_of(plaintext) + length, &final_length) != 1) return false;
  plaintext.resize(static_cast<size_t>(length + final_length));
  return true;
}

}  // namespace

Result<std::string> encrypt(const Keyring& keyring, std::string_view plaintext, RandomSource& random,
                            EnvelopeKind kind) {
  assert(is_encrypted(kind));
  if (keyring.empty()) return Status::conflict("cannot encrypt: no key is installed");
  if (plaintext.size() > INT_MAX - kEncryptedOverhead) return Status::too_large("payload too large to encrypt");
  const std::string header = envelope_header(kind, kNonceBytes + plaintext.size() + kTagBytes);
  std::string out(kEncryptedOverhead + plaintext.size(), '\0');
  std::copy(header.begin(), header.end(), out.begin());
  unsigned char* nonce = bytes_of(out) + kEnvelopeHeaderBytes;
  if (Status s = random.fill(std::span<unsigned char>(nonce, kNonceBytes)); !s.is_ok()) return s;
  unsigned char* ciphertext = nonce + kNonceBytes;
  unsigned char* tag = ciphertext + plaintext.size();

  CipherContext context(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  if (!context || EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(context.get(), nullptr, nullptr, bytes_of(keyring.primary()), nonce) != 1 ||
      EVP_EncryptUpdate(context.get(), nullptr, &length, bytes_of(header), static_cast<int>(header.size())) != 1 ||
      EVP_EncryptUpdate(context.get(), ciphertext, &length, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), ciphertext + length, &final_length) != 1 ||
      static_cast<size_t>(length + final_length) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) != 1) {
    return Status::internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> decrypt(const Keyring& keyring, std::string_view envelope) {
  auto view = parse_envelope(envelope);
  if (!view.is_ok()) return view.status();
  if (!is_encrypted(view->kind)) return Status::invalid_argument("not an encrypted envelope");
  if (view->payload.size() < kNonceBytes + kTagBytes) {
    return Status::invalid_argument("encrypted envelope too short for its nonce and tag");
  }
  if (keyring.empty()) {
    return Status::permission_denied("encrypted packet received but encryption is not enabled here (no -encrypt key)");
  }
  std::string plaintext;
  // list() puts the primary first: the common case costs one attempt.
  for (const auto& key : keyring.list()) {
    if (open_with(key, view->header, view->payload, plaintext)) return plaintext;
  }
  return Status::permission_denied("no installed key decrypts this packet; is the -encrypt key the same on all nodes?");
}

}  // namespace roster::gossip::wire
