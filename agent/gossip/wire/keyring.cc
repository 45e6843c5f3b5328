#include "agent/gossip/wire/keyring.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>

#include "common/base64.h"

namespace roster::gossip::wire {

namespace {

Status check_key(std::string_view key) {
  if (key.size() != kKeyBytes) {
    return Status::invalid_argument("encryption key is " + std::to_string(key.size()) +
                                    " bytes; it must be 32 bytes (AES-256)");
  }
  return Status::ok();
}

}  // namespace

Keyring::~Keyring() {
  for (auto& key : keys_) OPENSSL_cleanse(key.data(), key.size());
}

Status Keyring::install(std::string_view key) {
  if (Status s = check_key(key); !s.is_ok()) return s;
  if (std::find(keys_.begin(), keys_.end(), key) == keys_.end()) keys_.emplace_back(key);
  return Status::ok();
}

Status Keyring::use(std::string_view key) {
  if (Status s = check_key(key); !s.is_ok()) return s;
  auto found = std::find(keys_.begin(), keys_.end(), key);
  if (found == keys_.end()) return Status::not_found("key is not installed; install it first");
  std::rotate(keys_.begin(), found, found + 1);
  return Status::ok();
}

Status Keyring::remove(std::string_view key) {
  if (Status s = check_key(key); !s.is_ok()) return s;
  auto found = std::find(keys_.begin(), keys_.end(), key);
  if (found == keys_.end()) return Status::ok();
  if (found == keys_.begin()) return Status::conflict("cannot remove the primary key; use another key first");
  OPENSSL_cleanse(found->data(), found->size());
  keys_.erase(found);
  return Status::ok();
}

Result<std::string> generate_key(RandomSource& random) {
  std::array<unsigned char, kKeyBytes> key{};
  if (Status s = random.fill(key); !s.is_ok()) return s;
  std::string text = base64_encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  OPENSSL_cleanse(key.data(), key.size());
  return text;
}

Result<std::string> decode_key(std::string_view base64) {
  auto key = base64_decode(base64);
  if (!key.is_ok()) return Status::invalid_argument("encryption key is not valid base64");
  if (Status s = check_key(*key); !s.is_ok()) return s;
  return std::move(key).value();
}

std::string encode_key(std::string_view key) { return base64_encode(key); }

}  // namespace roster::gossip::wire
