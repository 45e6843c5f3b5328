#include "agent/gossip/wire/keyring.h"

#include <gtest/gtest.h>

#include "agent/gossip/wire/cipher.h"
#include "common/base64.h"

namespace roster::gossip::wire {
namespace {

std::string key_of(char fill) { return std::string(kKeyBytes, fill); }

class FailingRandomSource final : public RandomSource {
 public:
  Status fill(std::span<unsigned char>) override { return Status::internal("no entropy"); }
};

TEST(KeyringTest, FirstInstalledKeyIsPrimaryAndUseSwitchesIt) {
  Keyring keyring;
  EXPECT_TRUE(keyring.empty());
  ASSERT_TRUE(keyring.install(key_of('a')).is_ok());
  ASSERT_TRUE(keyring.install(key_of('b')).is_ok());
  ASSERT_TRUE(keyring.install(key_of('a')).is_ok());  // idempotent
  EXPECT_EQ(keyring.size(), 2u);
  EXPECT_EQ(keyring.primary(), key_of('a'));
  ASSERT_TRUE(keyring.use(key_of('b')).is_ok());
  EXPECT_EQ(keyring.primary(), key_of('b'));
  EXPECT_EQ(keyring.list(), (std::vector<std::string>{key_of('b'), key_of('a')}));
}

TEST(KeyringTest, RefusesBadKeysAndUnsafeRemovals) {
  Keyring keyring;
  Status status = keyring.install(std::string(16, 'x'));
  EXPECT_EQ(status.code(), StatusCode::invalid_argument);
  EXPECT_NE(status.message().find("32 bytes (AES-256)"), std::string::npos);
  ASSERT_TRUE(keyring.install(key_of('a')).is_ok());
  EXPECT_EQ(keyring.use(key_of('z')).code(), StatusCode::not_found);
  EXPECT_EQ(keyring.remove(key_of('a')).code(), StatusCode::conflict);
  EXPECT_TRUE(keyring.remove(key_of('z')).is_ok());  // not installed: nothing to do
  ASSERT_TRUE(keyring.install(key_of('b')).is_ok());
  ASSERT_TRUE(keyring.remove(key_of('b')).is_ok());
  EXPECT_EQ(keyring.list(), std::vector<std::string>{key_of('a')});
}

TEST(KeyringTest, GeneratedKeysDecodeTo32Bytes) {
  SeededRandomSource random(1);
  auto first = generate_key(random);
  auto second = generate_key(random);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_NE(*first, *second);
  auto raw = decode_key(*first);
  ASSERT_TRUE(raw.is_ok()) << raw.status().to_string();
  EXPECT_EQ(raw->size(), 32u);
  EXPECT_EQ(encode_key(*raw), *first);

  OpenSslRandomSource system_random;
  auto system_key = generate_key(system_random);
  ASSERT_TRUE(system_key.is_ok());
  EXPECT_TRUE(decode_key(*system_key).is_ok());

  FailingRandomSource failing;
  EXPECT_EQ(generate_key(failing).status().code(), StatusCode::internal);
}

TEST(KeyringTest, DecodeKeyExplainsWhatIsWrong) {
  auto short_key = decode_key(base64_encode(std::string(16, 'k')));
  ASSERT_FALSE(short_key.is_ok());
  EXPECT_NE(short_key.status().message().find("must be 32 bytes (AES-256)"), std::string::npos);
  auto not_base64 = decode_key("not base64!");
  ASSERT_FALSE(not_base64.is_ok());
  EXPECT_NE(not_base64.status().message().find("base64"), std::string::npos);
}

TEST(CipherTest, RoundTripsAndUsesFreshNonces) {
  Keyring keyring;
  ASSERT_TRUE(keyring.install(key_of('a')).is_ok());
  SeededRandomSource random(7);
  auto first = encrypt(keyring, "hello pool", random);
  auto second = encrypt(keyring, "hello pool", random);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_EQ(first->size(), kEncryptedOverhead + 10);
  EXPECT_EQ(static_cast<uint8_t>((*first)[0]), static_cast<uint8_t>(EnvelopeKind::encrypted_packet));
  EXPECT_NE(*first, *second);
  EXPECT_EQ(first->find("hello pool"), std::string::npos);
  auto opened = decrypt(keyring, *first);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(*opened, "hello pool");
  auto empty = encrypt(keyring, "", random);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(*decrypt(keyring, *empty), "");
}

TEST(CipherTest, AnyAlteredByteIsRefused) {
  Keyring keyring;
  ASSERT_TRUE(keyring.install(key_of('a')).is_ok());
  SeededRandomSource random(7);
  auto sealed = encrypt(keyring, "alive web-1 incarnation 7", random);
  ASSERT_TRUE(sealed.is_ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string altered = *sealed;
    altered[i] = static_cast<char>(altered[i] ^ 0x01);
    EXPECT_FALSE(decrypt(keyring, altered).is_ok()) << "byte " << i;
  }
}

TEST(CipherTest, WrongKeyAndEmptyKeyringAreExplained) {
  Keyring ours;
  Keyring theirs;
  ASSERT_TRUE(ours.install(key_of('a')).is_ok());
  ASSERT_TRUE(theirs.install(key_of('b')).is_ok());
  SeededRandomSource random(7);
  auto sealed = encrypt(theirs, "join", random);
  ASSERT_TRUE(sealed.is_ok());
  auto opened = decrypt(ours, *sealed);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status(), Status::permission_denied(
                                 "no installed key decrypts this packet; is the -encrypt key the same on all nodes?"));
  EXPECT_EQ(decrypt(Keyring(), *sealed).status().code(), StatusCode::permission_denied);
  EXPECT_EQ(encrypt(Keyring(), "x", random).status().code(), StatusCode::conflict);
  FailingRandomSource failing;
  EXPECT_EQ(encrypt(ours, "x", failing).status().code(), StatusCode::internal);
}

}  // namespace
}  // namespace roster::gossip::wire
