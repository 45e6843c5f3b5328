// The gossip endpoints against a FakeMembership: Consul's shapes, joins and
// leaves that wait on the watch hub, keyring operations, and the core passing
// this node's merged tags to the pool.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "tests/fakes/write_now.h"
#include "agent/http/api.h"
#include "agent/http/api_internal.h"
#include "common/clock.h"
#include "tests/fakes/fake_membership.h"
#include "tests/agent/http/api_calls.h"

namespace roster::http {
namespace {

using nlohmann::json;

class ApiGossipTest : public ::testing::Test {
 protected:
  ApiGossipTest() : core_(io_, clock_, options()), membership_(core_.watch_hub()), api_(core_) {}

  static agent::CoreOptions options() {
    agent::CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    options.image_tags = {{"role", "base"}};
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    membership_.self = {"node-1", "id-1", "127.0.0.1", 8301, {{"role", "base"}}, agent::MemberStatus::alive, "alive", false, ""};
    membership_.member_list = {membership_.self,
                               {"node-2", "id-2", "10.0.0.2", 8301, {}, agent::MemberStatus::failed, "failed", false, ""},
                               {"node-3", "id-3", "10.0.0.3", 7301, {}, agent::MemberStatus::alive, "suspect", false, ""}};
    core_.set_membership(&membership_);
  }
  void TearDown() override {
    core_.set_membership(nullptr);
    core_.stop();
  }

  HttpRequest request(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::make_request(method, target, body);
  }

