#include "agent/config/node_id.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/agent/config/temp_dir.h"

namespace roster::config {
namespace {

using testing::TempDir;
using ::testing::HasSubstr;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(NodeIdTest, GeneratedIdsAreVersion4Uuids) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = generate_uuid_v4();
    EXPECT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id, [&] { std::string lower = id; for (char& c : lower) c = static_cast<char>(std::tolower(c)); return lower; }());
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(NodeIdTest, IsUuid) {
  EXPECT_TRUE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(is_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
  EXPECT_FALSE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(is_uuid("0f8fad5bd9cb469fa16570867728950e"));
  EXPECT_FALSE(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
  EXPECT_FALSE(is_uuid(""));
}

TEST(NodeIdTest, CreatedOnFirstStartThenReused) {
  TempDir dir;
  const std::string data_dir = dir.path("nested/data");  // created when missing
  Result<std::string> first = load_or_create_node_id(data_dir);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_TRUE(is_uuid(*first));
  EXPECT_EQ(read_file(data_dir + "/node-id"), *first + "\n");

  Result<std::string> second = load_or_create_node_id(data_dir);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(*second, *first);

  // No temp files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(data_dir)) ++entries;
  EXPECT_EQ(entries, 1);

  // Another data dir (a clone of the image with a fresh data dir) gets its own ID.
  Result<std::string> other = load_or_create_node_id(dir.path("other"));
  ASSERT_TRUE(other.is_ok());
  EXPECT_NE(*other, *first);
}

TEST(NodeIdTest, ExistingIdIsTrimmedAndLowercased) {
  TempDir dir;
  dir.write("node-id", "  0F8FAD5B-D9CB-469F-A165-70867728950E\r\n\n");
  Result<std::string> id = load_or_create_node_id(dir.path());
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  EXPECT_EQ(*id, "0f8fad5b-d9cb-469f-a165-70867728950e");
}

TEST(NodeIdTest, CorruptFileTellsTheUserToDeleteIt) {
  TempDir dir;
  const std::string path = dir.write("node-id", "not-a-uuid\n");
  Result<std::string> id = load_or_create_node_id(dir.path());
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), StatusCode::invalid_argument);
  EXPECT_THAT(id.status().message(), HasSubstr(path));
  EXPECT_THAT(id.status().message(), HasSubstr("corrupt"));
  EXPECT_THAT(id.status().message(), HasSubstr("\"not-a-uuid\""));
  EXPECT_THAT(id.status().message(), HasSubstr("Delete it"));
  EXPECT_EQ(read_file(path), "not-a-uuid\n");  // left alone for the user to look at

  dir.write("node-id", "");
  EXPECT_FALSE(load_or_create_node_id(dir.path()).is_ok());
}

TEST(NodeIdTest, UnusableDataDirIsAnError) {
  TempDir dir;
  const std::string file = dir.write("a-file", "x");
  Result<std::string> id = load_or_create_node_id(file + "/data");
  ASSERT_FALSE(id.is_ok());
  EXPECT_THAT(id.status().message(), HasSubstr(file));
  EXPECT_FALSE(load_or_create_node_id("").is_ok());
}

}  // namespace
}  // namespace roster::config
