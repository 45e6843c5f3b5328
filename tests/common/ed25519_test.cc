#include "common/ed25519.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/base64.h"

namespace roster {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-ed25519-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

SigningKey new_key() {
  Result<SigningKey> key = SigningKey::generate();
  EXPECT_TRUE(key.is_ok()) << key.status().to_string();
  return std::move(key).value();
}

TEST(Ed25519Test, SignatureVerifiesWithTheSignersPublicKey) {
  SigningKey key = new_key();
  EXPECT_EQ(key.public_key_raw().size(), 32u);
  std::string signature = key.sign("bundle bytes");
  EXPECT_EQ(signature.size(), 64u);
  EXPECT_TRUE(verify_ed25519(key.public_key_raw(), "bundle bytes", signature));
}

TEST(Ed25519Test, TamperedMessageOrSignatureFails) {
  SigningKey key = new_key();
  std::string signature = key.sign("bundle bytes");
  EXPECT_FALSE(verify_ed25519(key.public_key_raw(), "bundle bytez", signature));
  std::string tampered = signature;
  tampered[10] = static_cast<char>(tampered[10] ^ 0x01);
  EXPECT_FALSE(verify_ed25519(key.public_key_raw(), "bundle bytes", tampered));
  EXPECT_FALSE(verify_ed25519(key.public_key_raw(), "bundle bytes", signature.substr(0, 63)));
  EXPECT_FALSE(verify_ed25519(key.public_key_raw(), "bundle bytes", ""));
}

TEST(Ed25519Test, AnotherKeyDoesNotVerify) {
  SigningKey key = new_key();
  SigningKey other = new_key();
  EXPECT_FALSE(verify_ed25519(other.public_key_raw(), "message", key.sign("message")));
  EXPECT_FALSE(verify_ed25519(key.public_key_raw().substr(0, 31), "message", key.sign("message")));
  EXPECT_FALSE(verify_ed25519(std::string(32, '\0'), "message", key.sign("message")));
}

TEST(Ed25519Test, SavedKeyLoadsAsTheSameKeyWithMode0600) {
  TempDir dir;
  SigningKey key = new_key();
  const std::string path = dir.file("deploy.key");
  ASSERT_TRUE(key.save(path, /*overwrite=*/false).is_ok());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  Result<SigningKey> loaded = SigningKey::load(path);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->public_key_raw(), key.public_key_raw());
  EXPECT_TRUE(verify_ed25519(key.public_key_raw(), "m", loaded->sign("m")));
}

TEST(Ed25519Test, SaveRefusesToReplaceAKeyUnlessTold) {
  TempDir dir;
  const std::string path = dir.file("deploy.key");
  SigningKey first = new_key();
  SigningKey second = new_key();
  ASSERT_TRUE(first.save(path, false).is_ok());
  Status refused = second.save(path, false);
  EXPECT_EQ(refused.code(), StatusCode::conflict);
  EXPECT_NE(refused.message().find("already exists"), std::string::npos);
  EXPECT_EQ(SigningKey::load(path)->public_key_raw(), first.public_key_raw());

  ASSERT_TRUE(second.save(path, /*overwrite=*/true).is_ok());
  EXPECT_EQ(SigningKey::load(path)->public_key_raw(), second.public_key_raw());
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(Ed25519Test, LoadErrorsNameTheFile) {
  TempDir dir;
  Result<SigningKey> missing = SigningKey::load(dir.file("absent.key"));
  EXPECT_EQ(missing.status().code(), StatusCode::not_found);

  const std::string garbage = dir.file("garbage.key");
  std::ofstream(garbage) << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  Result<SigningKey> bad = SigningKey::load(garbage);
  EXPECT_EQ(bad.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(bad.status().message().find(garbage), std::string::npos) << bad.status().message();
}

TEST(Ed25519Test, PublicKeyTravelsAsBase64OfItsRawBytes) {
  SigningKey key = new_key();
  Result<std::string> raw = decode_public_key(key.public_key_base64());
  ASSERT_TRUE(raw.is_ok());
  EXPECT_EQ(*raw, key.public_key_raw());
}

TEST(Ed25519Test, DecodePublicKeyRejectsBadText) {
  EXPECT_EQ(decode_public_key("not base64!").status().code(), StatusCode::invalid_argument);
  Result<std::string> short_key = decode_public_key(base64_encode(std::string(31, 'k')));
  EXPECT_EQ(short_key.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(short_key.status().message().find("31 bytes"), std::string::npos);
  EXPECT_FALSE(decode_public_key("").is_ok());
}

}  // namespace
}  // namespace roster
