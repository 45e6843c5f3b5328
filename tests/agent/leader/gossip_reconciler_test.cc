// The leader's gossip reconciler against a FakeMembership: members become
// catalog nodes with serfHealth, gossiped tags land in the runtime layer
// only, failures and leaves reach the catalog, and an in-sync pass writes
// nothing.

#include "tests/fakes/write_now.h"
#include "agent/leader/gossip_reconciler.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "agent/core/agent_core.h"
#include "agent/http/api.h"
#include "tests/agent/http/api_calls.h"
#include "tests/fakes/fake_membership.h"
#include "tests/fakes/manual_clock.h"

namespace roster::agent {
namespace {

using namespace std::chrono_literals;

class GossipReconcilerTest : public ::testing::Test {
 protected:
  GossipReconcilerTest()
      : core_(io_, clock_, options()), membership_(core_.watch_hub()), reconciler_(io_, core_, membership_) {}

  static CoreOptions options() {
    CoreOptions options;
    options.identity = {"0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "server-1", "dc1", "127.0.0.1", "127.0.0.1:8500", true};
    options.image_tags = {{"role", "server"}};
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(core_.start().is_ok());
    membership_.self = member("server-1", "0b7f3d2e-1c44-4c1e-9d5e-3a6f0e2b8c10", "127.0.0.1", {{"role", "server"}});
    membership_.member_list = {membership_.self};
    core_.set_membership(&membership_);
  }
  void TearDown() override {
    reconciler_.stop();
    core_.set_membership(nullptr);
    core_.stop();
  }

  static MemberInfo member(const std::string& name, const std::string& id, const std::string& ip,
                           std::map<std::string, std::string> tags, MemberStatus status = MemberStatus::alive) {
    MemberInfo info;
    info.name = name;
    info.id = id;
    info.ip = ip;
    info.port = 8301;
    info.tags = std::move(tags);
    info.status = status;
    info.state = status == MemberStatus::alive ? "alive" : status == MemberStatus::failed ? "failed" : "left";
    return info;
  }

  MemberInfo* find_member(const std::string& name) {
    for (auto& info : membership_.member_list) {
      if (info.name == name) return &info;
    }
    return nullptr;
  }

  // What the gossip agent does on every member event.
  void announce_change() { core_.watch_hub().notify({kMembersWatchKey}); }

  // Runs the io_context until `done` holds, or fails after a bound of turns.
  template <typename Predicate>
  bool run_until(Predicate done) {
    for (int turn = 0; turn < 1000 && !done(); ++turn) {
      io_.restart();
      io_.poll();
    }
    return done();
  }

  const catalog::Check* serf_health(const std::string& node) {
    return core_.store().find_check(node, kSerfHealthCheckId);
  }

  boost::asio::io_context io_;
  fakes::ManualClock clock_;
  AgentCore core_;
  fakes::FakeMembership membership_;
  GossipReconciler reconciler_;
};

TEST_F(GossipReconcilerTest, JoinedMemberBecomesANodeWithPassingSerfHealth) {
  membership_.member_list.push_back(member("web-1", "11111111-2222-3333-4444-555555555555", "10.0.0.7", {{"role", "web"}}));
  ReconcileOutcome outcome = reconciler_.reconcile();
  EXPECT_EQ(outcome.written, 1);
  EXPECT_EQ(outcome.failed, 0);

  const catalog::Node* node = core_.store().find_node("web-1");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(node->address, "10.0.0.7");
  EXPECT_EQ(node->datacenter, "dc1");
  EXPECT_EQ(node->tags.runtime_tags, (catalog::TagMap{{"role", "web"}}));
  EXPECT_TRUE(node->tags.operator_tags.empty());
  EXPECT_TRUE(node->tags.image_tags.empty());
  const catalog::Check* check = serf_health("web-1");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->status, catalog::kPassing);
  EXPECT_EQ(check->name, "Serf Health Status");

  // The agent's own node is its own business.
  EXPECT_EQ(core_.store().find_node("server-1")->tags.runtime_tags, catalog::TagMap{});
}

TEST_F(GossipReconcilerTest, InSyncPassWritesNothing) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {{"role", "web"}}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  const catalog::Index before = core_.store().last_index();
  ReconcileOutcome again = reconciler_.reconcile();
  EXPECT_EQ(again.written, 0);
  EXPECT_EQ(again.failed, 0);
  EXPECT_EQ(core_.store().last_index(), before);
  EXPECT_TRUE(plan_gossip_reconcile(core_.store(), membership_.member_list, {}, "server-1", "dc1").empty());
}

// With a cluster catalog every agent syncs its own tag layers; gossip only
// seeds a new node's, and later changes are left to its agent, so the two
// never write over each other.
TEST_F(GossipReconcilerTest, GossipSeedsANewNodesTagsAndLeavesLaterChangesToItsAgent) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {{"role", "base"}}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  EXPECT_EQ(core_.store().find_node("web-1")->tags.runtime_tags, (catalog::TagMap{{"role", "base"}}));
  ASSERT_TRUE(agent::testing::write_now(core_, catalog::UpdateTags{"web-1", catalog::TagLayer::operator_layer, {{"role", "web"}}, {}})
                  .is_ok());

