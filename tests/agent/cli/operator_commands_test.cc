// roster operator raft ... and roster snapshot ... against a fake agent.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/catalog/snapshot_file.h"
#include "agent/cli/cli.h"
#include "tests/agent/cli/fake_agent.h"

namespace roster::cli {
namespace {

using ::testing::HasSubstr;
using roster::testing::CannedResponse;
using roster::testing::FakeAgent;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class OperatorCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-cli-snapshot-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  CliResult run(std::vector<std::string> args) {
    args.push_back("-http-addr=" + agent_.address());
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    CliResult result;
    result.exit_code = run_cli(args, in, out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
  }

  static std::string read(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  }
  static void write(const std::string& path, const std::string& bytes) {
    std::ofstream file(path, std::ios::binary);
    file << bytes;
  }

  static catalog::StoreData sample() {
    catalog::StoreData data;
    data.last_index = 42;
    catalog::Node node;
    node.name = "web-1";
    data.nodes["web-1"] = node;
    catalog::KvEntry entry;
    entry.key = "app/config";
    entry.value = "v1";
    data.kvs["app/config"] = entry;
    data.kvs["app/other"] = entry;
    data.kvs["app/other"].key = "app/other";
    return data;
  }

  FakeAgent agent_;
  std::string dir_;
};

TEST_F(OperatorCommandsTest, ListPeersPrintsTheConfiguration) {
  agent_.on("GET", "/v1/operator/raft/configuration",
            CannedResponse{200,
                           R"({"Servers":[{"ID":"id-1","Node":"s1","Address":"10.0.0.1:8300","Leader":true,)"
                           R"("Voter":true,"ProtocolVersion":"3"},{"ID":"id-2","Node":"s2","Address":"10.0.0.2:8300",)"
                           R"("Leader":false,"Voter":false,"ProtocolVersion":"3"}],"Index":7})",
                           "application/json"});
  CliResult result = run({"operator", "raft", "list-peers"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Node"));
  EXPECT_THAT(result.out, HasSubstr("s1"));
  EXPECT_THAT(result.out, HasSubstr("leader"));
  EXPECT_THAT(result.out, HasSubstr("follower"));
}

TEST_F(OperatorCommandsTest, RemovePeerSendsTheAddressAndNeedsExactlyOneTarget) {
  agent_.on("DELETE", "/v1/operator/raft/peer", CannedResponse{200, "", "application/json"});
  CliResult result = run({"operator", "raft", "remove-peer", "-address=10.0.0.7:8300"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto requests = agent_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "DELETE");
  EXPECT_THAT(requests[0].query, HasSubstr("address=10.0.0.7"));
  EXPECT_EQ(run({"operator", "raft", "remove-peer"}).exit_code, 1);
  EXPECT_EQ(run({"operator", "raft", "remove-peer", "-id=a", "-address=b"}).exit_code, 1);
}

TEST_F(OperatorCommandsTest, TransferLeaderReportsTheAgentsAnswer) {
  agent_.on("POST", "/v1/operator/raft/transfer-leader", CannedResponse{200, R"({"Success":true})", "application/json"});
  CliResult result = run({"operator", "raft", "transfer-leader"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Success"));
}

TEST_F(OperatorCommandsTest, SnapshotSaveInspectRestore) {
  const std::string bytes = catalog::encode_snapshot_file(sample());
  agent_.on("GET", "/v1/snapshot", CannedResponse{200, bytes, "application/octet-stream"});
  agent_.on("PUT", "/v1/snapshot", CannedResponse{200, "", "application/json"});
  const std::string path = dir_ + "/backup.snap";

  CliResult saved = run({"snapshot", "save", path});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_THAT(saved.out, HasSubstr("index 42"));
  EXPECT_EQ(read(path), bytes);

  CliResult inspected = run({"snapshot", "inspect", path});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_THAT(inspected.out, HasSubstr("Index"));
  EXPECT_THAT(inspected.out, HasSubstr("42"));
  EXPECT_THAT(inspected.out, HasSubstr("Nodes"));
  EXPECT_THAT(inspected.out, HasSubstr("KV"));

  CliResult restored = run({"snapshot", "restore", path});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  auto requests = agent_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().method, "PUT");
  EXPECT_EQ(requests.back().body, bytes);
}

TEST_F(OperatorCommandsTest, ACorruptFileIsRefusedBeforeItReachesTheAgent) {
  std::string bytes = catalog::encode_snapshot_file(sample());
  bytes[bytes.size() - 2] = static_cast<char>(bytes[bytes.size() - 2] ^ 0x10);
  const std::string path = dir_ + "/bad.snap";
  write(path, bytes);
  CliResult inspected = run({"snapshot", "inspect", path});
  EXPECT_EQ(inspected.exit_code, 1);
  EXPECT_THAT(inspected.err, HasSubstr("checksum"));
  CliResult restored = run({"snapshot", "restore", path});
  EXPECT_EQ(restored.exit_code, 1);
  EXPECT_TRUE(agent_.requests().empty());
  // And a corrupt answer from the agent is not saved.
  agent_.on("GET", "/v1/snapshot", CannedResponse{200, bytes, "application/octet-stream"});
  EXPECT_EQ(run({"snapshot", "save", dir_ + "/never.snap"}).exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/never.snap"));
}

}  // namespace
}  // namespace roster::cli
