// AgentCore against a catalog that answers later, as a server's does: the
// agent's own state changes only once its write is applied, a refused write
// leaves it as it was, and anti-entropy writes nothing when in sync.

#include "agent/core/agent_core.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>

#include "common/clock.h"
#include "tests/fakes/deferred_catalog.h"

namespace roster::agent {
namespace {

class AgentCoreTest : public ::testing::Test {
 protected:
  AgentCoreTest() {
    auto deferred = std::make_unique<testing::DeferredCatalog>(clock_);
    catalog_ = deferred.get();
    CoreOptions options;
    options.identity = {"1f0c7a3e-5b2d-4e8f-9a6b-7c8d9e0f1a2b", "node-1", "dc1", "127.0.0.1", "127.0.0.1:8500", false};
    options.image_tags = {{"role", "base"}};
    core_.emplace(io_, clock_, options, std::move(deferred));
  }

  void SetUp() override {
    ASSERT_TRUE(core_->start().is_ok());
    catalog_->release_all();  // the first sync registers the node
  }
  void TearDown() override { core_->stop(); }

  static local::ServiceDefinition web() {
    local::ServiceDefinition service;
    service.name = "web";
    service.port = 80;
    return service;
  }

  boost::asio::io_context io_;
  SystemClock clock_;
  testing::DeferredCatalog* catalog_ = nullptr;
  std::optional<AgentCore> core_;
};

TEST_F(AgentCoreTest, AServiceIsTheAgentsOnlyOnceTheCatalogHasIt) {
  std::optional<Status> outcome;
  core_->register_service(web(), [&](Status status) { outcome = status; });
  EXPECT_FALSE(outcome.has_value()) << "answered before the write was applied";
  EXPECT_FALSE(core_->local_services().contains("web"));
  ASSERT_EQ(catalog_->held(), 1u);
  catalog_->release();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->is_ok()) << outcome->to_string();
  EXPECT_TRUE(core_->local_services().contains("web"));
  EXPECT_EQ(core_->store().node_services("node-1").value.size(), 1u);
}

// A server that has just started has no leader yet, so its first sync (the
// node's registration) can finish after a service is registered through the
// API or the config file. The service, written with skip_node_update, would
// be refused as "node is not registered": it waits for the node instead.
class AgentCoreBeforeRegistrationTest : public AgentCoreTest {
 protected:
  void SetUp() override { ASSERT_TRUE(core_->start().is_ok()); }  // the first sync is still held
};

TEST_F(AgentCoreBeforeRegistrationTest, AServiceWaitsUntilTheNodeIsInTheCatalog) {
  const size_t sync_writes = catalog_->held();
  ASSERT_GT(sync_writes, 0u);
  std::optional<Status> outcome;
  core_->register_service(web(), [&](Status status) { outcome = status; });
  EXPECT_EQ(catalog_->held(), sync_writes) << "the service was written before its node";
  for (size_t i = 0; i < sync_writes; ++i) catalog_->release();
  ASSERT_EQ(catalog_->held(), 1u) << "the service's registration follows the node's";
  catalog_->release();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->is_ok()) << outcome->to_string();
  EXPECT_EQ(core_->store().node_services("node-1").value.size(), 1u);
}