  HttpResponse respond(const std::string& method, const std::string& target, const std::string& body = "") {
    return api_calls::respond_now(api_, method, target, body);
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  agent::AgentCore core_;
  fakes::FakeMembership membership_;
  Api api_;
};

TEST_F(ApiGossipTest, MembersInConsulShape) {
  HttpResponse response = respond("GET", "/v1/agent/members");
  ASSERT_EQ(response.status, 200);
  json body = json::parse(response.body);
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0]["Name"], "node-1");
  EXPECT_EQ(body[0]["Addr"], "127.0.0.1");
  EXPECT_EQ(body[0]["Port"], 8301);
  EXPECT_EQ(body[0]["Tags"]["role"], "base");
  EXPECT_EQ(body[0]["Status"], 1);
  EXPECT_EQ(body[1]["Status"], 4);
  EXPECT_EQ(body[2]["Status"], 1);  // suspect shows as alive, as in Serf
  EXPECT_EQ(body[2]["Port"], 7301);
}

TEST_F(ApiGossipTest, SelfCarriesTheGossipStats) {
  json body = json::parse(respond("GET", "/v1/agent/self").body);
  EXPECT_EQ(body["Member"]["Port"], 8301);
  EXPECT_EQ(body["Stats"]["serf_lan"]["dropped_wrong_key"], "3");
}

TEST_F(ApiGossipTest, JoinWaitsForTheOutcome) {
  HttpRequest join = request("PUT", "/v1/agent/join/10.0.0.9:8301");
  BlockingState blocking;
  HandleResult first = api_.handle(join, blocking);
  ASSERT_TRUE(first.wait.has_value());
  ASSERT_EQ(membership_.joins_started.size(), 1u);
  EXPECT_EQ(membership_.joins_started[0], std::vector<std::string>{"10.0.0.9:8301"});
  bool woke = false;
  core_.watch_hub().wait(first.wait->watch_keys, [&] { woke = true; });
  membership_.finish_join(blocking.operation, {1, {}});
  EXPECT_TRUE(woke);
  HandleResult second = api_.handle(join, blocking);
  ASSERT_FALSE(second.wait.has_value());
  EXPECT_EQ(second.response.status, 200);
  EXPECT_EQ(membership_.joins_started.size(), 1u) << "the second call must not start another join";
}

TEST_F(ApiGossipTest, FailedJoinSaysWhy) {
  HttpRequest join = request("PUT", "/v1/agent/join/10.0.0.9");
  BlockingState blocking;
  ASSERT_TRUE(api_.handle(join, blocking).wait.has_value());
  membership_.finish_join(blocking.operation, {0, {"10.0.0.9:8301: connection refused"}});
  HandleResult result = api_.handle(join, blocking);
  EXPECT_EQ(result.response.status, 500);
  EXPECT_NE(result.response.body.find("connection refused"), std::string::npos);
}

TEST_F(ApiGossipTest, JoinTimesOut) {
  HttpRequest join = request("PUT", "/v1/agent/join/10.0.0.9");
  BlockingState blocking;
  ASSERT_TRUE(api_.handle(join, blocking).wait.has_value());
  blocking.expired = true;
  EXPECT_EQ(api_.handle(join, blocking).response.status, 500);
}

TEST_F(ApiGossipTest, LeaveWaitsUntilDone) {
  HttpRequest leave = request("PUT", "/v1/agent/leave");
  BlockingState blocking;
  HandleResult first = api_.handle(leave, blocking);
  EXPECT_TRUE(membership_.leave_started);
  ASSERT_TRUE(first.wait.has_value());
  membership_.finish_leave();
  EXPECT_EQ(api_.handle(leave, blocking).response.status, 200);
}

TEST_F(ApiGossipTest, ForceLeave) {
  EXPECT_EQ(respond("PUT", "/v1/agent/force-leave/node-2").status, 200);
  EXPECT_EQ(membership_.member_list[1].status, agent::MemberStatus::left);
  EXPECT_EQ(respond("PUT", "/v1/agent/force-leave/node-3").status, 200);
  EXPECT_EQ(json::parse(respond("GET", "/v1/agent/members").body)[2]["Status"], 2) << "a live member is leaving";
  EXPECT_EQ(respond("PUT", "/v1/agent/force-leave/nobody").status, 404);
}

TEST_F(ApiGossipTest, KeyringOperationsReachEveryMember) {
  membership_.keys = {"K1"};
  membership_.peer_keys = {{"node-2", {"K1"}}, {"node-3", {"K1"}}};
  EXPECT_EQ(respond("POST", "/v1/operator/keyring", R"({"Key": "K2"})").status, 200);
  EXPECT_EQ(respond("PUT", "/v1/operator/keyring", R"({"key": "K2"})").status, 200);
  EXPECT_EQ(membership_.peer_keys["node-3"], (std::vector<std::string>{"K2", "K1"}));
  // Removing the primary fails on every node; the answer says how many and why.
  HttpResponse refused = respond("DELETE", "/v1/operator/keyring", R"({"Key": "K2"})");
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(refused.body.find("3/3 nodes reported failure"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("node-2: cannot remove the primary key"), std::string::npos) << refused.body;
  EXPECT_EQ(respond("DELETE", "/v1/operator/keyring", R"({"Key": "K1"})").status, 200);
  EXPECT_EQ(respond("POST", "/v1/operator/keyring", "{}").status, 400);
  // One member is behind: the listing shows it.
  membership_.peer_keys["node-3"] = {"K1", "K2"};
  json body = json::parse(respond("GET", "/v1/operator/keyring").body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0]["WAN"], false);
  EXPECT_EQ(body[0]["Datacenter"], "dc1");
  EXPECT_EQ(body[0]["Keys"], json({{"K1", 1}, {"K2", 3}}));
  EXPECT_EQ(body[0]["PrimaryKeys"], json({{"K1", 1}, {"K2", 2}}));
  EXPECT_EQ(body[0]["NumNodes"], 3);
  EXPECT_EQ(body[0]["NumErr"], 0);
}

TEST_F(ApiGossipTest, KeyringOperationWaitsForTheMembersAnswers) {
  membership_.keys = {"K1"};
  membership_.hold_keyring = true;
  HttpRequest install = request("POST", "/v1/operator/keyring", R"({"Key": "K2"})");
  BlockingState blocking;
  HandleResult first = api_.handle(install, blocking);
  ASSERT_TRUE(first.wait.has_value());
  ASSERT_EQ(first.wait->watch_keys, std::vector<std::string>{agent::keyring_watch_key(blocking.operation)});
  membership_.finish_keyring(blocking.operation);
  EXPECT_EQ(api_.handle(install, blocking).response.status, 200);
  // Without encryption there is nothing to ask.
  membership_.keys.clear();
  EXPECT_EQ(respond("GET", "/v1/operator/keyring").status, 503);
}

TEST_F(ApiGossipTest, CoreSpreadsMergedTagsOfEveryLayer) {
  ASSERT_FALSE(membership_.tags_seen.empty());
  EXPECT_EQ(membership_.tags_seen.back(), (std::map<std::string, std::string>{{"role", "base"}}));
  const size_t before = membership_.tags_seen.size();
  // An operator tag through the API, as `roster tag set` writes it.
  EXPECT_EQ(respond("PUT", "/v1/roster/node/node-1/tags", R"({"Set": {"role": "web"}})").status, 200);
  ASSERT_EQ(membership_.tags_seen.size(), before + 1);
  EXPECT_EQ(membership_.tags_seen.back().at("role"), "web");
  // A reload with the same image tags changes nothing, so nothing is sent.
  ASSERT_TRUE(agent::testing::run_now([&](agent::StatusDone done) { core_.reload({{"role", "base"}}, {}, {}, done); }).is_ok());
  EXPECT_EQ(membership_.tags_seen.size(), before + 1);
  ASSERT_TRUE(agent::testing::run_now([&](agent::StatusDone done) { core_.reload({{"role", "base"}, {"rack", "r1"}}, {}, {}, done); }).is_ok());
  EXPECT_EQ(membership_.tags_seen.back().at("rack"), "r1");
  EXPECT_EQ(membership_.tags_seen.back().at("role"), "web");
}

TEST(ApiWithoutGossipTest, EndpointsSayGossipIsOff) {
  boost::asio::io_context io;
  SystemClock clock;
  agent::CoreOptions options;
  options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
  agent::AgentCore core(io, clock, options);
  ASSERT_TRUE(core.start().is_ok());
  Api api(core);
  HttpRequest request;
  request.method = "PUT";
  request.headers["host"] = "127.0.0.1:8500";
  request.path = "/v1/agent/join/10.0.0.1";
  BlockingState blocking;
  EXPECT_EQ(api.handle(request, blocking).response.status, 503);
  request.method = "GET";
  request.path = "/v1/agent/members";
  EXPECT_EQ(api.handle(request, blocking).response.status, 200);
  core.stop();
}

}  // namespace
}  // namespace roster::http

namespace roster::http {
namespace {

// /v1/agent/members is written as text; it must be byte for byte the document
// the json builder makes, odd characters in names and tags included.
TEST(GossipMembersText, IsTheJsonDocumentByteForByte) {
  std::vector<agent::MemberInfo> members(3);
  members[0] = {"web-1", "id-1", "127.0.0.2", 8301, {{"role", "web"}, {"env", "qa"}}, agent::MemberStatus::alive,
                "alive", false, ""};
  members[1] = {"we\"ird\\ \x01 \xff name", "id-2", "::1", 7946, {{"k\n", "v\t\"q\""}}, agent::MemberStatus::failed,
                "failed", false, ""};
  members[2] = {"empty-tags", "id-3", "127.0.0.3", 0, {}, agent::MemberStatus::left, "left", false, ""};
  nlohmann::json built = nlohmann::json::array();
  for (const auto& member : members) built.push_back(gossip_member_json(member));
  EXPECT_EQ(gossip_members_text(members), dump_json(built));
  EXPECT_EQ(gossip_members_text({}), "[]");
}

}  // namespace
}  // namespace roster::http
