// /v1/snapshot and /v1/operator: snapshots that restore exactly (and corrupt
// ones that change nothing) on a -dev core, and the operator shapes on a -dev
// core and on a real single-server Raft cluster.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <stdlib.h>

#include "agent/catalog/snapshot_file.h"
#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "agent/server/raft_catalog.h"
#include "common/clock.h"
#include "common/env.h"
#include "tests/agent/http/api_calls.h"
#include "tests/fakes/write_now.h"
#include "tests/fakes/same_contents.h"

namespace roster::http {
namespace {

using nlohmann::json;

constexpr const char* kNodeId = "0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10";

agent::CoreOptions core_options() {
  agent::CoreOptions options;
  options.identity = {kNodeId, "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
  return options;
}

using catalog::testing::expect_same_contents;

// Calls the API and, while the request is parked on a write, runs `io` until
// it is answered (or `deadline` passes: then the test fails).
HttpResponse call_until_answered(Api& api, boost::asio::io_context& io, const std::string& method,
                                 const std::string& target, const std::string& body = "",
                                 std::chrono::seconds deadline = std::chrono::seconds(10)) {
  const HttpRequest request = api_calls::make_request(method, target, body);
  BlockingState blocking;
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  HandleResult result = api.handle(request, blocking);
  while (result.wait) {
    if (std::chrono::steady_clock::now() > give_up) {
      ADD_FAILURE() << method << " " << target << " was not answered in time";
      return HttpResponse::error(599, "test deadline");
    }
    io.run_for(std::chrono::milliseconds(10));
    result = api.handle(request, blocking);
  }
  return result.response;
}

class ApiSnapshotDevTest : public ::testing::Test {
 protected:
  ApiSnapshotDevTest() : core_(io_, clock_, core_options()), api_(core_) {}
  void SetUp() override { ASSERT_TRUE(core_.start().is_ok()); }
  void TearDown() override { core_.stop(); }

  void write(catalog::CommandBody body) { ASSERT_TRUE(agent::testing::write_now(core_, std::move(body)).is_ok()); }

  void fill_catalog() {
    catalog::RegisterNode node;
    node.node.name = "web-1";
    node.node.address = "10.0.0.1";
    node.service = catalog::Service{};
    node.service->id = "web";
    node.service->name = "web";
    node.service->port = 80;
    write(node);
    write(catalog::KvCommand{catalog::KvOp::set, "app/config", "v1", 7, 0, ""});
    write(catalog::KvCommand{catalog::KvOp::set, "app/other", "v2", 0, 0, ""});
    catalog::Session session;
    session.id = "5a3b0c1e-0000-4000-8000-000000000001";
    session.node = "web-1";
    write(catalog::CreateSession{session});
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  Api api_;
};

TEST_F(ApiSnapshotDevTest, ASnapshotRestoresIdenticalContents) {
  fill_catalog();
  HttpResponse saved = call_until_answered(api_, io_, "GET", "/v1/snapshot");
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(saved.content_type, "application/octet-stream");
  EXPECT_EQ(api_calls::header_of(saved, "X-Consul-Index"), std::to_string(core_.store().last_index()));
  const catalog::StoreData taken = core_.store().snapshot();

  // Change everything after the snapshot: a node gone, a key changed, one added.
  write(catalog::DeregisterNode{"web-1", "", ""});
  write(catalog::KvCommand{catalog::KvOp::set, "app/config", "changed", 0, 0, ""});
  write(catalog::KvCommand{catalog::KvOp::set, "later/key", "x", 0, 0, ""});
  const catalog::Index before_restore = core_.store().last_index();

  HttpResponse restored = call_until_answered(api_, io_, "PUT", "/v1/snapshot", saved.body);
  ASSERT_EQ(restored.status, 200) << restored.body;
  expect_same_contents(core_.store().snapshot(), taken);
  EXPECT_GT(core_.store().last_index(), before_restore);  // a write like any other
  // Queries see it at the restore's index, past what blocking clients held.
  HttpResponse keys = call_until_answered(api_, io_, "GET", "/v1/kv/?keys");
  EXPECT_EQ(json::parse(keys.body), json::parse(R"(["app/config","app/other"])"));
  EXPECT_GT(std::stoull(api_calls::header_of(keys, "X-Consul-Index")), before_restore);
}

TEST_F(ApiSnapshotDevTest, ACorruptSnapshotIsRefusedAndChangesNothing) {
  fill_catalog();
  HttpResponse saved = call_until_answered(api_, io_, "GET", "/v1/snapshot");
  ASSERT_EQ(saved.status, 200);
  const catalog::StoreData before = core_.store().snapshot();
  std::string flipped = saved.body;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x01);
  for (const std::string& bad : {std::string(), std::string("not a snapshot"), saved.body.substr(0, saved.body.size() - 3),
                                 flipped}) {
    HttpResponse response = call_until_answered(api_, io_, "PUT", "/v1/snapshot", bad);
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_NE(response.body.find("invalid snapshot"), std::string::npos) << response.body;
    EXPECT_TRUE(core_.store().snapshot() == before);
  }
  EXPECT_EQ(call_until_answered(api_, io_, "POST", "/v1/snapshot").status, 405);
}

TEST_F(ApiSnapshotDevTest, OperatorEndpointsAnswerAsASingleDevServer) {
  HttpResponse configuration = call_until_answered(api_, io_, "GET", "/v1/operator/raft/configuration");
  ASSERT_EQ(configuration.status, 200) << configuration.body;
  json body = json::parse(configuration.body);
  ASSERT_EQ(body["Servers"].size(), 1u);
  EXPECT_EQ(body["Servers"][0]["ID"], kNodeId);
  EXPECT_EQ(body["Servers"][0]["Node"], "node-1");
  EXPECT_EQ(body["Servers"][0]["Leader"], true);
  EXPECT_EQ(body["Servers"][0]["Voter"], true);
  EXPECT_EQ(body["Servers"][0]["ProtocolVersion"], "3");
  EXPECT_TRUE(body.contains("Index"));

  HttpResponse health = call_until_answered(api_, io_, "GET", "/v1/operator/autopilot/health");
  ASSERT_EQ(health.status, 200) << health.body;
  body = json::parse(health.body);
  EXPECT_EQ(body["Healthy"], true);
  EXPECT_EQ(body["FailureTolerance"], 0);
  ASSERT_EQ(body["Servers"].size(), 1u);
  EXPECT_EQ(body["Servers"][0]["Name"], "node-1");
  EXPECT_EQ(body["Servers"][0]["SerfStatus"], "alive");

  EXPECT_EQ(call_until_answered(api_, io_, "DELETE", "/v1/operator/raft/peer").status, 400);
  EXPECT_EQ(call_until_answered(api_, io_, "DELETE", "/v1/operator/raft/peer?id=x&address=1.2.3.4:8300").status, 400);
  EXPECT_EQ(call_until_answered(api_, io_, "DELETE", "/v1/operator/raft/peer?id=x").status, 500);
  EXPECT_EQ(call_until_answered(api_, io_, "POST", "/v1/operator/raft/transfer-leader").status, 500);
}

// A real server: one RaftCatalog bootstrapped alone (-bootstrap), on
// loopback with a picked port, driven by this thread.
class ApiOperatorRaftTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-operator-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    data_dir_ = pattern;
    agent::RaftCatalogOptions options;
    options.node_name = "node-1";
    options.node_id = kNodeId;
    options.datacenter = "dc1";
    options.bootstrap = true;
    options.data_dir = data_dir_;
    options.port = 0;
    options.bind_ip = "127.0.0.1";
    options.advertise_ip = "127.0.0.1";
    options.tick = std::chrono::milliseconds(10);
    auto logger = spdlog::default_logger()->clone("operator-test");
    logger->set_level(spdlog::level::warn);
    auto catalog = std::make_unique<agent::RaftCatalog>(io_, env_, clock_, options, logger);
    raft_ = catalog.get();
    core_ = std::make_unique<agent::AgentCore>(io_, clock_, core_options(), std::move(catalog));
    ASSERT_TRUE(raft_->start().is_ok());
    ASSERT_TRUE(core_->start().is_ok());
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!raft_->is_leader() && std::chrono::steady_clock::now() < give_up) io_.run_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(raft_->is_leader()) << "the single server did not elect itself";
    ApiOptions api_options;
    api_options.raft_catalog = raft_;
    api_ = std::make_unique<Api>(*core_, api_options);
  }
  void TearDown() override {
    api_.reset();
    if (core_) core_->stop();
    if (raft_ != nullptr) raft_->stop();
    io_.run_for(std::chrono::milliseconds(20));
    core_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  PosixEnv env_;
  std::string data_dir_;
  agent::RaftCatalog* raft_ = nullptr;
  std::unique_ptr<agent::AgentCore> core_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiOperatorRaftTest, RaftConfigurationShowsTheServer) {
  HttpResponse response = call_until_answered(*api_, io_, "GET", "/v1/operator/raft/configuration");
  ASSERT_EQ(response.status, 200) << response.body;
  json body = json::parse(response.body);
  ASSERT_EQ(body["Servers"].size(), 1u);
  const json& server = body["Servers"][0];
  // The node ID once the agent has registered itself, the Raft number before.
  EXPECT_TRUE(server["ID"] == kNodeId || server["ID"] == std::to_string(agent::server_id_of(kNodeId))) << server;
  EXPECT_EQ(server["Node"], "node-1");
  EXPECT_EQ(server["Address"], raft_->node()->configuration().servers.at(0).address);
  EXPECT_EQ(server["Leader"], true);
  EXPECT_EQ(server["Voter"], true);
  EXPECT_EQ(server["ProtocolVersion"], "3");
  EXPECT_GE(body["Index"].get<uint64_t>(), 1u);
}

TEST_F(ApiOperatorRaftTest, AutopilotHealthShowsAHealthyLeader) {
  HttpResponse response = call_until_answered(*api_, io_, "GET", "/v1/operator/autopilot/health");
  ASSERT_EQ(response.status, 200) << response.body;
  json body = json::parse(response.body);
  EXPECT_EQ(body["Healthy"], true);
  EXPECT_EQ(body["FailureTolerance"], 0);  // one voter: losing it loses the quorum
  ASSERT_EQ(body["Servers"].size(), 1u);
  const json& server = body["Servers"][0];
  for (const char* key : {"ID", "Name", "Address", "SerfStatus", "Leader", "Voter", "Healthy", "LastIndex"}) {
    EXPECT_TRUE(server.contains(key)) << key;
  }
  EXPECT_EQ(server["Name"], "node-1");
  EXPECT_EQ(server["SerfStatus"], "alive");
  EXPECT_EQ(server["Leader"], true);
  EXPECT_EQ(server["Voter"], true);
  EXPECT_EQ(server["Healthy"], true);
}

TEST_F(ApiOperatorRaftTest, PeerRequestsNameAServerOfTheConfiguration) {
  EXPECT_EQ(call_until_answered(*api_, io_, "DELETE", "/v1/operator/raft/peer").status, 400);
  EXPECT_EQ(call_until_answered(*api_, io_, "DELETE", "/v1/operator/raft/peer?address=127.0.0.9:1").status, 404);
  EXPECT_EQ(call_until_answered(*api_, io_, "POST", "/v1/operator/raft/transfer-leader?id=12345").status, 404);
  // Removing the leader itself is refused: it can only hand over first.
  HttpResponse self = call_until_answered(*api_, io_, "DELETE", "/v1/operator/raft/peer?address=" +
                                                                raft_->node()->configuration().servers.at(0).address);
  EXPECT_EQ(self.status, 500) << self.body;
  EXPECT_NE(self.body.find("leader"), std::string::npos) << self.body;
}

TEST_F(ApiOperatorRaftTest, SnapshotRestoresThroughRaft) {
  ASSERT_EQ(call_until_answered(*api_, io_, "PUT", "/v1/kv/app/config", "v1").status, 200);
  HttpResponse saved = call_until_answered(*api_, io_, "GET", "/v1/snapshot");
  ASSERT_EQ(saved.status, 200) << saved.body;
  const catalog::StoreData taken = core_->store().snapshot();
  ASSERT_EQ(call_until_answered(*api_, io_, "PUT", "/v1/kv/app/config", "v2").status, 200);
  ASSERT_EQ(call_until_answered(*api_, io_, "PUT", "/v1/kv/app/later", "x").status, 200);
  HttpResponse restored = call_until_answered(*api_, io_, "PUT", "/v1/snapshot", saved.body);
  ASSERT_EQ(restored.status, 200) << restored.body;
  EXPECT_EQ(core_->store().snapshot().kvs, taken.kvs);
  EXPECT_EQ(core_->store().snapshot().nodes, taken.nodes);
}

}  // namespace
}  // namespace roster::http
