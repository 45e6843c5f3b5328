#include "server/deploy/keygen.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ed25519.h"

namespace roster::deploy {
namespace {

using ::testing::HasSubstr;

class KeygenTest : public ::testing::Test {
 protected:
  KeygenTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-keygen-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~KeygenTest() override { std::filesystem::remove_all(dir_); }

  int run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return run_keygen(args, out_, err_);
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(KeygenTest, WritesThePrivateKeyAndThePublicKeyAndPrintsTheAgentConfig) {
  const std::string path = dir_ + "/deploy.key";
  ASSERT_EQ(run({"-out", path}), 0) << err_.str();
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  Result<SigningKey> key = SigningKey::load(path);
  ASSERT_TRUE(key.is_ok()) << key.status().to_string();
  const std::string public_key = key->public_key_base64();
  EXPECT_EQ(read(path + ".pub"), public_key + "\n");
  EXPECT_THAT(out_.str(), HasSubstr("Public key: " + public_key + "\n"));
  EXPECT_THAT(out_.str(), HasSubstr("exec:\n  enabled: true\n  trusted_keys: [\"" + public_key + "\"]\n"));
}

TEST_F(KeygenTest, RefusesToReplaceAKeyWithoutForce) {
  const std::string path = dir_ + "/deploy.key";
  ASSERT_EQ(run({"-out=" + path}), 0);
  const std::string original = read(path);
  EXPECT_EQ(run({"-out", path}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("already exists"));
  EXPECT_THAT(err_.str(), HasSubstr("-force"));
  EXPECT_EQ(read(path), original);

  ASSERT_EQ(run({"-out", path, "-force"}), 0) << err_.str();
  EXPECT_NE(read(path), original);
  EXPECT_EQ(read(path + ".pub"), SigningKey::load(path)->public_key_base64() + "\n");
}

TEST_F(KeygenTest, UsageErrorsAndHelp) {
  EXPECT_EQ(run({}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("-out FILE is required"));
  EXPECT_EQ(run({"-out"}), 2);
  EXPECT_EQ(run({"-bogus"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("unknown argument \"-bogus\""));
  EXPECT_EQ(run({"-help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("Usage: roster-deploy keygen -out FILE [-force]"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/deploy.key"));
}

TEST_F(KeygenTest, UnwritableDirectoryFails) {
  EXPECT_EQ(run({"-out", dir_ + "/missing/deploy.key"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("missing/deploy.key"));
}

}  // namespace
}  // namespace roster::deploy