TEST_F(AgentCoreTest, ARefusedRegistrationLeavesTheAgentAsItWas) {
  std::optional<Status> outcome;
  core_->register_service(web(), [&](Status status) { outcome = status; });
  catalog_->fail(Status::unavailable("no leader"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code(), StatusCode::unavailable);
  EXPECT_FALSE(core_->local_services().contains("web"));
  EXPECT_TRUE(core_->store().node_services("node-1").value.empty());
}

// The old code erased the service before its deregistration was written: a
// failed write then lost a service the catalog still listed.
TEST_F(AgentCoreTest, ARefusedDeregistrationKeepsTheService) {
  core_->register_service(web(), [](Status) {});
  catalog_->release_all();
  ASSERT_TRUE(core_->local_services().contains("web"));
  std::optional<Status> outcome;
  core_->deregister_service("web", [&](Status status) { outcome = status; });
  EXPECT_TRUE(core_->local_services().contains("web")) << "gone before the catalog agreed";
  catalog_->fail(Status::unavailable("no leader"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->is_ok());
  EXPECT_TRUE(core_->local_services().contains("web"));
  EXPECT_EQ(core_->store().node_services("node-1").value.size(), 1u);
}

TEST_F(AgentCoreTest, RuntimeTagsChangeOnlyAfterTheWrite) {
  std::optional<Status> outcome;
  core_->set_runtime_tags({{"stage", "two"}}, {}, [&](Status status) { outcome = status; });
  EXPECT_TRUE(core_->runtime_tags().empty());
  catalog_->fail(Status::unavailable("no leader"));
  EXPECT_TRUE(core_->runtime_tags().empty());
  core_->set_runtime_tags({{"stage", "two"}}, {}, [&](Status status) { outcome = status; });
  catalog_->release();
  ASSERT_TRUE(outcome && outcome->is_ok());
  EXPECT_EQ(core_->runtime_tags(), (catalog::TagMap{{"stage", "two"}}));
}

// An idle, in-sync agent makes no catalog writes at all: with Raft, each
// would be a log entry on every server.
TEST_F(AgentCoreTest, AnInSyncAgentWritesNothing) {
  core_->register_service(web(), [](Status) {});
  catalog_->release_all();
  const catalog::Index before = core_->store().last_index();
  const uint64_t writes_before = core_->sync_writes();
  for (int round = 0; round < 3; ++round) {
    std::optional<Status> synced;
    core_->sync_to_catalog([&](Status status) { synced = status; });
    EXPECT_EQ(catalog_->held(), 0u) << "round " << round << " wrote to an in-sync catalog";
    ASSERT_TRUE(synced && synced->is_ok());
  }
  EXPECT_EQ(core_->store().last_index(), before);
  EXPECT_EQ(core_->sync_writes(), writes_before);
  EXPECT_EQ(core_->syncs_in_sync(), 3u);
}

// Anti-entropy repairs what differs, and only that: a service deleted behind
// the agent's back comes back in one write.
TEST_F(AgentCoreTest, AntiEntropyRewritesOnlyWhatDiffers) {
  core_->register_service(web(), [](Status) {});
  catalog_->release_all();
  catalog_->write(catalog::DeregisterNode{"node-1", "web", ""}, [](Result<catalog::Index>) {});
  catalog_->release();
  ASSERT_TRUE(core_->store().node_services("node-1").value.empty());
  std::optional<Status> synced;
  core_->sync_to_catalog([&](Status status) { synced = status; });
  EXPECT_EQ(catalog_->held(), 1u);
  catalog_->release_all();
  ASSERT_TRUE(synced && synced->is_ok());
  EXPECT_EQ(core_->store().node_services("node-1").value.size(), 1u);
}

// Consul's check_update_interval: a TTL check whose output changes but whose
// status does not is written at most once per interval; a status change is
// written at once.
TEST_F(AgentCoreTest, OutputAloneIsWrittenAtMostOncePerCheckUpdateInterval) {
  local::CheckDefinition check;
  check.name = "ttl";
  check.ttl = std::chrono::seconds(30);
  core_->register_check(check, [](Status) {});
  catalog_->release_all();
  auto update = [&](const std::string& status, const std::string& output) {
    std::optional<Status> outcome;
    core_->update_ttl_check("ttl", status, output, [&](Status done) { outcome = done; });
    catalog_->release_all();
    return outcome && outcome->is_ok();
  };
  ASSERT_TRUE(update("passing", "first"));  // a status change: written
  const catalog::Index before = core_->store().last_index();
  ASSERT_TRUE(update("passing", "second"));  // output alone, within the interval: kept locally
  EXPECT_EQ(core_->store().last_index(), before);
  EXPECT_EQ(core_->store().find_check("node-1", "ttl")->output, "first");
  EXPECT_EQ(core_->local_checks().at("ttl").output, "second");
  ASSERT_TRUE(update("critical", "third"));  // a status change: written at once
  EXPECT_EQ(core_->store().find_check("node-1", "ttl")->status, "critical");
  EXPECT_EQ(core_->store().find_check("node-1", "ttl")->output, "third");
  // The full sync carries the latest output.
  ASSERT_TRUE(update("critical", "fourth"));
  std::optional<Status> synced;
  core_->sync_to_catalog([&](Status status) { synced = status; });
  catalog_->release_all();
  ASSERT_TRUE(synced && synced->is_ok());
  EXPECT_EQ(core_->store().find_check("node-1", "ttl")->output, "fourth");
}

TEST(AntiEntropyInterval, GrowsWithTheClusterBeyond128NodesAsConsulScalesIt) {
  using std::chrono::seconds;
  EXPECT_EQ(scaled_anti_entropy_interval(seconds(60), 1), seconds(60));
  EXPECT_EQ(scaled_anti_entropy_interval(seconds(60), 128), seconds(60));
  EXPECT_EQ(scaled_anti_entropy_interval(seconds(60), 256), seconds(120));
  EXPECT_EQ(scaled_anti_entropy_interval(seconds(60), 8192), seconds(420));
}

}  // namespace
}  // namespace roster::agent