  find_member("web-1")->tags = {{"role", "base"}, {"stage", "base-done"}};
  EXPECT_EQ(reconciler_.reconcile().written, 0);
  const catalog::Node* node = core_.store().find_node("web-1");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->tags.runtime_tags, (catalog::TagMap{{"role", "base"}}));
  EXPECT_EQ(node->tags.operator_tags, (catalog::TagMap{{"role", "web"}}));
  EXPECT_EQ(node->tags.merged(), (catalog::TagMap{{"role", "web"}}));

  // The operator layer differing from gossip is not a reason to write.
  const catalog::Index before = core_.store().last_index();
  EXPECT_EQ(reconciler_.reconcile().written, 0);
  EXPECT_EQ(core_.store().last_index(), before);
}

TEST_F(GossipReconcilerTest, FailedMemberTurnsSerfHealthCriticalAndBackOnRecovery) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  find_member("web-1")->status = MemberStatus::failed;
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  ASSERT_NE(serf_health("web-1"), nullptr);
  EXPECT_EQ(serf_health("web-1")->status, catalog::kCritical);
  EXPECT_EQ(serf_health("web-1")->output, "Agent not live or unreachable");
  EXPECT_NE(core_.store().find_node("web-1"), nullptr) << "a failed member stays in the catalog";

  find_member("web-1")->status = MemberStatus::alive;
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  EXPECT_EQ(serf_health("web-1")->status, catalog::kPassing);
}

TEST_F(GossipReconcilerTest, FailedMemberNotYetInTheCatalogIsRegisteredCritical) {
  membership_.member_list.push_back(member("db-1", "id-db-1", "10.0.0.9", {}, MemberStatus::failed));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  ASSERT_NE(serf_health("db-1"), nullptr);
  EXPECT_EQ(serf_health("db-1")->status, catalog::kCritical);
}

TEST_F(GossipReconcilerTest, LeftMemberIsDeregisteredWithItsServicesAndChecks) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  catalog::RegisterNode service;
  service.node.name = "web-1";
  service.skip_node_update = true;
  service.service = catalog::Service{};
  service.service->name = "nginx";
  service.service->port = 80;
  ASSERT_TRUE(agent::testing::write_now(core_, service).is_ok());

  find_member("web-1")->status = MemberStatus::left;
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  EXPECT_EQ(core_.store().find_node("web-1"), nullptr);
  EXPECT_EQ(serf_health("web-1"), nullptr);
  EXPECT_TRUE(core_.store().service_instances("nginx").value.empty());
  const catalog::Index before = core_.store().last_index();
  EXPECT_EQ(reconciler_.reconcile().written, 0);
  EXPECT_EQ(core_.store().last_index(), before);
}

TEST_F(GossipReconcilerTest, LeavingMemberIsLeftAsItIsUntilItHasLeft) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  find_member("web-1")->status = MemberStatus::leaving;
  const catalog::Index before = core_.store().last_index();
  EXPECT_EQ(reconciler_.reconcile().written, 0);
  EXPECT_EQ(core_.store().last_index(), before);
  EXPECT_EQ(serf_health("web-1")->status, catalog::kPassing);
}

TEST_F(GossipReconcilerTest, ReapedMemberIsDeregisteredButCatalogOnlyNodesStay) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  catalog::RegisterNode external;
  external.node.name = "printer";
  external.node.address = "10.0.0.50";
  ASSERT_TRUE(agent::testing::write_now(core_, external).is_ok());

  membership_.member_list.pop_back();  // reaped: gone from the pool altogether
  // Not at once: a leader elected just after every server restarted has not
  // heard yet of the members coming back.
  ASSERT_EQ(reconciler_.reconcile().written, 0);
  clock_.advance(GossipReconcilerOptions{}.reap_grace - 1s);
  ASSERT_EQ(reconciler_.reconcile().written, 0);
  EXPECT_NE(core_.store().find_node("web-1"), nullptr);
  clock_.advance(1s);
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  EXPECT_EQ(core_.store().find_node("web-1"), nullptr);
  EXPECT_NE(core_.store().find_node("printer"), nullptr);
  EXPECT_NE(core_.store().find_node("server-1"), nullptr);
}

// A member that comes back within the grace keeps its node, its services
// and its operator tags: nothing is rewritten.
TEST_F(GossipReconcilerTest, AMemberUnknownForLessThanTheGraceIsLeftAlone) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  catalog::UpdateTags tags;
  tags.node = "web-1";
  tags.set = {{"role", "web"}};
  ASSERT_TRUE(agent::testing::write_now(core_, tags).is_ok());
  MemberInfo back = membership_.member_list.back();
  membership_.member_list.pop_back();
  ASSERT_EQ(reconciler_.reconcile().written, 0);
  clock_.advance(GossipReconcilerOptions{}.reap_grace / 2);
  membership_.member_list.push_back(back);
  const auto before = core_.store().last_index();
  ASSERT_EQ(reconciler_.reconcile().written, 0);
  EXPECT_EQ(core_.store().last_index(), before);
  // Unknown again later: the grace starts afresh.
  membership_.member_list.pop_back();
  clock_.advance(GossipReconcilerOptions{}.reap_grace / 2 + 1s);
  ASSERT_EQ(reconciler_.reconcile().written, 0);
  ASSERT_NE(core_.store().find_node("web-1"), nullptr);
  EXPECT_EQ(core_.store().find_node("web-1")->tags.operator_tags.at("role"), "web");
}

TEST_F(GossipReconcilerTest, AddressChangeMovesTheAddressAndKeepsOtherTaggedAddresses) {
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  find_member("web-1")->ip = "10.0.0.8";
  ASSERT_EQ(reconciler_.reconcile().written, 1);
  const catalog::Node* node = core_.store().find_node("web-1");
  EXPECT_EQ(node->address, "10.0.0.8");
  EXPECT_EQ(node->tagged_addresses.at("lan"), "10.0.0.8");
}

TEST_F(GossipReconcilerTest, NameHeldByAnotherIdIsRefusedAndNothingElseStops) {
  catalog::RegisterNode squatter;
  squatter.node.name = "web-1";
  squatter.node.id = "some-other-id";
  squatter.node.address = "10.0.0.99";
  ASSERT_TRUE(agent::testing::write_now(core_, squatter).is_ok());
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {}));
  membership_.member_list.push_back(member("web-2", "id-web-2", "10.0.0.8", {}));
  ReconcileOutcome outcome = reconciler_.reconcile();
  EXPECT_EQ(outcome.failed, 1);
  EXPECT_EQ(outcome.written, 1);
  EXPECT_EQ(core_.store().find_node("web-1")->id, "some-other-id");
  EXPECT_NE(core_.store().find_node("web-2"), nullptr);
}

TEST_F(GossipReconcilerTest, MemberChangesAreReconciledPromptlyOnceStarted) {
  reconciler_.start();
  membership_.member_list.push_back(member("web-1", "id-web-1", "10.0.0.7", {{"role", "base"}}));
  announce_change();
  ASSERT_TRUE(run_until([&] { return core_.store().find_node("web-1") != nullptr; }));

  find_member("web-1")->ip = "10.0.0.8";
  const catalog::Index before = core_.store().last_index();
  announce_change();
  announce_change();  // a burst is one pass
  ASSERT_TRUE(run_until([&] {
    const catalog::Node* node = core_.store().find_node("web-1");
    return node != nullptr && node->address == "10.0.0.8";
  }));
  io_.restart();
  io_.poll();
  EXPECT_EQ(core_.store().last_index(), before + 1) << "one write for the address change, none for the repeat";

  reconciler_.stop();
  find_member("web-1")->ip = "10.0.0.9";
  announce_change();
  io_.restart();
  io_.poll();
  EXPECT_EQ(core_.store().find_node("web-1")->address, "10.0.0.8") << "stopped means stopped";
}

TEST_F(GossipReconcilerTest, OperatorTagPutWorksOnAGossipedNode) {
  reconciler_.start();
  membership_.member_list.push_back(member("client-1", "id-client-1", "10.0.0.20", {{"role", "base"}}));
  announce_change();
  ASSERT_TRUE(run_until([&] { return core_.store().find_node("client-1") != nullptr; }));
  http::Api api(core_);
  http::HttpResponse response =
      http::api_calls::respond_now(api, "PUT", "/v1/roster/node/client-1/tags", R"({"Set": {"role": "web"}})");
  ASSERT_EQ(response.status, 200) << response.body;
  auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["Merged"]["role"], "web");
  EXPECT_EQ(body["Runtime"]["role"], "base");
  // And the next pass leaves the operator's tag alone.
  reconciler_.reconcile();
  EXPECT_EQ(core_.store().find_node("client-1")->tags.merged().at("role"), "web");
}

}  // namespace
}  // namespace roster::agent
